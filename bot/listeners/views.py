"""The "Ask Switchboard" modal (from the App Home): answered in a DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.deps import BotDeps
from bot.outbox import DirectMessage
from bot.parse import Submission, submission
from knowledge.questions import AskInput, QuestionSource

EMPTY = "Type a question first."


def ask_input(submitted: Submission) -> AskInput:
    return AskInput(asker=submitted.user,
                    text=submitted.text(ids.ASK_MODAL_BLOCK, ids.ASK_MODAL_INPUT).strip(),
                    source=QuestionSource.HOME, channel=None, channel_kind="im")


def delivery_key(submitted: Submission) -> str:
    return f"view:{submitted.view_id}"


def register(app: App, deps: BotDeps) -> None:
    def store(body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is None:
            ack()  # malformed: nothing to store (Slack never sends one)
            return
        ask = ask_input(submitted)
        if not ask.text:
            ack(response_action="errors", errors={ids.ASK_MODAL_BLOCK: EMPTY})
            return
        deps.questions.receive(ask, delivery_key(submitted))
        ack()

    def answer(body: dict[str, Any], client: WebClient) -> None:
        submitted = submission(body)
        if submitted is None or not (ask := ask_input(submitted)).text:
            return
        question, _ = deps.questions.receive(ask, delivery_key(submitted))
        deps.answerer.answer(client, question, DirectMessage(client, ask.asker))

    app.view(ids.ASK_MODAL)(ack=store, lazy=[answer])
