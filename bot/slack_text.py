"""Text going to and coming from Slack: cleaning questions, and echoing text safely.

Slack reads `<...>` in message text as a mention, channel link or special command, so text we
echo (the asker's question, an entry's answer) is escaped: `<!channel>` or `<@U123>` typed by
someone else must never ping anyone from our message. Links to web pages in answers are kept.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"<([^<>]*)>")
_LOUD = re.compile(r"(?<![\w@])@(channel|here|everyone)\b", re.IGNORECASE)
_BARE_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def question_from_message(text: str, bot_user_id: str | None) -> str:
    """The question in a message: the bot's own mention removed, Slack markup made readable."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _SPECIAL.sub(_readable, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split()) if "\n" not in text else text.strip()


def _readable(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("@", "#")):
        return (label and target[0] + label) or target
    if target.startswith("!"):
        return label or target[1:].split("^")[0]
    return label or target  # a link: keep its text or URL


def escape(text: str) -> str:
    """Make text inert for Slack: no mentions, no channel pings, no markup injection."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LOUD.sub(lambda m: "@\u2060" + m.group(1), text)


def safe_answer(text: str) -> str:
    """An entry's answer for display: web links kept, every other `<...>` made inert."""
    pieces: list[str] = []
    last = 0
    for match in _SPECIAL.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        target, _, label = match.group(1).partition("|")
        if re.match(r"^(https?|mailto):", target) and "<" not in label:
            pieces.append(f"<{target}|{escape(label)}>" if label else f"<{target}>")
        else:
            pieces.append(escape(match.group(0)))
        last = match.end()
    pieces.append(escape(text[last:]))
    return "".join(pieces)


def trim(text: str, limit: int, marker: str = "…") -> str:
    """Text cut to at most `limit` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(marker)]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    # never leave half an escape sequence or link at the end
    amp, lt = cut.rfind("&"), cut.rfind("<")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    return cut.rstrip() + marker


def mentions_someone(text: str) -> bool:
    """Whether text would notify anyone if posted as is (used by tests and guards)."""
    return bool(_BARE_MENTION.search(text) or re.search(r"<!(channel|here|everyone|subteam)", text))
