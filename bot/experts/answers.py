"""A person's answer: into the asker's thread (mentioning them), into the knowledge base with
customer details redacted, and the other experts' DMs and the fallback post settled. Also the
asker's side: "This solved it" and "Ask for more"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.blocks.expert import expert_answer_blocks, fallback_blocks
from bot.experts.asking import RoutingStep
from bot.outbox import PostFailed
from bot.slack_text import escape, trim
from knowledge.capture import capture_answer
from knowledge.escalation import (
    ANSWERED_BEFORE,
    FALLBACK_ANSWER,
    LadderState,
    Route,
    RouteStatus,
)
from knowledge.models import EntryStatus
from knowledge.questions import Question, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    """What happened to an expert's answer."""

    first: bool  # False: someone had already answered
    entry_id: int | None = None
    redacted: str = ""


class Saved(StrEnum):
    """What became of "Save as answer" on a reply in a question's thread."""

    SAVED = "saved"
    NOT_IN_THREAD = "not_in_thread"  # not a person's reply in a question's thread
    NOT_YOURS = "not_yours"  # only the asker or the reply's author may save it
    EMPTY = "empty"
    ALREADY = "already"  # the question already has an answer


class Submitted(StrEnum):
    """What became of an answer typed into the answer modal."""

    DELIVERED = "delivered"  # the question's first answer
    ADDED = "added"  # more, after the asker asked for more
    TOO_LATE = "too_late"  # someone else answered first
    REFUSED = "refused"  # not this person's route, or not open to anyone


