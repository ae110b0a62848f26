"""Who is asked: people ranked by what they answered before, minus those who are away, busy,
asleep, in Do Not Disturb or gone; then a request DM to each."""

from __future__ import annotations

import logging

from bot.experts.messages import ExpertMessages
from bot.outbox import PostFailed
from bot.parse import is_user_id
from index.expert_finder import ExpertFinder
from knowledge.availability import unavailable_because
from knowledge.escalation import OPEN, Route, Routes, RouteStatus
from knowledge.expert_profiles import ExpertBook
from knowledge.expert_ranking import ExpertScore
from knowledge.questions import Question, QuestionBook
from knowledge.routing_policy import RoutingPolicy

log = logging.getLogger(__name__)
CANDIDATES = 15  # ranked people considered per round (the unavailable are skipped)
# Slack's errors for a person who can no longer be reached at all.
GONE = {"account_inactive", "user_disabled", "user_not_found", "cannot_dm_bot",
        "user_not_visible", "not_allowed_token_type"}


class RoutingStep:
    """What the later steps of routing (escalation, answers) work with."""

    def __init__(self, messages: ExpertMessages, asker: ExpertAsker, routes: Routes,
                 questions: QuestionBook, policy: RoutingPolicy) -> None:
        self.messages = messages
        self.asker = asker
        self.routes = routes
        self.questions = questions
        self.policy = policy


class ExpertAsker:
    """Ranks people for a question, checks who can be asked now, and asks them."""

    def __init__(self, messages: ExpertMessages, finder: ExpertFinder, routes: Routes,
                 experts: ExpertBook, policy: RoutingPolicy) -> None:
        self.messages = messages
        self.people = messages.people
        self.finder = finder
        self.routes = routes
        self.experts = experts
        self.policy = policy

    def rank(self, question: Question, k: int = CANDIDATES) -> tuple[list[ExpertScore], str | None]:
        """People ranked for `question` (never the asker), and its most likely topic."""
        ranking = self.finder.rank(question.full_text, exclude=[question.asker], k=k,
                                   question_id=question.id)
        return ranking.experts, ranking.topic

    def why_not(self, user: str) -> str | None:
        """Why `user` should not be asked right now (None: go ahead)."""
        if not is_user_id(user):
            return "not a Slack user (an imported name)"
        profile = self.people.profile(user)
        if profile is None:
            return "not found in Slack"
        if profile.get("deleted") or profile.get("is_bot"):
            self.experts.set_deactivated(user, True)
            return "has left (account deactivated)"
        prefs = self.experts.prefs(user)
        if prefs.deactivated:
            self.experts.set_deactivated(user, False)
        if prefs.tz_offset != profile.get("tz_offset"):
            self.experts.set_timezone(user, profile.get("tz"), profile.get("tz_offset"))
        prefs = self.experts.prefs(user)
        now = self.messages.store.clock()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return unavailable_because(
            prefs, now=now, open_routes=len(self.routes.open_for(user)),
            asked_today=self.routes.asked_since(user, day_start),
            in_dnd=self.people.in_dnd(user), rules=self.policy.rules)

    def ask_round(self, question: Question, ranked: list[ExpertScore], round_: int,
                  want: int | None = None) -> list[Route]:
        """Ask up to `want` available people from `ranked` who were not asked yet."""
        want = want or self.policy.route_to
        asked: list[Route] = []
        pool = list(ranked)
        while len(asked) < want:
            picks = self._pick(question, pool, want - len(asked))
            if not picks:
                break
            for pick in picks:
                pool.remove(pick)
                route = self.routes.add(question.id, pick.user, round_, pick.score, pick.reasons)
                if route is not None and self.ask(question, route):
                    asked.append(route)
        return asked

    def not_asked_yet(self, question: Question) -> list[ExpertScore]:
        asked = {r.expert for r in self.routes.for_question(question.id)}
        return [c for c in self.rank(question)[0] if c.user not in asked]

    def _pick(self, question: Question, ranked: list[ExpertScore], want: int) -> list[ExpertScore]:
        asked = {r.expert for r in self.routes.for_question(question.id)}
        chosen: list[ExpertScore] = []
        for candidate in ranked:
            if len(chosen) >= want:
                break
            if candidate.user in asked or candidate.user == question.asker:
                continue
            reason = self.why_not(candidate.user)
            if reason:
                log.info("expert skipped", extra={"question_id": question.id,
                                                  "expert": candidate.user, "why": reason})
                continue
            chosen.append(candidate)
        return chosen

    def ask(self, question: Question, route: Route,
            reasons: tuple[str, ...] | None = None) -> bool:
        """Send the request DM; False (route failed) if the person can't be reached."""
        try:
            channel, ts = self.messages.send_request(question, route, reasons)
        except PostFailed as failed:
            log.warning("could not reach an expert", extra={
                "question_id": question.id, "expert": route.expert, "error": failed.code})
            self.routes.respond(route.id, RouteStatus.FAILED)
            if failed.code in GONE:
                self.experts.set_deactivated(route.expert, True)
                self.people.forget(route.expert)
            return False
        self.routes.set_dm(route.id, channel, ts)
        log.info("expert asked", extra={"question_id": question.id, "expert": route.expert,
                                        "round": route.round, "score": round(route.score, 4)})
        return True

    def still_waiting(self, question_id: int) -> list[Route]:
        """Open routes of a question whose expert can still answer (those who left are
        marked failed on the way)."""
        waiting = []
        for route in self.routes.for_question(question_id):
            if route.status not in OPEN:
                continue
            profile = self.people.profile(route.expert)
            if profile is None or profile.get("deleted"):
                self.routes.respond(route.id, RouteStatus.FAILED)
                self.experts.set_deactivated(route.expert, True)
                log.info("expert left mid-route", extra={"question_id": question_id,
                                                         "expert": route.expert})
                continue
            waiting.append(route)
        return waiting

    def open_route(self, route_id: int, user: str) -> Route | None:
        """The route behind a button, if it is `user`'s and still open."""
        route = self.routes.maybe(route_id)
        return route if route and route.expert == user and route.status in OPEN else None
