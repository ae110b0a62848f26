"""Finding and redacting customer details before a question or an answer is kept.

People ask Switchboard while they are talking to a customer, and they paste what is in front of
them: the customer's email address, phone number, card or account number. An entry in the
knowledge base outlives that conversation and is shown to everyone who later asks something
similar, so those details must not reach it. This module finds them and replaces each with a
placeholder; the findings say what was found and where, for callers that would rather flag the
text for a person to check.

    kind     what                                                         placeholder
    email    address syntax; a Slack ``<mailto:...|...>`` link as a whole   [email]
    phone    ``+`` and 8-15 digits, or a national format such as            [phone]
             (415) 555-0132, 415.555.0132, 020 7946 0958, 07700 900123
    card     13-19 digits, whole or in groups split by single spaces or     [card number]
             dashes, with a card issuer's prefix and a valid Luhn check
    iban     country, check digits and 11-30 letters or digits, spaces      [iban]
             allowed, with a valid mod-97 check
    ssn      US social security number, 123-45-6789                         [ssn]
    account  8-20 digits within 25 characters after a cue word such as      [account number]
             "account", "acct", "a/c", "customer number", "policy", "IBAN"

Numbers are flagged conservatively, because most numbers in a support question are harmless:
dates, times, versions, money amounts, percentages, ids with letters in them (ORD-12345, #4521),
numbers shorter than 8 digits, and long numbers with no cue word (an order number) are left
alone, and so are digits inside URLs and Slack mentions. When two findings overlap, the longer
wins, then the more specific (card over phone over account).

Redacting a detail can bring a cue word close enough to another number; the search repeats on
the redacted text until it finds nothing more, so redacting redacted text changes nothing.

Only ``re`` is used, with patterns that cannot backtrack catastrophically: every repetition is
delimited (a separator between groups of digits, a dot between domain labels), and patterns
start only where a token starts.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from string import ascii_uppercase

PLACEHOLDERS = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card number]",
    "iban": "[iban]",
    "account": "[account number]",
    "ssn": "[ssn]",
}

_NAMES = {
    "email": ("email address", "email addresses"),
    "phone": ("phone number", "phone numbers"),
    "card": ("card number", "card numbers"),
    "iban": ("IBAN", "IBANs"),
    "account": ("account number", "account numbers"),
    "ssn": ("social security number", "social security numbers"),
}

# Between two equally long overlapping findings, the lower rank (the more specific) wins.
_RANK = {"email": 0, "ssn": 1, "card": 2, "iban": 3, "phone": 4, "account": 5}

CARD_DIGITS = (13, 19)
PHONE_DIGITS = (8, 15)
ACCOUNT_DIGITS = (8, 20)
CUE_DISTANCE = 25  # at most this many characters between a cue word and its account number


@dataclass(frozen=True)
class Finding:
    """One customer detail: its kind and where it is in the original text."""

    kind: str  # "email", "phone", "card", "iban", "account" or "ssn"
    start: int
    end: int
    text: str  # the original text[start:end]

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


@dataclass(frozen=True)
class Redaction:
    """A text with its customer details replaced, and what was replaced (in order)."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        return bool(self.findings)

    def summary(self) -> str:
        """What was redacted, e.g. "2 email addresses, 1 card number redacted"; "" if nothing."""
        counts = Counter(finding.kind for finding in self.findings)
        parts = [_count(counts[kind], kind) for kind in PLACEHOLDERS if counts[kind]]
        return f"{', '.join(parts)} redacted" if parts else ""


def find_customer_details(text: str) -> list[Finding]:
    """Every customer detail in ``text``, in order of position, none overlapping."""
    findings = _scan(text)
    while findings:
        redacted, stretches = _replace(text, findings)
        more = [f for f in _relocate(_scan(redacted), stretches) if f is not None]
        if not more:
            break
        findings = sorted([*findings, *more], key=lambda f: f.start)
    return findings


def redact(text: str) -> Redaction:
    """``text`` with each customer detail replaced by a placeholder such as ``[email]``."""
    findings = find_customer_details(text)
    redacted, _ = _replace(text, findings)
    return Redaction(redacted, tuple(findings))


def luhn_valid(number: str) -> bool:
    """Whether a card number (digits, maybe split by spaces or dashes) passes the Luhn check."""
    digits = number.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit()):
        return False
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(_LUHN_DOUBLED[int(digit)] for digit in digits[-2::-2])
    return (kept + doubled) % 10 == 0


