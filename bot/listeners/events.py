"""Events: @mentions, DMs, follow-ups in a question's thread, edits, deletions, App Home, and
accounts deactivated or reactivated (`user_change`).

Each event has a quick part, run before Slack gets its 200 (a new question is stored there, so
nothing asked is lost), and a lazy part that searches and replies. Slack's retries and the
double delivery of a mention (as `app_mention` and as `message`) are recognised through SQLite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.deps import BotDeps
from bot.outbox import PostFailed, ThreadReply, error_code
from bot.parse import (
    MessageDeletion,
    MessageEdit,
    MessageIn,
    home_opened,
    message_deletion,
    message_edit,
    message_in,
    user_change,
)
from bot.slack_text import question_from_message
from knowledge.expert_profiles import ExpertBook
from knowledge.questions import AskInput, Question, QuestionSource, QuestionStatus

log = logging.getLogger(__name__)
HELP = ("Hi! Ask me a question and I'll look for the answer in what colleagues have answered "
        "before, e.g. _@Switchboard can we refund an annual plan after 30 days?_ "
        "You can also DM me, type `/ask …`, or use *Ask Switchboard* on any message.")
CLOSED = (QuestionStatus.SOLVED, QuestionStatus.WITHDRAWN)
CHANNEL_KIND = {"channel": "public", "group": "private", "im": "im", "mpim": "mpim"}


@dataclass(frozen=True)
class NewQuestion:
    ask: AskInput
    message: MessageIn


@dataclass(frozen=True)
class FollowUp:
    question: Question
    text: str
    message: MessageIn


@dataclass(frozen=True)
class Help:
    message: MessageIn


def register(app: App, deps: BotDeps) -> None:
    def store(event: dict[str, Any], context: dict[str, Any]) -> None:
        """Before the 200: store a new question or a follow-up's extra context."""
        what = classify(deps, message_in(event, context.get("bot_user_id")),
                        context.get("bot_user_id"))
        if isinstance(what, NewQuestion):
            deps.questions.receive(what.ask)
        elif isinstance(what, FollowUp) and deps.questions.claim_delivery(
            f"followup:{what.message.channel}:{what.message.ts}"
        ):
            deps.questions.add_context(what.question.id, what.text)

    def reply(event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        """After the 200: search and answer, or apply an edit or a deletion."""
        bot_user_id = context.get("bot_user_id")
        if (edit := message_edit(event)) is not None:
            handle_edit(deps, client, edit, bot_user_id)
        elif (deletion := message_deletion(event)) is not None:
            handle_deletion(deps, client, deletion)
        else:
            handle_message(deps, client, message_in(event, bot_user_id), bot_user_id)

    app.event("app_mention")(ack=store, lazy=[reply])
    app.event("message")(ack=store, lazy=[reply])

    def noop() -> None:
        pass

    def home(event: dict[str, Any], client: WebClient) -> None:
        opened = home_opened(event)
        if opened is not None:
            deps.publish_home(client, opened.user)

    app.event("app_home_opened")(ack=noop, lazy=[home])

    experts = ExpertBook(deps.questions.store)

    def account_changed(event: dict[str, Any]) -> None:
        """Before the 200 (one small write): someone left, or came back. Routing stops (or
        resumes) suggesting them; Slack sends this for every profile edit, so only a change of
        the deactivated flag is written."""
        changed = user_change(event)
        if changed is None:
            return
        deps.people.forget(changed.user)
        if experts.prefs(changed.user).deactivated != changed.deleted:
            experts.set_deactivated(changed.user, changed.deleted)
            log.info("account deactivated" if changed.deleted else "account reactivated",
                     extra={"user": changed.user})

    app.event("user_change")(account_changed)


def classify(deps: BotDeps, message: MessageIn | None,
             bot_user_id: str | None) -> NewQuestion | FollowUp | Help | None:
    """What a message means for us (None: not for us, e.g. chatter, a bot's post, or a
    malformed event)."""
    if message is None:
        return None
    if message.event_type == "message" and message.mentions_bot and not message.is_dm:
        return None  # the app_mention event for the same message handles it
    if message.thread_ts:
        question = deps.questions.in_thread(message.channel, message.thread_ts)
        if (question is not None and question.asker == message.user
                and question.status not in CLOSED and question.message_ts != message.ts):
            text = question_from_message(message.text, bot_user_id)
            return FollowUp(question, text, message) if text else None
    if not (message.mentions_bot or message.is_dm):
        return None  # ordinary channel chatter
    text = question_from_message(message.text, bot_user_id)
    if not text:
        return Help(message)
    thread = message.thread_ts or (None if message.is_dm else message.ts)
    ask = AskInput(asker=message.user, text=text, channel=message.channel,
                   channel_kind=CHANNEL_KIND.get(message.channel_type or "")
                   or deps.people.channel_kind(message.channel),
                   message_ts=message.ts, thread_ts=thread,
                   source=QuestionSource.DM if message.is_dm else QuestionSource.MENTION)
    return NewQuestion(ask, message)


def handle_message(deps: BotDeps, client: WebClient, message: MessageIn | None,
                   bot_user_id: str | None) -> None:
    what = classify(deps, message, bot_user_id)
    if isinstance(what, NewQuestion):
        question, _ = deps.questions.receive(what.ask)  # stored already: this finds it
        outbox = ThreadReply(client, what.message.channel, what.ask.thread_ts,
                             private=what.message.is_dm)
        deps.answerer.answer(client, question, outbox)
    elif isinstance(what, FollowUp):
        message = what.message
        if not deps.questions.claim_delivery(f"followup-answer:{message.channel}:{message.ts}"):
            return  # the same follow-up, delivered again
        question = deps.questions.get(what.question.id)
        outbox = ThreadReply(client, message.channel, message.thread_ts, private=message.is_dm)
        deps.answerer.answer_again(question, outbox)
    elif isinstance(what, Help):
        message = what.message
        if deps.questions.claim_delivery(f"help:{message.channel}:{message.ts}"):
            thread = message.thread_ts or (None if message.is_dm else message.ts)
            try:
                ThreadReply(client, message.channel, thread).post(HELP, [])
            except PostFailed as failed:
                log.warning("could not post help", extra={"channel": message.channel,
                                                          "error": failed.code})


def handle_edit(deps: BotDeps, client: WebClient, edit: MessageEdit,
                bot_user_id: str | None) -> None:
    """The asker edited their question: answer the new text in the same card."""
    question = deps.questions.by_message(edit.channel, edit.ts)
    if (question is None or question.status in CLOSED or question.reply_ts is None
            or question.asker != edit.user):
        return
    text = question_from_message(edit.new_text, bot_user_id)
    if not text or text == question.text:
        return
    if not deps.questions.claim_delivery(f"edit:{edit.channel}:{edit.ts}:{edit.edited_ts}"):
        return
    updated = deps.questions.edit_text(question.id, text)
    outbox = ThreadReply(client, question.reply_channel or edit.channel, question.thread_ts,
                         private=question.channel_kind == "im")
    deps.answerer.refresh(client, updated, outbox)


def handle_deletion(deps: BotDeps, client: WebClient, deletion: MessageDeletion) -> None:
    """The asker deleted their question: withdraw it and remove our answer."""
    question = deps.questions.by_message(deletion.channel, deletion.ts)
    if question is None or question.status is QuestionStatus.WITHDRAWN:
        return
    deps.questions.withdraw(question.id)
    log.info("question withdrawn", extra={"question_id": question.id})
    if question.reply_channel and question.reply_ts:
        try:
            client.chat_delete(channel=question.reply_channel, ts=question.reply_ts)
        except (SlackApiError, SlackClientError) as error:  # already gone, or not allowed
            log.info("could not delete the answer", extra={"question_id": question.id,
                                                           "error": error_code(error)})
