from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.redaction import (
    Finding,
    Redaction,
    find_customer_details,
    iban_valid,
    luhn_valid,
    redact,
)

# (text, kind, the detail as it appears in the text)
POSITIVES = [
    # email
    (
        "reach me at jane.doe+vip@customer-corp.co.uk today",
        "email",
        "jane.doe+vip@customer-corp.co.uk",
    ),
    ("Email: bob@example.com.", "email", "bob@example.com"),
    ("(cc: ops_team@mail.example.org)", "email", "ops_team@mail.example.org"),
    # phone, international
    ("call her on +44 20 7946 0958 please", "phone", "+44 20 7946 0958"),
    ("+1 (415) 555-0132", "phone", "+1 (415) 555-0132"),
    ("+14155550132", "phone", "+14155550132"),
    ("+44 (0)20 7946 0958", "phone", "+44 (0)20 7946 0958"),
    ("+1.415.555.0132", "phone", "+1.415.555.0132"),
    ("mobile: +33 6 12 34 56 78.", "phone", "+33 6 12 34 56 78"),
    # phone, national
    ("his number is (415) 555-0132", "phone", "(415) 555-0132"),
    ("415-555-0132", "phone", "415-555-0132"),
    ("415.555.0132", "phone", "415.555.0132"),
    ("1-415-555-0132", "phone", "1-415-555-0132"),
    ("office 020 7946 0958", "phone", "020 7946 0958"),
    ("mobile 07700 900123", "phone", "07700 900123"),
    ("portable 06 12 34 56 78", "phone", "06 12 34 56 78"),
    # card
    ("card 4111 1111 1111 1111 expires soon", "card", "4111 1111 1111 1111"),
    ("4111-1111-1111-1111", "card", "4111-1111-1111-1111"),
    ("paid with 4111111111111111.", "card", "4111111111111111"),
    ("mastercard 5555 5555 5555 4444", "card", "5555 5555 5555 4444"),
    ("amex 3782 822463 10005", "card", "3782 822463 10005"),
    ("amex 378282246310005", "card", "378282246310005"),
    ("card 4111 1111 1111 1111 123 (cvv)", "card", "4111 1111 1111 1111"),
    # iban
    ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "iban", "GB82 WEST 1234 5698 7654 32"),
    ("GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
    ("to DE89 3704 0044 0532 0130 00.", "iban", "DE89 3704 0044 0532 0130 00"),
    ("DE89 3704 0044 0532 0130 00 THANKS", "iban", "DE89 3704 0044 0532 0130 00"),
    # ssn
    ("SSN 123-45-6789 on file", "ssn", "123-45-6789"),
    # account (needs a cue word shortly before)
    ("account 12345678", "account", "12345678"),
    ("Account number: 0012 3456 7890", "account", "0012 3456 7890"),
    ("acct #: 98765432", "account", "98765432"),
    ("A/C 12345678", "account", "12345678"),
    ("customer number 1234567890", "account", "1234567890"),
    ("Customer No. 55512345", "account", "55512345"),
    ("member ID 98765432", "account", "98765432"),
    ("policy no. 12-3456-7890", "account", "12-3456-7890"),
    ("routing 021000021", "account", "021000021"),
    ("sort code 12-34-56, account 31926819", "account", "31926819"),
    ("contract 2024001234", "account", "2024001234"),
    ("the account we discussed is 12345678", "account", "12345678"),
    # an invalid IBAN is not an IBAN, but after the cue its digits are still an account number
    ("iban GB00 WEST 1234 5698 7654 32", "account", "1234 5698 7654 32"),
    # a number that fails Luhn is not a card, but may be an account number
    ("account 4111 1111 1111 1112", "account", "4111 1111 1111 1112"),
]