def iban_valid(iban: str) -> bool:
    """Whether an IBAN (spaces allowed) is well formed and passes the mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if not _IBAN_COMPACT.fullmatch(compact):
        return False
    return int((compact[4:] + compact[:4]).translate(_LETTER_VALUES)) % 97 == 1


# --- patterns ---------------------------------------------------------------------------------
#
# A pattern that begins with a lookbehind starts with a lookahead for its first character: the
# engine then skips quickly to the few places where a match can start.

# Luhn doubles every second digit from the right, adding up the digits of the result.
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_NON_DIGIT = re.compile(r"[^0-9]")
_DIGIT_GROUP = re.compile(r"[0-9]+")
# Digits in groups split by single spaces or dashes; matches are maximal runs.
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
# Cards as they are printed: unbroken, 4-4-4-4 (maybe a short group or 4-3 more), or Amex and
# Diners 4-6-5 and 4-6-4, always with one kind of separator. Numbers grouped otherwise (two phone
# numbers in a row, a list of amounts) are not cards even if they pass the Luhn check.
_CARD_LAYOUT = re.compile(
    r"[0-9]{13,19}"
    r"|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1(?:[0-9]{4}\1[0-9]{1,3}|[0-9]{1,4})"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}"
)
_MOST_CARD_GROUPS = 5

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
# Slack's markup: <target> or <target|label>, where target is a URL, mailto:, tel:, or a
# mention such as @U123, #C123 or !here.
_SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>|]+", re.IGNORECASE)
_DATE_OR_TIME = re.compile(
    r"(?=[0-9])(?<![0-9])(?<![0-9][./-])"
    r"(?:[0-9]{4}([./-])[0-9]{1,2}\1[0-9]{1,2}"
    r"|[0-9]{1,2}([./-])[0-9]{1,2}\2[0-9]{2}(?:[0-9]{2})?"
    r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)"
    r"(?![./:-]?[0-9])"
)

_SSN = re.compile(r"(?=[0-9])(?<![\w.-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![\w-]|[.,][0-9])")
_IBAN = re.compile(r"(?=[A-Z])(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IBAN_COMPACT = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_LETTER_VALUES = str.maketrans(
    {letter: str(value) for value, letter in enumerate(ascii_uppercase, 10)}
)

_PHONE_START = r"(?=[0-9(])(?<![\w+(.-])"
_PHONE_END = r"(?!\w)"
_INTERNATIONAL_PHONE = re.compile(
    r"(?=\+)(?<![\w+])\+[0-9]+(?:(?:[ .-]|[ .-]?\([0-9]+\)[ .-]?)[0-9]+)*" + _PHONE_END
)
# (pattern, fewest digits, most digits) for national formats.
_NATIONAL_PHONES = (
    # North America: (415) 555-0132, 415-555-0132, 415.555.0132, 1 415 555 0132
    (
        re.compile(
            _PHONE_START + r"(?:1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])"
            r"[2-9][0-9]{2}[ .-][0-9]{4}" + _PHONE_END
        ),
        10,
        11,
    ),
    # Trunk prefix 0, grouped: 020 7946 0958, 07700 900123, 030 12345678
    (re.compile(_PHONE_START + r"0[0-9]{2,4}(?:[ -][0-9]{3,8}){1,2}" + _PHONE_END), 10, 11),
    # Pairs: 06 12 34 56 78, 01.23.45.67.89
    (re.compile(_PHONE_START + r"0[1-9](?:[ .-][0-9]{2}){4}" + _PHONE_END), 10, 10),
)

_CUE = re.compile(
    r"(?=[acmpirs])(?<![\[\w])"  # not inside a placeholder such as [account number]
    r"(?:accounts?|acct|a/c|(?:customer|member|client) ?(?:no\.?|number|num|id|#)"
    r"|polic(?:y|ies)|iban|routing|sort code|contracts?)(?!\w)",
    re.IGNORECASE,
)

# A number glued to what is before or after it is part of something else: a word or id
# (ORD-12345678), a decimal or money amount, a time, a percentage.
_JOINED_BEFORE = re.compile(r"(?:\w|[^\W\d_][-/]|\d[.,:]|[$€£¥])\Z")
_JOINED_AFTER = re.compile(r"\A(?:\w|[-/][^\W\d_]|[.,:]\d|%|[$€£¥])")


# --- scanning ---------------------------------------------------------------------------------


def _scan(text: str) -> list[Finding]:
    """One pass over ``text``: the details it holds, in order, none overlapping."""
    links, shielded = _slack_links(text)
    shielded += [m.span() for m in _URL.finditer(text)]
    shielded += [m.span() for m in _DATE_OR_TIME.finditer(text)]
    shield = _mask(len(text), shielded)
    numbers = [f for f in _numbers(text) if shield.find(1, f.start, f.end) == -1]
    chosen = _resolve([*links, *_emails(text), *numbers], len(text))
    blocked = _mask(len(text), [*shielded, *((f.start, f.end) for f in chosen)])
    chosen += _accounts(text, blocked)
    return sorted(chosen, key=lambda f: f.start)


def _slack_links(text: str) -> tuple[list[Finding], list[tuple[int, int]]]:
    """Mailto and tel links as whole findings; the targets of other links and mentions."""
    findings: list[Finding] = []
    shielded: list[tuple[int, int]] = []
    for link in _SLACK_LINK.finditer(text):
        target = link.group(1).lower()
        if target.startswith("mailto:"):
            findings.append(_finding("email", text, *link.span()))
        elif target.startswith("tel:"):
            findings.append(_finding("phone", text, *link.span()))
        elif target[0] in "@#!" or _SCHEME.match(target):
            shielded.append((link.start(), link.end(1)))
    return findings, shielded


def _emails(text: str) -> Iterator[Finding]:
    for match in _EMAIL.finditer(text):
        yield _finding("email", text, *match.span())


def _numbers(text: str) -> Iterator[Finding]:
    """Candidate SSNs, cards, IBANs and phone numbers, overlapping one another."""
    yield from _ssns(text)
    yield from _cards(text)
    yield from _ibans(text)
    yield from _phones(text)


def _ssns(text: str) -> Iterator[Finding]:
    for match in _SSN.finditer(text):
        area, group, serial = match.groups()
        never_issued = area in ("000", "666") or group == "00" or serial == "0000"
        if not never_issued and _standalone(text, *match.span()):
            yield _finding("ssn", text, *match.span())


def _cards(text: str) -> Iterator[Finding]:
    """Every stretch of whole digit groups, within a run, that reads as a card number."""
    for run in _runs(text, CARD_DIGITS[0]):
        groups = [g.span() for g in _DIGIT_GROUP.finditer(text, *run.span())]
        for first, (start, stop) in enumerate(groups):
            # A card is printed unbroken, or in groups led by four digits.
            if stop - start == 4:
                windows = groups[first : first + _MOST_CARD_GROUPS]
            elif stop - start >= CARD_DIGITS[0]:
                windows = [(start, stop)]
            else:
                continue
            for _, end in windows:
                if _is_card(text[start:end]) and _standalone(text, start, end):
                    yield _finding("card", text, start, end)


def _is_card(number: str) -> bool:
    if not _CARD_LAYOUT.fullmatch(number):
        return False
    digits = number.replace(" ", "").replace("-", "")
    return _known_issuer(digits) and luhn_valid(digits)


def _known_issuer(digits: str) -> bool:
    """Amex, Diners, JCB (3), Visa (4), Mastercard (5, 2221-2720), Discover, UnionPay (6)."""
    return digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720


def _ibans(text: str) -> Iterator[Finding]:
    """Each IBAN, trimmed of any words the pattern ran on into (``... 32 THANKS``)."""
    for match in _IBAN.finditer(text):
        start, end = match.span()
        while end - start >= 15:
            if iban_valid(text[start:end]):
                yield _finding("iban", text, start, end)
                break
            end = text.rfind(" ", start, end)


def _phones(text: str) -> Iterator[Finding]:
    for match in _INTERNATIONAL_PHONE.finditer(text):
        if match.end() - match.start() <= PHONE_DIGITS[0]:  # "+" and too few digits
            continue
        end = _international_end(text, *match.span())
        if end is not None and _standalone(text, match.start(), end):
            yield _finding("phone", text, match.start(), end)
    for pattern, low, high in _NATIONAL_PHONES:
        for match in pattern.finditer(text):
            digits = len(_NON_DIGIT.sub("", match.group()))
            if low <= digits <= high and _standalone(text, *match.span()):
                yield _finding("phone", text, *match.span())


def _international_end(text: str, start: int, end: int) -> int | None:
    """Where a ``+`` number with at most 15 digits ends, dropping groups that run past 15."""
    low, high = PHONE_DIGITS
    best = None
    digits = 0
    for group in _DIGIT_GROUP.finditer(text, start, end):
        digits += len(group.group())
        if digits > high:
            break
        so_far = text[start : group.end()]
        if digits >= low and so_far.count("(") == so_far.count(")"):  # not inside "(0)"
            best = group.end()
    return best


def _accounts(text: str, blocked: bytearray) -> list[Finding]:
    """Runs of 8-20 digits, outside every other finding, that follow a cue word closely."""
    low, high = ACCOUNT_DIGITS
    cue_ends = [cue.end() for cue in _CUE.finditer(text)]
    found = []
    for run in _runs(text, low):
        for start, end in _free_pieces(blocked, *run.span()):
            start, end = _strip_separators(text, start, end)
            digits = len(_NON_DIGIT.sub("", text[start:end]))
            if (
                low <= digits <= high
                and _follows_cue(cue_ends, start)
                and _standalone(text, start, end)
            ):
                found.append(_finding("account", text, start, end))
    return found


def _follows_cue(cue_ends: list[int], start: int) -> bool:
    before = bisect_right(cue_ends, start) - 1
    return before >= 0 and start - cue_ends[before] <= CUE_DISTANCE


# --- helpers ----------------------------------------------------------------------------------


def _runs(text: str, fewest_digits: int) -> Iterator[re.Match[str]]:
    """Maximal runs of digit groups long enough to hold ``fewest_digits`` digits."""
    return (run for run in _DIGIT_RUN.finditer(text) if run.end() - run.start() >= fewest_digits)


def _finding(kind: str, text: str, start: int, end: int) -> Finding:
    return Finding(kind, start, end, text[start:end])


def _standalone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands on its own, not glued to a word, amount or time."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return not (_JOINED_BEFORE.search(before) or _JOINED_AFTER.match(after))


def _resolve(candidates: Iterable[Finding], size: int) -> list[Finding]:
    """Non-overlapping findings: longest first, then the most specific."""
    taken = bytearray(size)
    chosen = []
    for finding in sorted(candidates, key=lambda f: (f.start - f.end, _RANK[f.kind], f.start)):
        if taken.find(1, finding.start, finding.end) == -1:
            taken[finding.start : finding.end] = b"\x01" * (finding.end - finding.start)
            chosen.append(finding)
    return chosen


def _mask(size: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    mask = bytearray(size)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _free_pieces(mask: bytearray, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The stretches of ``[start, end)`` not marked in ``mask``."""
    while start < end:
        marked = mask.find(1, start, end)
        if marked == -1:
            yield start, end
            return
        if marked > start:
            yield start, marked
        start = mask.find(0, marked, end)
        if start == -1:
            return


