"""`/ask <question>`: answered privately (ephemeral), wherever it was typed.

Why ephemeral: people type /ask in the middle of a conversation (often with a customer
waiting); a private answer doesn't interrupt the channel, works in channels the bot isn't in
and in DMs between people, and may include knowledge restricted to the asker. To share it,
people can @mention the bot instead, which answers in a thread everyone sees.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.outbox import EphemeralReply
from bot.slack_text import question_from_message
from knowledge.errors import InvalidInput
from knowledge.questions import AskInput, QuestionSource

log = logging.getLogger(__name__)
USAGE = ("Type your question after the command, e.g. `/ask can we refund an annual plan after "
         "30 days?` I'll answer privately, only you will see it.")


def ask_input(command: dict[str, Any]) -> AskInput:
    channel = command.get("channel_id") or None
    kind = {"directmessage": "im", "privategroup": "private"}.get(
        command.get("channel_name", ""), "public")
    return AskInput(asker=command.get("user_id", ""),
                    text=question_from_message(command.get("text") or "", None),
                    source=QuestionSource.COMMAND, channel=channel, channel_kind=kind)


def delivery_key(command: dict[str, Any]) -> str:
    return f"command:{command.get('trigger_id')}"


def register(app: App, deps: BotDeps) -> None:
    def store(command: dict[str, Any], ack: Ack) -> None:
        ask = ask_input(command)
        if not ask.text:
            ack(text=USAGE)
            return
        try:
            question, new = deps.questions.receive(ask, delivery_key(command))
        except InvalidInput as error:
            ack(text=str(error))
            return
        if not new:
            log.info("slash command replayed", extra={"question_id": question.id})
        ack()

    def answer(command: dict[str, Any], client: WebClient) -> None:
        ask = ask_input(command)
        if not ask.text or not command.get("response_url"):
            return
        question, _ = deps.questions.receive(ask, delivery_key(command))
        outbox = EphemeralReply(command["response_url"], ask.channel)
        deps.answerer.answer(client, question, outbox)

    app.command("/ask")(ack=store, lazy=[answer])
