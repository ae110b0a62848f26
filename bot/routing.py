"""Expert routing in Slack: ask the right people, escalate when nobody answers, bring the answer
back to the asker and into the knowledge base.

The decisions live in knowledge/ (ranking, availability, the ladder's state); this module adds
what only Slack knows (time zones, Do Not Disturb, deactivated accounts) and does the talking.
Every step is claimed in SQLite first, so retries, double clicks, two workers or a restart in
the middle never ask anyone twice or post an answer twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.expert import (
    ExpertRequest,
    expert_answer_blocks,
    fallback_blocks,
    request_blocks,
    request_text,
)
from bot.outbox import DirectMessage, Outbox, PostFailed, ThreadReply, error_code
from bot.people import SLACK_USER_ID, People
from bot.slack_text import escape, trim
from index.expertise import ExpertFinder
from index.search import HybridSearch
from knowledge.capture import capture_answer
from knowledge.experts import ExpertBook, unavailable_because
from knowledge.ladder import OPEN, Ladder, LadderState, Route, Routes, RouteStatus
from knowledge.models import EntryStatus
from knowledge.questions import Question, QuestionBook, QuestionStatus, Verdict
from knowledge.routing import ExpertScore, RoutingPolicy
from knowledge.visibility import Audience, can_see

log = logging.getLogger(__name__)
CANDIDATES = 15  # ranked people considered per round (the unavailable are skipped)
GONE = {"account_inactive", "user_disabled", "user_not_found", "cannot_dm_bot",
        "user_not_visible", "not_allowed_token_type"}


@dataclass(frozen=True)
class Delivered:
    """What happened to an expert's answer."""

    first: bool  # False: someone had already answered
    entry_id: int | None = None
    redacted: str = ""