def _strip_separators(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " -":
        start += 1
    while end > start and text[end - 1] in " -":
        end -= 1
    return start, end


# A stretch of redacted text copied unchanged from the original: (redacted start, original
# start, length).
_Stretch = tuple[int, int, int]


def _replace(text: str, findings: list[Finding]) -> tuple[str, list[_Stretch]]:
    """``text`` with findings replaced by placeholders, and the stretches left unchanged."""
    parts: list[str] = []
    stretches: list[_Stretch] = []
    position = length = 0
    for finding in findings:
        stretches.append((length, position, finding.start - position))
        parts += [text[position : finding.start], finding.placeholder]
        length += finding.start - position + len(finding.placeholder)
        position = finding.end
    stretches.append((length, position, len(text) - position))
    parts.append(text[position:])
    return "".join(parts), stretches


def _relocate(findings: list[Finding], stretches: list[_Stretch]) -> Iterator[Finding | None]:
    """Findings in redacted text moved to the original's offsets (None if on a placeholder)."""
    starts = [stretch[0] for stretch in stretches]
    for finding in findings:
        redacted_start, original_start, length = stretches[bisect_right(starts, finding.start) - 1]
        if finding.end > redacted_start + length:
            yield None
            continue
        start = original_start + finding.start - redacted_start
        yield Finding(finding.kind, start, start + len(finding.text), finding.text)


def _count(number: int, kind: str) -> str:
    singular, plural = _NAMES[kind]
    return f"{number} {singular if number == 1 else plural}"
