"""The "Ask Switchboard" modal (from the App Home): answered in a DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.deps import BotDeps
from bot.outbox import DirectMessage
from bot.parse import modal_text
from knowledge.questions import AskInput, QuestionSource

EMPTY = "Type a question first."


def ask_input(body: dict[str, Any]) -> AskInput:
    view = body.get("view") or {}
    return AskInput(asker=(body.get("user") or {}).get("id", ""),
                    text=modal_text(view, ids.ASK_MODAL_BLOCK, ids.ASK_MODAL_INPUT).strip(),
                    source=QuestionSource.HOME, channel=None, channel_kind="im")


def delivery_key(body: dict[str, Any]) -> str:
    return f"view:{(body.get('view') or {}).get('id')}"


def register(app: App, deps: BotDeps) -> None:
    def store(body: dict[str, Any], ack: Ack) -> None:
        ask = ask_input(body)
        if not ask.text:
            ack(response_action="errors", errors={ids.ASK_MODAL_BLOCK: EMPTY})
            return
        deps.questions.receive(ask, delivery_key(body))
        ack()

    def answer(body: dict[str, Any], client: WebClient) -> None:
        ask = ask_input(body)
        if not ask.text:
            return
        question, _ = deps.questions.receive(ask, delivery_key(body))
        deps.answerer.answer(client, question, DirectMessage(client, ask.asker))

    app.view(ids.ASK_MODAL)(ack=store, lazy=[answer])
