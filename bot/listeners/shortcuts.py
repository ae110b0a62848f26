"""The "Ask Switchboard" message shortcut: the message's text becomes the question.

The answer comes in a DM (the message may be someone else's, in a busy channel), with a link
back to the message it is about.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.deps import BotDeps
from bot.outbox import DirectMessage, PostFailed, send
from bot.parse import MessageShortcut, message_shortcut
from bot.slack_text import question_from_message
from knowledge.questions import AskInput, QuestionSource

log = logging.getLogger(__name__)
NO_TEXT = ("That message has no text I can look up. Try `/ask` and type the question instead.")


def ask_input(shortcut: MessageShortcut, bot_user_id: str | None) -> AskInput:
    return AskInput(asker=shortcut.user, text=question_from_message(shortcut.text, bot_user_id),
                    source=QuestionSource.SHORTCUT, channel=shortcut.channel,
                    channel_kind="im" if shortcut.channel.startswith("D") else "public")


def register(app: App, deps: BotDeps) -> None:
    def store(body: dict[str, Any], ack: Ack, context: dict[str, Any]) -> None:
        shortcut = message_shortcut(body)
        if shortcut is not None:
            ask = ask_input(shortcut, context.get("bot_user_id"))
            if ask.text:
                deps.questions.receive(ask, f"shortcut:{shortcut.trigger_id}")
        ack()

    def answer(body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        shortcut = message_shortcut(body)
        if shortcut is None:
            log.warning("ignored a malformed message shortcut")
            return
        ask = ask_input(shortcut, context.get("bot_user_id"))
        if not ask.text:
            if shortcut.response_url:
                try:
                    send(shortcut.response_url, text=NO_TEXT, response_type="ephemeral")
                except PostFailed as failed:
                    log.info("could not explain an empty shortcut", extra={"error": failed.code})
            return
        question, _ = deps.questions.receive(ask, f"shortcut:{shortcut.trigger_id}")
        if question.source_link is None:
            link = deps.people.permalink(shortcut.channel, shortcut.message_ts)
            if link:
                question = deps.questions.set_source_link(question.id, link)
        deps.answerer.answer(client, question, DirectMessage(client, shortcut.user))

    app.shortcut(ids.ASK_SHORTCUT)(ack=store, lazy=[answer])