NEGATIVES = [
    # dates and times
    "deployed on 2024-05-01 at 10:30",
    "due 01/05/2024, or 01.05.2024, or 2024/05/01",
    "the account was opened on 2024-05-01 12:00",
    "between 10:30-11:45 UTC",
    # versions and addresses
    "upgrade from 1.2.3 to 10.20.30",
    "server 192.168.100.200",
    # money, percentages
    "refund of $1,234.56 approved",
    "1 234,56 € total",
    "up 12.5% this quarter, +12.5%",
    "account balance 12345678.90 EUR",
    # ids with letters, short numbers, years
    "order ORD-12345 and ticket #4521",
    "ticket ORD-12345678 is stuck",
    "extension 4521 or 555-0132",
    "in 2024, like in 1999",
    "from 1999 2000 2001 2002",
    # long numbers with no cue, or a card number failing Luhn
    "order 12345678 shipped",
    "tracking 123456789012345678",
    "ticket 4111 1111 1111 1112",
    "ref 12345678901234567890123",
    # the cue is too far away
    "account: see the notes in the ticket from yesterday, order 12345678",
    # SSN-like but never issued
    "000-12-3456 and 123-00-4567",
    # invalid IBAN with no cue
    "GB82 WEST 1234 5698 7654 33",
    # Slack markup and URLs
    "ping <@U123ABC> in <#C123|general> or <!here>",
    "see <https://example.com/orders/12345678>",
    "see <https://crm.example.com/accounts/12345678|the record>",
    "see https://crm.example.com/account/12345678 for details",
    "",
]

PLACEHOLDER = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card number]",
    "iban": "[iban]",
    "account": "[account number]",
    "ssn": "[ssn]",
}


@pytest.mark.parametrize(("text", "kind", "detail"), POSITIVES)
def test_finds_each_kind_of_detail(text: str, kind: str, detail: str) -> None:
    start = text.index(detail)
    assert find_customer_details(text) == [Finding(kind, start, start + len(detail), detail)]


@pytest.mark.parametrize(("text", "kind", "detail"), POSITIVES)
def test_redact_replaces_the_detail_with_its_placeholder(text: str, kind: str, detail: str) -> None:
    result = redact(text)
    assert result.text == text.replace(detail, PLACEHOLDER[kind])
    assert result.changed


@pytest.mark.parametrize("text", NEGATIVES)
def test_leaves_harmless_numbers_alone(text: str) -> None:
    assert find_customer_details(text) == []
    result = redact(text)
    assert result == Redaction(text, ())
    assert not result.changed
    assert result.summary() == ""


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "79927398713", "0"],
)
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number", ["4111 1111 1111 1112", "5555 5555 5555 4445", "79927398710", "", "4111x1111"]
)
def test_luhn_rejects_invalid_numbers(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    "iban",
    ["GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00"],
)
def test_mod97_accepts_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 33",  # one digit changed
        "GB28 WEST 1234 5698 7654 32",  # check digits swapped
        "DE89 3704",  # too short
        "8289 WEST 1234 5698 7654 32",  # no country
        "",
    ],
)
def test_mod97_rejects_invalid_ibans(iban: str) -> None:
    assert not iban_valid(iban)


def test_a_slack_mailto_link_is_redacted_whole() -> None:
    text = "customer is <mailto:jane@customer.com|jane@customer.com>, ping <@U123ABC>"
    result = redact(text)
    assert result.text == "customer is [email], ping <@U123ABC>"
    link = "<mailto:jane@customer.com|jane@customer.com>"
    assert result.findings == (Finding("email", 12, 12 + len(link), link),)


def test_a_slack_tel_link_is_redacted_whole() -> None:
    assert redact("call <tel:+14155550132|+1 415 555 0132>").text == "call [phone]"


def test_digits_in_a_link_are_kept_but_its_label_is_checked() -> None:
    text = "<https://crm.example.com/c/12345678|account 12345678>"
    assert redact(text).text == "<https://crm.example.com/c/12345678|account [account number]>"


def test_an_email_inside_a_link_is_redacted_without_breaking_it() -> None:
    text = "<https://example.com/lookup?email=jane@customer.com>"
    assert redact(text).text == "<https://example.com/lookup?email=[email]>"


def test_several_details_in_one_message() -> None:
    text = (
        "Customer jane@customer.com (+44 20 7946 0958) paid with 4111 1111 1111 1111 "
        "from IBAN GB82 WEST 1234 5698 7654 32; account 12345678, SSN 123-45-6789. "
        "Also cc bob@customer.com. Order ORD-12345 on 2024-05-01."
    )
    result = redact(text)
    assert result.text == (
        "Customer [email] ([phone]) paid with [card number] "
        "from IBAN [iban]; account [account number], SSN [ssn]. "
        "Also cc [email]. Order ORD-12345 on 2024-05-01."
    )
    assert [f.kind for f in result.findings] == [
        "email",
        "phone",
        "card",
        "iban",
        "account",
        "ssn",
        "email",
    ]
    assert result.summary() == (
        "2 email addresses, 1 phone number, 1 card number, 1 IBAN, 1 account number, "
        "1 social security number redacted"
    )


