"""Small Block Kit builders shared by every card, view and modal. Text is trimmed to Block
Kit's limits here, so no builder can produce a block Slack would refuse."""

from __future__ import annotations

from bot.slack_text import escape, trim

TEXT_LIMIT = 2_900  # under Block Kit's 3,000 for a section's or context's text


def section(text: str, accessory: dict | None = None, block_id: str | None = None) -> dict:
    block: dict = {"type": "section",
                   "text": {"type": "mrkdwn", "text": trim(text, TEXT_LIMIT) or " "}}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> dict:
    return {"type": "context",
            "elements": [{"type": "mrkdwn", "text": trim(text, TEXT_LIMIT) or " "}]}


def button(label: str, action_id: str, value: str = "", style: str | None = None) -> dict:
    block: dict = {"type": "button", "text": {"type": "plain_text", "text": label, "emoji": True},
                   "action_id": action_id}
    if value:
        block["value"] = value
    if style:
        block["style"] = style
    return block


def actions(block_id: str, *buttons: dict) -> dict:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def one_line(text: str, limit: int) -> str:
    """Text on one line, escaped and trimmed."""
    return trim(escape(" ".join(text.split())), limit)


def chunks(text: str, size: int, most: int) -> list[str]:
    """Split text into at most `most` pieces of at most `size` characters, on line breaks."""
    pieces: list[str] = []
    rest = text
    while rest and len(pieces) < most:
        if len(rest) <= size:
            pieces.append(rest)
            return pieces
        cut = rest.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else rest.rfind(" ", 0, size)
        cut = cut if cut > size // 2 else size
        piece = trim(rest, size, "") if cut == size else rest[:cut]
        pieces.append(piece)
        rest = rest[len(piece):].lstrip()
    if rest:
        pieces[-1] = trim(pieces[-1], size - 40) + " _(continued in the source)_"
    return pieces or [""]
