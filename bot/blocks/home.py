"""The App Home tab and the "Ask Switchboard" modal. Pure builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import ids
from bot.slack_text import escape, trim

STATUS_LABEL = {
    "received": ":hourglass_flowing_sand: looking it up",
    "answered": ":bulb: answered",
    "suggested": ":mag: suggestions shown",
    "unanswered": ":grey_question: not found yet",
    "expert_requested": ":raising_hand: expert requested",
    "expert_answered": ":speech_balloon: answered by an expert",
    "solved": ":white_check_mark: solved",
    "failed": ":warning: could not reply",
    "withdrawn": ":wastebasket: withdrawn",
}


@dataclass(frozen=True)
class RecentQuestion:
    text: str
    status: str
    asked_at: datetime


def home_view(recent: list[RecentQuestion]) -> dict:
    """The Home tab: an Ask button and the person's recent questions."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Switchboard"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Ask anything about our products, policies or past cases. I answer from "
                "what colleagues have answered before, and find an expert when I can't.",
            },
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Ask a question"},
                "action_id": ids.HOME_ASK,
                "style": "primary",
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "You can also mention me in a channel, "
                          "send me a DM, type `/ask …`, or use *Ask Switchboard* on any message."}],
        },
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Your recent questions"}},
    ]
    if not recent:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "_Nothing asked yet._"}})
    for question in recent[:20]:
        label = STATUS_LABEL.get(question.status, question.status)
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": trim(
                f"*{escape(' '.join(question.text.split()))}*\n{label} · "
                f"{question.asked_at:%-d %b %Y, %H:%M} UTC", 2_900)},
        })
    return {"type": "home", "blocks": blocks}


def ask_modal(prefill: str = "") -> dict:
    """The modal the Home tab's Ask button opens."""
    element: dict = {
        "type": "plain_text_input",
        "action_id": ids.ASK_MODAL_INPUT,
        "multiline": True,
        "max_length": 3000,
        "placeholder": {"type": "plain_text",
                        "text": "e.g. Can we refund an annual plan after 30 days?"},
    }
    if prefill:
        element["initial_value"] = trim(prefill, 3000)
    return {
        "type": "modal",
        "callback_id": ids.ASK_MODAL,
        "title": {"type": "plain_text", "text": "Ask Switchboard"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": ids.ASK_MODAL_BLOCK,
            "label": {"type": "plain_text", "text": "Your question"},
            "element": element,
            "hint": {"type": "plain_text", "text": "I'll answer in a direct message."},
        }],
    }