def test_summary_counts_by_kind() -> None:
    result = redact("a@example.com b@example.com 4111 1111 1111 1111")
    assert result.summary() == "2 email addresses, 1 card number redacted"


def test_overlaps_prefer_the_card_over_a_phone_or_account() -> None:
    # "+1 4111 1111 1111" would be a phone number; the card is longer and more specific.
    result = redact("account +1 4111 1111 1111 1111")
    assert result.text == "account +1 [card number]"


def test_numbers_not_laid_out_like_a_card_are_not_cards() -> None:
    # "555-0132 415-555-0132" passes the Luhn check; it is two phone numbers.
    result = redact("415-555-0132 415-555-0132")
    assert result.text == "[phone] [phone]"


def test_removing_a_detail_can_bring_a_number_within_reach_of_its_cue() -> None:
    text = "acct 1234 5678 9012 3456 7890 and 1111 2222 3333"
    assert redact(text).text == "acct [account number] and [account number]"


def test_offsets_point_into_the_original_text() -> None:
    text = " ".join(example for example, _, _ in POSITIVES)
    findings = find_customer_details(text)
    assert len(findings) >= len(POSITIVES)
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert all(a.end <= b.start for a, b in pairwise(findings))


@pytest.mark.parametrize(("text", "kind", "detail"), POSITIVES)
def test_nothing_found_survives_redaction(text: str, kind: str, detail: str) -> None:
    result = redact(text)
    for finding in result.findings:
        assert finding.text not in result.text


@pytest.mark.parametrize(
    "text", [text for text, _, _ in POSITIVES] + NEGATIVES + [" ".join(t for t, _, _ in POSITIVES)]
)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text).text
    assert redact(once) == Redaction(once, ())


@pytest.mark.parametrize(
    "text",
    [
        "1 " * 20000,
        "a@" * 10000,
        "a" * 40000 + "@",
        "x@" + "a." * 20000 + "1",
        "+1 " * 13000,
        "<a|" * 13000,
        "<" * 40000,
        "4111 " * 8000,
        "account " + "1-" * 20000,
        "AB12 " * 8000,
        "415-555-0132 " * 3000,
        "1." * 20000,
        "9" * 40000,
    ],
)
def test_adversarial_input_returns(text: str) -> None:
    result = redact(text)
    assert len(result.text) <= len(text) + 20 * len(result.findings)


def digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


FRAGMENTS = st.sampled_from(
    [
        " ",
        "-",
        ".",
        "(",
        ")",
        "+",
        "@",
        "<",
        ">",
        "|",
        "#",
        "/",
        ":",
        "1",
        "0",
        "12",
        "415",
        "555",
        "0132",
        "4111",
        "1111",
        "12345678",
        "account ",
        "acct ",
        "iban ",
        "ORD-",
        "jane@customer.com",
        "+44 20 7946 0958",
        "(415) 555-0132",
        "4111 1111 1111 1111",
        "GB82 WEST 1234 5698 7654 32",
        "123-45-6789",
        "<mailto:a@b.co|a@b.co>",
        "<https://example.com/orders/12345678>",
        "<@U123ABC>",
        "2024-05-01",
        "10:30",
        "[phone]",
        "[account number]",
    ]
)
MESSAGES = st.one_of(st.text(max_size=200), st.lists(FRAGMENTS, max_size=40).map("".join))


@given(MESSAGES)
def test_redaction_never_raises_and_never_adds_digits(text: str) -> None:
    result = redact(text)
    assert digits(result.text) <= digits(text)
    assert result.changed == (result.text != text)


@given(MESSAGES)
def test_findings_are_ordered_disjoint_and_located(text: str) -> None:
    findings = find_customer_details(text)
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text
    assert all(a.end <= b.start for a, b in pairwise(findings))


@given(MESSAGES)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text).text
    assert redact(once).text == once
