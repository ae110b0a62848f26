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
from bot.parse import SlashCommand, slash_command
from bot.slack_text import question_from_message
from knowledge.errors import InvalidInput
from knowledge.questions import AskInput, QuestionSource

log = logging.getLogger(__name__)
USAGE = ("Type your question after the command, e.g. `/ask can we refund an annual plan after "
         "30 days?` I'll answer privately, only you will see it.")


def ask_input(command: SlashCommand) -> AskInput:
    return AskInput(asker=command.user, text=question_from_message(command.text, None),
                    source=QuestionSource.COMMAND, channel=command.channel,
                    channel_kind=command.channel_kind)


def delivery_key(command: SlashCommand) -> str:
    return f"command:{command.trigger_id}"


def register(app: App, deps: BotDeps) -> None:
    def store(command: dict[str, Any], ack: Ack) -> None:
        parsed = slash_command(command)
        if parsed is None:
            log.warning("ignored a malformed slash command")
            ack()
            return
        ask = ask_input(parsed)
        if not ask.text:
            ack(text=USAGE)
            return
        try:
            question, new = deps.questions.receive(ask, delivery_key(parsed))
        except InvalidInput as error:
            ack(text=str(error))
            return
        if not new:
            log.info("slash command replayed", extra={"question_id": question.id})
        ack()

    def answer(command: dict[str, Any], client: WebClient) -> None:
        parsed = slash_command(command)
        if parsed is None or parsed.response_url is None:
            return
        ask = ask_input(parsed)
        if not ask.text:
            return
        question, _ = deps.questions.receive(ask, delivery_key(parsed))
        outbox = EphemeralReply(parsed.response_url, ask.channel)
        deps.answerer.answer(client, question, outbox)

    app.command("/ask")(ack=store, lazy=[answer])
