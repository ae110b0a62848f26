"""The escalation ladder: the first round of people, the next round when nobody answers within
the SLA (or everyone asked passed), then the fallback channel, then an honest note to the asker.
The ladder's state and deadlines are in the database, so a restart resumes it, and every step is
claimed there first, so no step runs twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.blocks.expert import fallback_blocks
from bot.experts.asking import RoutingStep
from bot.outbox import PostFailed, ThreadReply
from bot.slack_text import escape, trim
from knowledge.escalation import Ladder, LadderState, Route, RouteStatus
from knowledge.questions import Question, QuestionStatus

log = logging.getLogger(__name__)
CLOSED = (QuestionStatus.WITHDRAWN, QuestionStatus.SOLVED)


class Escalation(RoutingStep):
    """Starts a question's ladder and moves it on: by the clock (`tick`) or when people pass."""

    def start(self, question: Question) -> None:
        """Route `question` (the asker asked for an expert, or nothing was found). Idempotent."""
        if self.routes.ladder(question.id) is not None:
            return
        ranked, topic = self.asker.rank(question)
        if not self.routes.start(question.id, self.policy.sla_for(topic), topic):
            return  # someone else started it meanwhile
        asked = self.asker.ask_round(question, ranked, round_=1)
        if asked:
            names = self.messages.names([r.expert for r in asked])
            self.messages.tell_asker(question, f"I've asked {names}, who answered similar "
                                     "questions. I'll post their answer here.")
        else:
            self._escalate(self.routes.ladder(question.id), question, nobody_first=True)

    def tick(self, now: datetime | None = None) -> int:
        """Escalate every ladder whose deadline passed and remind snoozed experts; returns how
        many ladders moved. Called by the scheduler, and by tests with a controlled clock."""
        moved = 0
        for ladder in self.routes.due(now):
            question = self.questions.get(ladder.question_id)
            if question.status in CLOSED:
                self.routes.stop(question.id, LadderState.CANCELLED)
                continue
            if self._escalate(ladder, question):
                moved += 1
        for route in self.routes.wake_snoozed(now or self.questions.store.clock()):
            if route.dm_channel:
                self.messages.remind(route)
        return moved

    def snooze(self, route: Route) -> None:
        until = self.questions.store.clock() + timedelta(minutes=self.policy.snooze_minutes)
        if self.routes.respond(route.id, RouteStatus.SNOOZED, snoozed_until=until):
            self.messages.settle_dm(route, f":zzz: Snoozed: I'll remind you at {until:%H:%M} "
                                    "UTC.")

    def pass_on(self, route: Route, suggested: str | None) -> None:
        """The expert passed (maybe naming a colleague, who is then asked); with nobody left
        waiting, the next round starts at once."""
        if not self.routes.respond(route.id, RouteStatus.PASSED):
            return
        question = self.questions.get(route.question_id)
        note = ":leftwards_arrow_with_hook: You passed. Thanks for letting me know."
        if suggested and suggested not in (question.asker, route.expert):
            new = self.routes.add(question.id, suggested, route.round, 0.0,
                                  ("suggested by a colleague",), suggested_by=route.expert)
            if new is not None and self.asker.ask(question, new):
                name = self.messages.name(suggested)
                note += f" I've asked {escape(name)} instead."
                self.messages.tell_asker(question, f"{self.messages.name(route.expert)} "
                                         f"suggested {name}, so I've asked them too.")
        self.messages.settle_dm(route, note)
        if not self.asker.still_waiting(question.id):
            ladder = self.routes.ladder(question.id)
            if ladder is not None and ladder.state is LadderState.ROUTING:
                self._escalate(ladder, question)  # nobody left waiting: next round now

    def _escalate(self, ladder: Ladder | None, question: Question,
                  nobody_first: bool = False) -> bool:
        if ladder is None:
            return False
        if ladder.state is LadderState.ROUTING:
            return self._next_round(ladder, question, nobody_first)
        if ladder.state is LadderState.FALLBACK and self.routes.advance(
                ladder, LadderState.EXHAUSTED, wait_minutes=None):
            self.messages.tell_asker(question, "Sorry, nobody has answered yet. Your question "
                                     "stays open: whoever answers it will reply here.")
            return True
        return False

    def _next_round(self, ladder: Ladder, question: Question, nobody_first: bool) -> bool:
        waiting = self.asker.still_waiting(question.id)
        fresh = self.asker.not_asked_yet(question)
        if not self.routes.advance(ladder, LadderState.ROUTING, wait_minutes=ladder.sla_minutes):
            return False  # another worker escalated it
        asked = self.asker.ask_round(question, fresh, ladder.round + 1)
        if not asked:
            return self._to_fallback(self.routes.ladder(question.id), question, nobody_first)
        names = self.messages.names([r.expert for r in asked])
        if nobody_first:
            self.messages.tell_asker(question, f"I've asked {names}. I'll post their answer "
                                     "here.")
        else:
            before = self.messages.names([r.expert for r in waiting])
            self.messages.tell_asker(question, f"No answer yet{' from ' + before if before else ''}"
                                     f", so I've also asked {names}.")
        return True

    def _to_fallback(self, ladder: Ladder | None, question: Question,
                     nobody_first: bool) -> bool:
        if ladder is None:
            return False
        channel = self.policy.fallback_channel
        if not channel:
            if self.routes.advance(ladder, LadderState.EXHAUSTED, wait_minutes=None):
                self.messages.tell_asker(question, "I couldn't find anyone available to ask "
                                         "right now. Your question is saved; please ask in "
                                         "your team's channel.")
                return True
            return False
        if not self.routes.advance(ladder, LadderState.FALLBACK, wait_minutes=ladder.sla_minutes):
            return False
        asker = self.messages.name(question.asker)
        try:
            ts = ThreadReply(self.messages.client, channel, None).post(
                trim(f"Can anyone help {escape(asker)}?", 200),
                fallback_blocks(question.id, question.full_text, asker,
                                self.messages.link(question)))
            self.routes.set_fallback_post(question.id, channel, ts or "")
        except PostFailed as failed:
            log.warning("could not post to the fallback channel", extra={
                "question_id": question.id, "channel": channel, "error": failed.code})
        start = "Nobody I could ask is available" if nobody_first else "No answer yet"
        self.messages.tell_asker(question, f"{start}, so I've posted your question in "
                                 f"<#{channel}>.")
        return True
