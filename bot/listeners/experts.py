"""Expert routing in Slack: the request DM's buttons, the answer and pass modals, the asker's
buttons on an expert's answer, the fallback channel's Answer button, and "Save as answer"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.blocks.expert import answer_modal, pass_modal
from bot.deps import BotDeps
from bot.experts import ExpertRouter
from bot.experts.answers import Saved, Submitted
from bot.listeners import ack_only, guarded, open_modal, tell
from bot.parse import Click, click, message_shortcut, submission
from bot.slack_text import question_from_message
from knowledge.errors import NotFound
from knowledge.escalation import Route
from knowledge.questions import Question

log = logging.getLogger(__name__)
CLOSED = "This question is already settled (answered, or passed on). Thanks for looking!"
TOO_LATE = ("Thanks! Someone else answered this question just before you, so I didn't post "
            "yours. Your answer is still welcome in the thread.")
SAVE_REFUSED = {
    Saved.NOT_IN_THREAD: "That message isn't a reply in the thread of a question I know about.",
    Saved.NOT_YOURS: "Only the person who asked, or who wrote this reply, can save it as the "
                     "answer.",
    Saved.EMPTY: "That reply has no text to save.",
    Saved.ALREADY: "This question already has a saved answer.",
}
TYPE_AN_ANSWER = "Type your answer."


class ExpertListeners:
    """Each handler parses its payload, calls one routing method, and tells the user."""

    def __init__(self, deps: BotDeps, router: ExpertRouter) -> None:
        self.deps = deps
        self.router = router

    # -- the request DM ------------------------------------------------------------------------
    def _own_route(self, body: dict[str, Any], client: WebClient) -> tuple[Click, Route] | None:
        """The clicker's own open route named by the button, or None (after saying why)."""
        pressed = click(body)
        if pressed is None:
            return None
        route = self.router.open_route(pressed.number or 0, pressed.user)
        if route is None:
            tell(client, pressed.user, pressed.response_url, CLOSED)
            return None
        return pressed, route

    def on_answer(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (opened := self._own_route(body, client)) is not None:
            pressed, route = opened
            question = self.deps.questions.get(route.question_id)
            view = answer_modal(f"route:{route.id}", question.full_text)
            open_modal(self.deps.questions, client, pressed, view)

    def on_pass(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (opened := self._own_route(body, client)) is not None:
            pressed, route = opened
            open_modal(self.deps.questions, client, pressed, pass_modal(route.id))

    def on_snooze(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (opened := self._own_route(body, client)) is not None:
            self.router.escalation.snooze(opened[1])

    def on_fallback_answer(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        pressed = click(body)
        if pressed is None:
            return
        ladder = self.router.routes.ladder(pressed.number or 0)
        if ladder is None or pressed.channel != ladder.fallback_channel:
            log.warning("ignored a fallback click from outside the fallback channel",
                        extra={"question_id": pressed.number, "user": pressed.user})
            return
        if self.deps.questions.expert_answer(ladder.question_id) is not None:
            tell(client, pressed.user, pressed.response_url, CLOSED)
            return
        question = self.deps.questions.get(ladder.question_id)
        view = answer_modal(f"question:{question.id}", question.full_text)
        open_modal(self.deps.questions, client, pressed, view)

    # -- the modals ----------------------------------------------------------------------------
    def check_answer(self, body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is not None and not submitted.text(
                ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT).strip():
            ack(response_action="errors", errors={ids.EXPERT_ANSWER_BLOCK: TYPE_AN_ANSWER})
            return
        ack()

    def submit_answer(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        submitted = submission(body)
        if submitted is None or submitted.number is None:
            return
        text = submitted.text(ids.EXPERT_ANSWER_BLOCK, ids.EXPERT_ANSWER_INPUT).strip()
        if not text:
            # Bolt runs this even when the ack refused the empty answer; the modal stays open,
            # and the view's next submission (the same view id) must not find it claimed.
            return
        if not self.deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return  # the same submission, delivered again
        on_route = submitted.private_metadata.startswith("route:")
        outcome = self.router.answers.submit(
            submitted.user, text, route_id=submitted.number if on_route else None,
            question_id=None if on_route else submitted.number)
        if outcome is Submitted.TOO_LATE:
            tell(client, submitted.user, None, TOO_LATE)

    def submit_pass(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        submitted = submission(body)
        if submitted is None:
            return
        route = self.router.open_route(submitted.number or 0, submitted.user)
        if route is not None:
            colleague = submitted.picked_user(ids.EXPERT_PASS_BLOCK, ids.EXPERT_PASS_INPUT)
            self.router.escalation.pass_on(route, colleague)

    # -- the asker's buttons on an answer ------------------------------------------------------
    def _askers_question(self, body: dict[str, Any], client: WebClient,
                         refusal: str) -> tuple[Click, Question] | None:
        """The question behind an answer-post button, if the clicker is its asker."""
        pressed = click(body)
        if pressed is None:
            return None
        try:
            question = self.deps.questions.get(pressed.number or 0)
        except NotFound:
            return None
        if pressed.user != question.asker:
            tell(client, pressed.user, pressed.response_url, refusal)
            return None
        return pressed, question

    def on_solved(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        found = self._askers_question(body, client, "Only the person who asked can mark it "
                                      "solved.")
        if found is not None and self.router.answers.asker_solved(found[1], found[1].asker):
            self.router.answers.settle_answer_post(found[1], ":white_check_mark: Marked as "
                                                   "solved. Thanks!")

    def on_more(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        found = self._askers_question(body, client, "Only the person who asked can ask for "
                                      "more.")
        if found is not None and self.deps.questions.claim_delivery(f"more:{found[0].action_ts}"):
            self.router.answers.ask_for_more(found[1], found[1].asker)

    # -- "Save as answer" on a human reply -----------------------------------------------------
    def save_as_answer(self, body: dict[str, Any], client: WebClient,
                       context: dict[str, Any]) -> None:
        shortcut = message_shortcut(body)
        if shortcut is None:
            return
        outcome, _ = self.router.answers.save_reply(
            shortcut.user, shortcut.channel, shortcut.thread_ts, shortcut.message_ts,
            shortcut.author, question_from_message(shortcut.text, context.get("bot_user_id")))
        if outcome in SAVE_REFUSED:
            tell(client, shortcut.user, shortcut.response_url, SAVE_REFUSED[outcome])


def register(app: App, deps: BotDeps, router: ExpertRouter) -> None:
    listeners = ExpertListeners(deps, router)
    for action_id, handler in ((ids.EXPERT_ANSWER, listeners.on_answer),
                               (ids.EXPERT_PASS, listeners.on_pass),
                               (ids.EXPERT_SNOOZE, listeners.on_snooze),
                               (ids.FALLBACK_ANSWER, listeners.on_fallback_answer),
                               (ids.ANSWER_SOLVED, listeners.on_solved),
                               (ids.ANSWER_MORE, listeners.on_more)):
        app.action(action_id)(ack=ack_only, lazy=[guarded(handler)])
    app.view(ids.EXPERT_ANSWER_MODAL)(ack=listeners.check_answer,
                                      lazy=[guarded(listeners.submit_answer)])
    app.view(ids.EXPERT_PASS_MODAL)(ack=ack_only, lazy=[guarded(listeners.submit_pass)])
    app.shortcut(ids.SAVE_AS_ANSWER)(ack=ack_only, lazy=[guarded(listeners.save_as_answer)])