class ExpertRouter:
    """Routes questions to people and carries their answers back."""

    def __init__(self, client: WebClient, search: HybridSearch, questions: QuestionBook,
                 people: People, policy: RoutingPolicy | None = None) -> None:
        self.client = client
        self.search = search
        self.questions = questions
        self.people = people
        self.policy = policy or RoutingPolicy()
        self.store = search.store
        self.routes = Routes(self.store)
        self.experts = ExpertBook(self.store)
        self.finder = ExpertFinder(search)

    # -- choosing people ---------------------------------------------------------------------
    def rank(self, question: Question, k: int = CANDIDATES) -> tuple[list[ExpertScore], str | None]:
        """People ranked for `question` (never the asker), and its most likely topic."""
        ranking = self.finder.rank(question.full_text, exclude=[question.asker], k=k)
        return ranking.experts, ranking.topic

    def why_not(self, user: str) -> str | None:
        """Why `user` should not be asked right now (None: go ahead)."""
        if not _looks_like_user(user):
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
        now = self.store.clock()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return unavailable_because(
            prefs, now=now, open_routes=len(self.routes.open_for(user)),
            asked_today=self.routes.asked_since(user, day_start),
            in_dnd=self.people.in_dnd(user), rules=self.policy.rules)

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

    # -- starting and escalating ---------------------------------------------------------------
    def request(self, question: Question) -> None:
        """Route `question` (the asker asked for an expert, or nothing was found). Idempotent."""
        if self.routes.ladder(question.id) is not None:
            return
        ranked, topic = self.rank(question)
        if not self.routes.start(question.id, self.policy.sla_for(topic), topic):
            return  # someone else started it meanwhile
        asked = self._ask_round(question, ranked, round_=1)
        if asked:
            names = _names([self.people.name(r.expert) or r.expert for r in asked])
            self._tell_asker(question, f"I've asked {names}, who answered similar questions. "
                             "I'll post their answer here.")
        else:
            self._escalate(self.routes.ladder(question.id), question, nobody_first=True)

    def _ask_round(self, question: Question, ranked: list[ExpertScore], round_: int,
                   want: int | None = None) -> list[Route]:
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
                if route is not None and self._dm_expert(question, route):
                    asked.append(route)
        return asked

    def _dm_expert(self, question: Question, route: Route) -> bool:
        """Send the request DM; False (route failed) if the person can't be reached."""
        request = self._request(question, route)
        try:
            outbox = DirectMessage(self.client, route.expert)
            ts = outbox.post(request_text(request), request_blocks(request))
        except PostFailed as failed:
            log.warning("could not reach an expert", extra={
                "question_id": question.id, "expert": route.expert, "error": failed.code})
            self.routes.respond(route.id, RouteStatus.FAILED)
            if failed.code in GONE:
                self.experts.set_deactivated(route.expert, True)
                self.people.forget(route.expert)
            return False
        self.routes.set_dm(route.id, outbox.channel or "", ts or "")
        log.info("expert asked", extra={"question_id": question.id, "expert": route.expert,
                                        "round": route.round, "score": round(route.score, 4)})
        return True

    def _request(self, question: Question, route: Route) -> ExpertRequest:
        # What the asker was shown, as far as the expert may see it: the request is a DM to
        # the expert, so an entry restricted to the asker or to a channel the expert is not in
        # must not leak through its title.
        expert = Audience(user=route.expert, channel=None, private=True,
                          member_of=lambda channel: self.people.is_member(route.expert, channel))
        shown = self.questions.shown_hits(question.id)
        entries = self.store.get_entries(h.entry_id for h in shown)
        found = tuple(entries[h.entry_id].question for h in shown if h.entry_id in entries
                      and can_see(entries[h.entry_id].visibility, expert))
        return ExpertRequest(
            route_id=route.id, question=question.full_text,
            asker=self.people.name(question.asker) or question.asker,
            channel=question.channel if question.channel_kind in ("public", "private") else None,
            link=self._link(question), found=found, reasons=route.reasons,
            suggested_by=self.people.name(route.suggested_by) if route.suggested_by else None)

    def _link(self, question: Question) -> str | None:
        if question.source_link:
            return question.source_link
        if question.channel_kind in ("public", "private") and question.message_ts:
            return self.people.permalink(question.channel, question.message_ts)
        return None

    def tick(self, now: datetime | None = None) -> int:
        """Escalate every ladder whose deadline passed and remind snoozed experts; returns how
        many ladders moved. Called by the scheduler, and by tests with a controlled clock."""
        moved = 0
        for ladder in self.routes.due(now):
            question = self.questions.get(ladder.question_id)
            if question.status in (QuestionStatus.WITHDRAWN, QuestionStatus.SOLVED):
                self.routes.stop(question.id, LadderState.CANCELLED)
                continue
            if self._escalate(ladder, question):
                moved += 1
        self._remind_snoozed(now or self.store.clock())
        return moved

    def _escalate(self, ladder: Ladder | None, question: Question,
                  nobody_first: bool = False) -> bool:
        if ladder is None:
            return False
        waiting = self.still_waiting(question.id)
        if ladder.state is LadderState.ROUTING:
            ranked, _ = self.rank(question)
            fresh = [c for c in ranked if c.user not in
                     {r.expert for r in self.routes.for_question(question.id)}]
            if not self.routes.advance(ladder, LadderState.ROUTING,
                                       wait_minutes=ladder.sla_minutes):
                return False  # another worker escalated it
            asked = self._ask_round(question, fresh, ladder.round + 1)
            if asked:
                names = _names([self.people.name(r.expert) or r.expert for r in asked])
                before = _names([self.people.name(r.expert) or r.expert for r in waiting])
                if nobody_first:
                    self._tell_asker(question, f"I've asked {names}. I'll post their answer "
                                     "here.")
                else:
                    self._tell_asker(question, f"No answer yet{' from ' + before if before else ''}"
                                     f", so I've also asked {names}.")
                return True
            return self._to_fallback(self.routes.ladder(question.id), question, nobody_first)
        if ladder.state is LadderState.FALLBACK and self.routes.advance(
                ladder, LadderState.EXHAUSTED, wait_minutes=None):
            self._tell_asker(question, "Sorry, nobody has answered yet. Your question stays "
                             "open: whoever answers it will reply here.")
            return True
        return False

    def _to_fallback(self, ladder: Ladder | None, question: Question,
                     nobody_first: bool) -> bool:
        if ladder is None:
            return False
        channel = self.policy.fallback_channel
        if not channel:
            if self.routes.advance(ladder, LadderState.EXHAUSTED, wait_minutes=None):
                self._tell_asker(question, "I couldn't find anyone available to ask right now. "
                                 "Your question is saved; please ask in your team's channel.")
                return True
            return False
        if not self.routes.advance(ladder, LadderState.FALLBACK, wait_minutes=ladder.sla_minutes):
            return False
        asker = self.people.name(question.asker) or question.asker
        link = self._link(question)
        try:
            ts = ThreadReply(self.client, channel, None).post(
                trim(f"Can anyone help {escape(asker)}?", 200),
                fallback_blocks(question.id, question.full_text, asker, link))
            self.routes.set_fallback_post(question.id, channel, ts or "")
        except PostFailed as failed:
            log.warning("could not post to the fallback channel", extra={
                "question_id": question.id, "channel": channel, "error": failed.code})
        start = "Nobody I could ask is available" if nobody_first else "No answer yet"
        self._tell_asker(question, f"{start}, so I've posted your question in <#{channel}>.")
        return True

    def _remind_snoozed(self, now: datetime) -> None:
        for route in self.routes.wake_snoozed(now):
            if not route.dm_channel:
                continue
            request = self._request(self.questions.get(route.question_id), route)
            try:
                self.client.chat_postMessage(
                    channel=route.dm_channel, thread_ts=route.dm_ts,
                    text="A reminder: this question is still waiting for you.",
                    blocks=request_blocks(request))
            except (SlackApiError, SlackClientError) as error:
                log.info("could not remind", extra={"route": route.id,
                                                    "error": error_code(error)})

    # -- the expert's side ---------------------------------------------------------------------
    def open_route(self, route_id: int, user: str) -> Route | None:
        """The route behind a button, if it is `user`'s and still open."""
        route = self.routes.maybe(route_id)
        return route if route and route.expert == user and route.status in OPEN else None

    def snooze(self, route: Route) -> None:
        until = self.store.clock() + timedelta(minutes=self.policy.snooze_minutes)
        if self.routes.respond(route.id, RouteStatus.SNOOZED, snoozed_until=until):
            self._settle_dm(route, f":zzz: Snoozed: I'll remind you at {until:%H:%M} UTC.",
                            keep_buttons=False)

    def pass_on(self, route: Route, suggested: str | None) -> None:
        if not self.routes.respond(route.id, RouteStatus.PASSED):
            return
        question = self.questions.get(route.question_id)
        note = ":leftwards_arrow_with_hook: You passed. Thanks for letting me know."
        if suggested and suggested not in (question.asker, route.expert):
            new = self.routes.add(question.id, suggested, route.round, 0.0,
                                  ("suggested by a colleague",), suggested_by=route.expert)
            if new is not None and self._dm_expert(question, new):
                name = self.people.name(suggested) or suggested
                note += f" I've asked {escape(name)} instead."
                self._tell_asker(question, f"{self.people.name(route.expert) or route.expert} "
                                 f"suggested {name}, so I've asked them too.")
        self._settle_dm(route, note)
        if not self.still_waiting(question.id):
            ladder = self.routes.ladder(question.id)
            if ladder is not None and ladder.state is LadderState.ROUTING:
                self._escalate(ladder, question)  # nobody left waiting: next round now

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
        name = self.people.name(expert) or expert
        for other in self.routes.close_others(question.id, route.id if route else None):
            self._settle_dm(other, f":white_check_mark: Answered by {escape(name)}. Thanks!")
        ladder = self.routes.ladder(question.id)
        if ladder is not None and ladder.fallback_channel and ladder.fallback_ts:
            self._update(ladder.fallback_channel, ladder.fallback_ts, "Answered",
                         fallback_blocks(question.id, question.full_text,
                                         self.people.name(question.asker) or question.asker,
                                         None, closed=f"Answered by {escape(name)}. Thanks!"))
        link = self._thread_link(question, source_ts)
        captured = capture_answer(self.store, question, answered_by=expert, answer=answer,
                                  source_url=link, publish=self.policy.publish_captured)
        note = ("Saved to the knowledge base." if captured.status is EntryStatus.PUBLISHED
                else "Saved to the knowledge base, pending review.")
        ts = None
        if source_ts is None:
            try:
                ts = self.asker_outbox(question).post(
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
            self._settle_dm(route, thanks)
        return Delivered(True, captured.entry_id, captured.redacted)

    def _thread_link(self, question: Question, source_ts: str | None) -> str | None:
        if source_ts and question.reply_channel:
            return self.people.permalink(question.reply_channel, source_ts)
        return self._link(question)

    # -- the asker's side ----------------------------------------------------------------------
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
        route = (self.routes.add(question.id, expert, 0, 0.0, ("answered it before",))
                 if route is None else self.routes.reopen(route.id))
        if route is None:
            return False
        request = self._request(question, route)
        request = ExpertRequest(**{**request.__dict__, "reasons": (
            f"{self.people.name(question.asker) or question.asker} asked for more detail on "
            "your answer",)})
        try:
            DirectMessage(self.client, expert).post(request_text(request), request_blocks(request))
        except PostFailed as failed:
            log.info("could not ask for more", extra={"question_id": question.id,
                                                      "error": failed.code})
            return False
        self._tell_asker(question, f"I've asked {self.people.name(expert) or expert} for more.")
        return True

    def more_answer(self, route: Route, answer: str) -> None:
        """A further answer from someone who answered before (after "Ask for more")."""
        question = self.questions.get(route.question_id)
        self.routes.respond(route.id, RouteStatus.ANSWERED)
        name = self.people.name(route.expert) or route.expert
        try:
            self.asker_outbox(question).post(
                trim(f"{name} added to their answer", 200),
                expert_answer_blocks(question.id, question.asker, name, answer, None))
        except PostFailed as failed:
            log.warning("could not post more", extra={"question_id": question.id,
                                                      "error": failed.code})
        first = self.questions.expert_answer(question.id)
        if first is not None:
            combined = f"{first.text}\n\n{answer}"
            capture_answer(self.store, question, answered_by=route.expert, answer=combined,
                           source_url=self._link(question), publish=self.policy.publish_captured)
        self._settle_dm(route, ":white_check_mark: Thanks, I've added that to the thread.")

    # -- talking -------------------------------------------------------------------------------
    def asker_outbox(self, question: Question) -> Outbox:
        if question.reply_channel and question.reply_ts and question.channel_kind != "im":
            return ThreadReply(self.client, question.reply_channel,
                               question.thread_ts or question.reply_ts)
        if question.reply_channel and question.channel_kind == "im":
            return ThreadReply(self.client, question.reply_channel, question.thread_ts,
                               private=True)
        return DirectMessage(self.client, question.asker)

    def _tell_asker(self, question: Question, text: str) -> None:
        try:
            self.asker_outbox(question).post(text, [
                {"type": "context", "elements": [{"type": "mrkdwn", "text": trim(text, 2_900)}]}])
        except PostFailed as failed:
            log.info("could not update the asker", extra={"question_id": question.id,
                                                          "error": failed.code})

    def _settle_dm(self, route: Route, note: str, keep_buttons: bool = False) -> None:
        if not route.dm_channel or not route.dm_ts:
            return
        question = self.questions.get(route.question_id)
        request = self._request(question, route)
        blocks = request_blocks(request) if keep_buttons else request_blocks(request, note)
        self._update(route.dm_channel, route.dm_ts, request_text(request), blocks)

    def _update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackApiError, SlackClientError) as error:
            log.info("could not update a message", extra={"channel": channel,
                                                          "error": error_code(error)})


def _looks_like_user(value: str) -> bool:
    return bool(SLACK_USER_ID.match(value))


def _names(names: list[str]) -> str:
    names = [escape(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