class Answers(RoutingStep):
    """Carries people's answers to the asker and into the knowledge base."""

    def submit(self, user: str, text: str, *, route_id: int | None = None,
               question_id: int | None = None) -> Submitted:
        """An answer from the modal: on `user`'s own route, or (from the fallback channel) on a
        question that was posted there for anyone."""
        if route_id is not None:
            route = self.routes.maybe(route_id)
            if route is None or route.expert != user:
                return Submitted.REFUSED
            earlier = self.questions.expert_answer(route.question_id)
            if earlier is not None and earlier.expert == user and route.status in (
                    RouteStatus.ASKED, RouteStatus.SNOOZED):
                self.more_answer(route, text)  # after "Ask for more"
                return Submitted.ADDED
            question_id = route.question_id
        else:
            ladder = self.routes.ladder(question_id or 0)
            if ladder is None or ladder.fallback_ts is None:
                return Submitted.REFUSED  # only questions in the fallback channel take anyone's
            question_id = ladder.question_id
            route = self.routes.find(question_id, user) or self.routes.add(
                question_id, user, ladder.round, 0.0, (FALLBACK_ANSWER,))
        delivered = self.deliver(question_id, user, text, route)
        return Submitted.DELIVERED if delivered.first else Submitted.TOO_LATE

    def deliver(self, question_id: int, expert: str, answer: str,
                route: Route | None = None, source_ts: str | None = None) -> Delivered:
        """An answer from a person: into the asker's thread, into the knowledge base, and the
        other experts' DMs updated. Only the first answer to a question does all that."""
        question = self.questions.get(question_id)
        if not self.questions.record_expert_answer(question.id, expert, answer):
            return Delivered(first=False)
        if route is not None:
            self.routes.respond(route.id, RouteStatus.ANSWERED)
        self.routes.stop(question.id, LadderState.ANSWERED)
        name = self.messages.name(expert)
        self._settle_the_others(question, route, name)
        captured = capture_answer(self.questions.store, question, answered_by=expert,
                                  answer=answer, source_url=self._thread_link(question, source_ts),
                                  publish=self.policy.publish_captured)
        note = ("Saved to the knowledge base." if captured.status is EntryStatus.PUBLISHED
                else "Saved to the knowledge base, pending review.")
        ts = None
        if source_ts is None:
            try:
                ts = self.messages.asker_outbox(question).post(
                    trim(f"{name} answered your question", 200),
                    expert_answer_blocks(question.id, question.asker, name, answer, note))
            except PostFailed as failed:
                log.warning("could not post the expert's answer", extra={
                    "question_id": question.id, "error": failed.code})
        self.questions.set_expert_answer_post(question.id, ts, captured.entry_id)
        log.info("expert answered", extra={"question_id": question.id, "expert": expert,
                                           "entry_id": captured.entry_id,
                                           "redacted": captured.redacted or None})
        if route is not None:
            thanks = ":white_check_mark: You answered: it's in the asker's thread. " + note
            if captured.redacted:
                thanks += f" ({captured.redacted} before saving.)"
            self.messages.settle_dm(route, thanks)
        return Delivered(True, captured.entry_id, captured.redacted)

    def _settle_the_others(self, question: Question, route: Route | None, name: str) -> None:
        for other in self.routes.close_others(question.id, route.id if route else None):
            self.messages.settle_dm(other, f":white_check_mark: Answered by {escape(name)}. "
                                    "Thanks!")
        ladder = self.routes.ladder(question.id)
        if ladder is not None and ladder.fallback_channel and ladder.fallback_ts:
            self.messages.update(
                ladder.fallback_channel, ladder.fallback_ts, "Answered",
                fallback_blocks(question.id, question.full_text,
                                self.messages.name(question.asker), None,
                                closed=f"Answered by {escape(name)}. Thanks!"))

    def _thread_link(self, question: Question, source_ts: str | None) -> str | None:
        if source_ts and question.reply_channel:
            return self.messages.people.permalink(question.reply_channel, source_ts)
        return self.messages.link(question)

    def save_reply(self, user: str, channel: str, thread_ts: str | None, reply_ts: str,
                   author: str | None, text: str) -> tuple[Saved, Delivered | None]:
        """ "Save as answer" by `user` on `author`'s reply (`reply_ts`) in a thread."""
        question = self.questions.in_thread(channel, thread_ts) if thread_ts else None
        if question is None or not author or reply_ts == thread_ts:
            return Saved.NOT_IN_THREAD, None
        if user not in (question.asker, author):
            return Saved.NOT_YOURS, None
        if not text:
            return Saved.EMPTY, None
        delivered = self.deliver(question.id, author, text,
                                 self.routes.find(question.id, author), source_ts=reply_ts)
        if not delivered.first:
            return Saved.ALREADY, delivered
        saved = f"Saved {self.messages.name(author)}'s reply as the answer to this question."
        if delivered.redacted:
            saved += f" ({delivered.redacted} before saving.)"
        try:
            self.messages.asker_outbox(question).post(saved, [])
        except PostFailed as failed:
            log.info("could not confirm the save", extra={"error": failed.code})
        return Saved.SAVED, delivered

    # -- the asker's side ----------------------------------------------------------------------
    def settle_answer_post(self, question: Question, note: str) -> None:
        """Replace the buttons on the expert's answer (where the question's record says it
        is, never where a click says) with `note`."""
        answered = self.questions.expert_answer(question.id)
        if answered is None or not answered.post_ts or not question.reply_channel:
            return
        name = self.messages.name(answered.expert)
        self.messages.update(question.reply_channel, answered.post_ts,
                             f"{name} answered your question",
                             expert_answer_blocks(question.id, question.asker, name,
                                                  answered.text, None, settled=note))

    def asker_solved(self, question: Question, user: str) -> bool:
        answered = self.questions.expert_answer(question.id)
        if answered is None or user != question.asker:
            return False
        return self.questions.record_feedback(question.id, user, Verdict.SOLVED,
                                              answered.entry_id)

    def ask_for_more(self, question: Question, user: str) -> bool:
        """The asker wants more: the answering expert gets a DM with an Answer button again."""
        answered = self.questions.expert_answer(question.id)
        if answered is None or user != question.asker:
            return False
        expert = answered.expert
        route = self.routes.find(question.id, expert)
        route = (self.routes.add(question.id, expert, 0, 0.0, (ANSWERED_BEFORE,))
                 if route is None else self.routes.reopen(route.id))
        if route is None:
            return False
        why = (f"{self.messages.name(question.asker)} asked for more detail on your answer",)
        if not self.asker.ask(question, route, reasons=why):
            return False
        self.messages.tell_asker(question, f"I've asked {self.messages.name(expert)} for more.")
        return True

    def more_answer(self, route: Route, answer: str) -> None:
        """A further answer from someone who answered before (after "Ask for more")."""
        question = self.questions.get(route.question_id)
        self.routes.respond(route.id, RouteStatus.ANSWERED)
        name = self.messages.name(route.expert)
        try:
            self.messages.asker_outbox(question).post(
                trim(f"{name} added to their answer", 200),
                expert_answer_blocks(question.id, question.asker, name, answer, None))
        except PostFailed as failed:
            log.warning("could not post more", extra={"question_id": question.id,
                                                      "error": failed.code})
        first = self.questions.expert_answer(question.id)
        if first is not None:
            capture_answer(self.questions.store, question, answered_by=route.expert,
                           answer=f"{first.text}\n\n{answer}",
                           source_url=self.messages.link(question),
                           publish=self.policy.publish_captured)
        self.messages.settle_dm(route, ":white_check_mark: Thanks, I've added that to the "
                                "thread.")
