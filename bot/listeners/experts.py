"""Expert routing in Slack: the request DM's buttons, the answer and pass modals, the asker's
buttons on an expert's answer, the fallback channel's Answer button, and "Save as answer"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ids
from bot.blocks.expert import answer_modal, expert_answer_blocks, pass_modal
from bot.deps import BotDeps
from bot.experts import ExpertRouter
from bot.experts.answers import Submitted
from bot.listeners import open_modal
from bot.outbox import DirectMessage, PostFailed, error_code, send
from bot.parse import Click, MessageShortcut, click, message_shortcut, submission
from bot.slack_text import question_from_message
from knowledge.errors import NotFound
from knowledge.escalation import Route
from knowledge.questions import Question

log = logging.getLogger(__name__)
CLOSED = "This question is already settled (answered, or passed on). Thanks for looking!"
NOT_YOURS = "Only the person who asked, or who wrote this reply, can save it as the answer."
NOT_IN_THREAD = "That message isn't a reply in the thread of a question I know about."
TOO_LATE = ("Thanks! Someone else answered this question just before you, so I didn't post "
            "yours. Your answer is still welcome in the thread.")


def register(app: App, deps: BotDeps, router: ExpertRouter) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def tell(pressed: Click | MessageShortcut, text: str) -> None:
        if pressed.response_url:
            try:
                send(pressed.response_url, text=text, response_type="ephemeral",
                     replace_original=False)
            except PostFailed as failed:
                log.info("could not tell the user", extra={"error": failed.code})

    # -- the request DM ------------------------------------------------------------------------
    def open_route(body: dict[str, Any]) -> tuple[Click, Route] | None:
        """The clicker's own open route named by the button, or None (after saying why)."""
        pressed = click(body)
        if pressed is None:
            return None
        route = router.open_route(pressed.number or 0, pressed.user)
        if route is None:
            tell(pressed, CLOSED)
            return None
        return pressed, route

    def on_answer(body: dict[str, Any], client: WebClient) -> None:
        if (opened := open_route(body)) is not None:
            pressed, route = opened
            question = deps.questions.get(route.question_id)
            view = answer_modal(f"route:{route.id}", question.full_text)
            open_modal(deps.questions, client, pressed, view)

    def on_pass(body: dict[str, Any], client: WebClient) -> None:
        if (opened := open_route(body)) is not None:
            pressed, route = opened
            open_modal(deps.questions, client, pressed, pass_modal(route.id))

    def on_snooze(body: dict[str, Any]) -> None:
        if (opened := open_route(body)) is not None:
            router.escalation.snooze(opened[1])

    def on_fallback_answer(body: dict[str, Any], client: WebClient) -> None:
        pressed = click(body)
        if pressed is None:
            return
        try:
            question = deps.questions.get(pressed.number or 0)
        except NotFound:
            return
        ladder = router.routes.ladder(question.id)
        if ladder is None or pressed.channel != ladder.fallback_channel:
            log.warning("ignored a fallback click from outside the fallback channel",
                        extra={"question_id": question.id, "user": pressed.user})
            return
        if deps.questions.expert_answer(question.id) is not None:
            tell(pressed, CLOSED)
            return
        view = answer_modal(f"question:{question.id}", question.full_text)
        open_modal(deps.questions, client, pressed, view)

    app.action(ids.EXPERT_ANSWER)(ack=ack_only, lazy=[on_answer])
    app.action(ids.EXPERT_PASS)(ack=ack_only, lazy=[on_pass])
    app.action(ids.EXPERT_SNOOZE)(ack=ack_only, lazy=[on_snooze])
    app.action(ids.FALLBACK_ANSWER)(ack=ack_only, lazy=[on_fallback_answer])

    # -- the modals ----------------------------------------------------------------------------
    def check_answer(body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is not None and not submitted.text(
                ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT).strip():
            ack(response_action="errors", errors={ids.EXPERT_ANSWER_BLOCK: "Type your answer."})
            return
        ack()

    def submit_answer(body: dict[str, Any], client: WebClient) -> None:
        submitted = submission(body)
        if submitted is None or submitted.number is None:
            return
        if not deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return  # the same submission, delivered again
        text = submitted.text(ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT).strip()
        on_route = submitted.private_metadata.startswith("route:")
        outcome = router.answers.submit(
            submitted.user, text, route_id=submitted.number if on_route else None,
            question_id=None if on_route else submitted.number)
        if outcome is Submitted.TOO_LATE:
            dm(client, submitted.user, TOO_LATE)

    def submit_pass(body: dict[str, Any]) -> None:
        submitted = submission(body)
        if submitted is None:
            return
        route = router.open_route(submitted.number or 0, submitted.user)
        if route is not None:
            router.escalation.pass_on(route, submitted.picked_user(ids.EXPERT_PASS_BLOCK,
                                                        ids.EXPERT_PASS_INPUT))

    app.view(ids.EXPERT_ANSWER_MODAL)(ack=check_answer, lazy=[submit_answer])
    app.view(ids.EXPERT_PASS_MODAL)(ack=ack_only, lazy=[submit_pass])

    # -- the asker's buttons on an answer ------------------------------------------------------
    def askers_question(pressed: Click, refusal: str) -> Question | None:
        """The question behind an answer-post button, if the clicker is its asker."""
        try:
            question = deps.questions.get(pressed.number or 0)
        except NotFound:
            return None
        if pressed.user != question.asker:
            tell(pressed, refusal)
            return None
        return question

    def on_solved(body: dict[str, Any], client: WebClient) -> None:
        pressed = click(body)
        if pressed is None:
            return
        question = askers_question(pressed, "Only the person who asked can mark it solved.")
        if question is not None and router.answers.asker_solved(question, question.asker):
            settle_answer_post(client, question, ":white_check_mark: Marked as solved. Thanks!")

    def on_more(body: dict[str, Any]) -> None:
        pressed = click(body)
        if pressed is None:
            return
        question = askers_question(pressed, "Only the person who asked can ask for more.")
        if question is not None and deps.questions.claim_delivery(f"more:{pressed.action_ts}"):
            router.answers.ask_for_more(question, question.asker)

    def settle_answer_post(client: WebClient, question: Question, note: str) -> None:
        """Replace the buttons on the expert's answer (where the question's record says it is,
        never where a click says) with `note`."""
        answered = deps.questions.expert_answer(question.id)
        if answered is None or not answered.post_ts or not question.reply_channel:
            return
        name = deps.people.name(answered.expert) or answered.expert
        try:
            client.chat_update(channel=question.reply_channel, ts=answered.post_ts,
                               text=f"{name} answered your question",
                               blocks=expert_answer_blocks(question.id, question.asker, name,
                                                           answered.text, None, settled=note))
        except (SlackApiError, SlackClientError) as error:  # the post may be gone
            log.info("could not update an answer post", extra={"error": error_code(error)})

    app.action(ids.ANSWER_SOLVED)(ack=ack_only, lazy=[on_solved])
    app.action(ids.ANSWER_MORE)(ack=ack_only, lazy=[on_more])

    # -- "Save as answer" on a human reply -----------------------------------------------------
    def save_as_answer(body: dict[str, Any], context: dict[str, Any]) -> None:
        shortcut = message_shortcut(body)
        if shortcut is None:
            return
        thread = shortcut.thread_ts
        question = deps.questions.in_thread(shortcut.channel, thread) if thread else None
        if question is None or not shortcut.author or shortcut.message_ts == thread:
            tell(shortcut, NOT_IN_THREAD)
            return
        if shortcut.user not in (question.asker, shortcut.author):
            tell(shortcut, NOT_YOURS)
            return
        text = question_from_message(shortcut.text, context.get("bot_user_id"))
        if not text:
            tell(shortcut, "That reply has no text to save.")
            return
        delivered = router.answers.deliver(question.id, shortcut.author, text, router.routes.find(
            question.id, shortcut.author), source_ts=shortcut.message_ts)
        if not delivered.first:
            tell(shortcut, "This question already has a saved answer.")
            return
        name = deps.people.name(shortcut.author) or shortcut.author
        saved = f"Saved {name}'s reply as the answer to this question."
        if delivered.redacted:
            saved += f" ({delivered.redacted} before saving.)"
        try:
            router.messages.asker_outbox(question).post(saved, [])
        except PostFailed as failed:
            log.info("could not confirm the save", extra={"error": failed.code})

    app.shortcut(ids.SAVE_AS_ANSWER)(ack=ack_only, lazy=[save_as_answer])


def dm(client: WebClient, user: str, text: str) -> None:
    try:
        DirectMessage(client, user).post(text, [])
    except PostFailed as failed:
        log.info("could not DM", extra={"user": user, "error": failed.code})
