"""Expert routing in Slack: the request DM's buttons, the answer and pass modals, the asker's
buttons on an expert's answer, the fallback channel's Answer button, and "Save as answer"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.blocks.expert import answer_modal, expert_answer_blocks, pass_modal
from bot.deps import BotDeps
from bot.listeners import open_modal
from bot.outbox import DirectMessage, PostFailed, send
from bot.parse import modal_text
from bot.routing import ExpertRouter
from bot.slack_text import question_from_message
from knowledge.errors import NotFound
from knowledge.ladder import RouteStatus
from knowledge.questions import Question

log = logging.getLogger(__name__)
CLOSED = "This question is already settled (answered, or passed on). Thanks for looking!"
NOT_YOURS = "Only the person who asked, or who wrote this reply, can save it as the answer."
NOT_IN_THREAD = "That message isn't a reply in the thread of a question I know about."


def register(app: App, deps: BotDeps, router: ExpertRouter) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def _tell(body: dict[str, Any], text: str) -> None:
        url = body.get("response_url")
        if url:
            try:
                send(url, text=text, response_type="ephemeral", replace_original=False)
            except PostFailed as failed:
                log.info("could not tell the user", extra={"error": failed.code})

    def _value(body: dict[str, Any]) -> int | None:
        raw = str((body.get("actions") or [{}])[0].get("value", ""))
        return int(raw) if raw.isdigit() else None

    # -- the request DM ------------------------------------------------------------------------
    def on_answer(body: dict[str, Any], client: WebClient) -> None:
        route = router.open_route(_value(body) or 0, body["user"]["id"])
        if route is None:
            _tell(body, CLOSED)
            return
        question = deps.questions.get(route.question_id)
        view = answer_modal(f"route:{route.id}", question.full_text)
        open_modal(deps.questions, client, body, view)

    def on_pass(body: dict[str, Any], client: WebClient) -> None:
        route = router.open_route(_value(body) or 0, body["user"]["id"])
        if route is None:
            _tell(body, CLOSED)
            return
        open_modal(deps.questions, client, body, pass_modal(route.id))

    def on_snooze(body: dict[str, Any]) -> None:
        route = router.open_route(_value(body) or 0, body["user"]["id"])
        if route is None:
            _tell(body, CLOSED)
            return
        router.snooze(route)

    def on_fallback_answer(body: dict[str, Any], client: WebClient) -> None:
        question_id = _value(body)
        try:
            question = deps.questions.get(question_id or 0)
        except NotFound:
            return
        if deps.questions.expert_answer(question.id) is not None:
            _tell(body, CLOSED)
            return
        view = answer_modal(f"question:{question.id}", question.full_text)
        open_modal(deps.questions, client, body, view)

    app.action(ids.EXPERT_ANSWER)(ack=ack_only, lazy=[on_answer])
    app.action(ids.EXPERT_PASS)(ack=ack_only, lazy=[on_pass])
    app.action(ids.EXPERT_SNOOZE)(ack=ack_only, lazy=[on_snooze])
    app.action(ids.FALLBACK_ANSWER)(ack=ack_only, lazy=[on_fallback_answer])

    # -- the modals ----------------------------------------------------------------------------
    def check_answer(body: dict[str, Any], ack: Ack) -> None:
        text = modal_text(body["view"], ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT)
        if not text.strip():
            ack(response_action="errors", errors={ids.EXPERT_ANSWER_BLOCK: "Type your answer."})
            return
        ack()

    def submit_answer(body: dict[str, Any], client: WebClient) -> None:
        view = body["view"]
        if not deps.questions.claim_delivery(f"view:{view['id']}"):
            return  # the same submission, delivered again
        user = body["user"]["id"]
        text = modal_text(view, ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT).strip()
        kind, _, raw = str(view.get("private_metadata", "")).partition(":")
        if not raw.isdigit():
            return
        if kind == "route":
            route = router.routes.maybe(int(raw))
            if route is None or route.expert != user:
                return
            question_id = route.question_id
            earlier = deps.questions.expert_answer(question_id)
            if earlier is not None and earlier[0] == user and route.status in (
                    RouteStatus.ASKED, RouteStatus.SNOOZED):
                router.more_answer(route, text)  # after "Ask for more"
                return
        else:
            question_id = int(raw)
            ladder = router.routes.ladder(question_id)
            route = router.routes.find(question_id, user) or router.routes.add(
                question_id, user, ladder.round if ladder else 1, 0.0,
                ("answered from the fallback channel",))
        delivered = router.deliver(question_id, user, text, route)
        if not delivered.first:
            _dm(client, user, "Thanks! Someone else answered this question just before you, "
                "so I didn't post yours. Your answer is still welcome in the thread.")

    def submit_pass(body: dict[str, Any]) -> None:
        view = body["view"]
        raw = str(view.get("private_metadata", ""))
        route = router.open_route(int(raw) if raw.isdigit() else 0, body["user"]["id"])
        if route is None:
            return
        values = (view.get("state") or {}).get("values") or {}
        picked = ((values.get(ids.EXPERT_PASS_BLOCK) or {}).get(ids.EXPERT_PASS_INPUT) or {})
        router.pass_on(route, picked.get("selected_user"))

    app.view(ids.EXPERT_ANSWER_MODAL)(ack=check_answer, lazy=[submit_answer])
    app.view(ids.EXPERT_PASS_MODAL)(ack=ack_only, lazy=[submit_pass])

    # -- the asker's buttons on an answer ------------------------------------------------------
    def _askers_question(body: dict[str, Any], refusal: str) -> Question | None:
        """The question behind an answer-post button, if the clicker is its asker."""
        try:
            question = deps.questions.get(_value(body) or 0)
        except NotFound:
            return None
        if body["user"]["id"] != question.asker:
            _tell(body, refusal)
            return None
        return question

    def on_solved(body: dict[str, Any], client: WebClient) -> None:
        question = _askers_question(body, "Only the person who asked can mark it solved.")
        if question is not None and router.asker_solved(question, question.asker):
            _settle_answer_post(client, body, question.id, ":white_check_mark: Marked as "
                                "solved. Thanks!")

    def on_more(body: dict[str, Any]) -> None:
        question = _askers_question(body, "Only the person who asked can ask for more.")
        if question is not None and deps.questions.claim_delivery(
                f"more:{body['actions'][0].get('action_ts')}"):
            router.ask_for_more(question, question.asker)

    def _settle_answer_post(client: WebClient, body: dict[str, Any], question_id: int,
                            note: str) -> None:
        answered = deps.questions.expert_answer(question_id)
        question = deps.questions.get(question_id)
        container = body.get("container") or {}
        if answered is None or not container.get("message_ts"):
            return
        name = deps.people.name(answered[0]) or answered[0]
        try:
            client.chat_update(channel=container["channel_id"], ts=container["message_ts"],
                               text=f"{name} answered your question",
                               blocks=expert_answer_blocks(question_id, question.asker, name,
                                                           answered[1], None, settled=note))
        except Exception as error:  # the post may be gone; the verdict is stored anyway
            log.info("could not update an answer post", extra={"error": str(error)[:200]})

    app.action(ids.ANSWER_SOLVED)(ack=ack_only, lazy=[on_solved])
    app.action(ids.ANSWER_MORE)(ack=ack_only, lazy=[on_more])

    # -- "Save as answer" on a human reply -----------------------------------------------------
    def save_as_answer(body: dict[str, Any], context: dict[str, Any]) -> None:
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        user = body["user"]["id"]
        author = message.get("user")
        thread = message.get("thread_ts")
        question = deps.questions.in_thread(channel, thread) if thread else None
        if question is None or message.get("bot_id") or not author or message.get("ts") == thread:
            _tell(body, NOT_IN_THREAD)
            return
        if user not in (question.asker, author):
            _tell(body, NOT_YOURS)
            return
        text = question_from_message(message.get("text") or "", context.get("bot_user_id"))
        if not text:
            _tell(body, "That reply has no text to save.")
            return
        delivered = router.deliver(question.id, author, text, router.routes.find(
            question.id, author), source_ts=message.get("ts"))
        if not delivered.first:
            _tell(body, "This question already has a saved answer.")
            return
        name = deps.people.name(author) or author
        saved = f"Saved {name}'s reply as the answer to this question."
        if delivered.redacted:
            saved += f" ({delivered.redacted} before saving.)"
        try:
            router.asker_outbox(question).post(saved, [])
        except PostFailed as failed:
            log.info("could not confirm the save", extra={"error": failed.code})

    app.shortcut(ids.SAVE_AS_ANSWER)(ack=ack_only, lazy=[save_as_answer])


def _dm(client: WebClient, user: str, text: str) -> None:
    try:
        DirectMessage(client, user).post(text, [])
    except PostFailed as failed:
        log.info("could not DM", extra={"user": user, "error": failed.code})
