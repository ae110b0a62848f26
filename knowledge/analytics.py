"""How asking works for the organisation: volumes, outcomes, speed, expert load, the entries that
help (and don't), and the questions nothing answered. Plain SQL over the store; no model (the
clustering of knowledge gaps happens in index/gaps.py, which needs embeddings).

Outcome of a question (withdrawn ones are left out):
- self-serve: the bot answered it confidently, or the asker marked a bot answer as solving it,
  and no person had to answer;
- expert: a person answered it (routed, from the fallback channel, or saved from the thread);
- suggested: the bot showed possible answers that nobody confirmed or rejected;
- unanswered: nothing useful yet.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from knowledge.escalation import asked_by_the_ladder
from knowledge.models import format_time, parse_time
from knowledge.store import Store

OUTCOMES = ("self_serve", "expert", "suggested", "unanswered")


@dataclass(frozen=True)
class Spread:
    count: int
    p50: float | None  # seconds
    p90: float | None


@dataclass(frozen=True)
class ExpertLoad:
    expert: str
    asked: int
    answered: int
    passed: int
    open: int
    response_p50: float | None  # seconds from being asked to answering or passing


# Who answered a routed question, by where they stood in the asking order (RoutingResult).
ANSWERED_BY = ("first", "first_round", "later", "suggested", "not_asked")


@dataclass(frozen=True)
class RoutingResult:
    """The routed questions of the period (asked then, routed to someone) and, of those a person
    answered, who did, by where they stood in the asking order: the first person asked (the
    ranker's top choice: the first round's highest score), someone else of the first round,
    someone the escalation ladder asked later, someone a colleague suggested, or someone never
    asked (from the fallback channel or the thread). The live counterpart of the routing fit's
    held-out hit@1: how often the first person asked is the one who answers."""

    routed: int = 0
    answered_by: dict[str, int] = field(default_factory=dict)  # ANSWERED_BY -> questions

    @property
    def answered(self) -> int:
        return sum(self.answered_by.values())

    def share(self, kind: str) -> float:
        """`kind`'s share of the routed questions a person answered."""
        return self.answered_by.get(kind, 0) / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class EntryUse:
    entry_id: int
    question: str
    used: int
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class Unanswered:
    question_id: int
    text: str
    asked_at: datetime


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    per_day: list[tuple[date, int]]
    outcomes: dict[str, int]
    first_answer: Spread
    resolution: Spread
    experts: list[ExpertLoad]
    most_used: list[EntryUse]
    least_helpful: list[EntryUse]
    unanswered: list[Unanswered] = field(default_factory=list)
    routing: RoutingResult = field(default_factory=RoutingResult)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def share(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.total if self.total else 0.0


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _spread(values: list[float]) -> Spread:
    return Spread(len(values), percentile(values, 50), percentile(values, 90))


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return max(0.0, (parse_time(end) - parse_time(start)).total_seconds())


def outcome(row: dict) -> str:
    if row["expert_answered_by"]:
        return "expert"
    if row["status"] == "solved" or row["tier"] == "answer":
        return "self_serve"
    if row["tier"] == "suggest":
        return "suggested"
    return "unanswered"


# outcome(row) == "unanswered", as SQL over `questions` (withdrawn questions left out).
UNANSWERED_SQL = ("coalesce(expert_answered_by, '') = '' AND status NOT IN ('solved', 'withdrawn') "
                  "AND coalesce(tier, '') NOT IN ('answer', 'suggest')")


class Analytics:
    def __init__(self, store: Store) -> None:
        self.store = store

    def report(self, days: int = 30, now: datetime | None = None, top: int = 10,
               list_unanswered: bool = True) -> Report:
        """The figures of the last `days`; `list_unanswered=False` leaves `unanswered` empty
        (and question texts unread)."""
        end = now or self.store.clock()
        start = end - timedelta(days=days)
        text = "text, " if list_unanswered else ""
        rows = self.store.query(
            f"SELECT id, {text}status, tier, created_at, answered_at, solved_at, "
            "expert_answered_by, expert_answered_at FROM questions "
            "WHERE created_at >= ? AND created_at <= ? AND status != 'withdrawn' ORDER BY id",
            [format_time(start), format_time(end)],
        )
        per_day = Counter(parse_time(r["created_at"]).date() for r in rows)
        first_day = start.date() + timedelta(days=1)
        days_list = [first_day + timedelta(days=i) for i in range((end.date() - first_day).days
                                                                  + 1)]
        outcomes = Counter({name: 0 for name in OUTCOMES})
        first, resolved = [], []
        unanswered = []
        for row in rows:
            kind = outcome(row)
            outcomes[kind] += 1
            answered = _seconds(row["created_at"], row["answered_at"])
            if answered is not None:
                first.append(answered)
            done = _seconds(row["created_at"], row["solved_at"] or row["expert_answered_at"])
            if done is not None:
                resolved.append(done)
            if kind == "unanswered" and list_unanswered:
                unanswered.append(Unanswered(row["id"], row["text"],
                                             parse_time(row["created_at"])))
        return Report(
            start=start, end=end,
            per_day=[(day, per_day.get(day, 0)) for day in days_list],
            outcomes=dict(outcomes),
            first_answer=_spread(first), resolution=_spread(resolved),
            experts=self._experts(start, end),
            most_used=self._entries("usage_count DESC", "usage_count > 0", top),
            least_helpful=self._entries("not_helpful_count DESC, helpful_count",
                                        "not_helpful_count > 0", top),
            unanswered=unanswered,
            routing=self.routing_between(start, end),
        )

    def unanswered(self, days: int = 7, limit: int = 200, max_chars: int = 2_000,
                   now: datetime | None = None) -> list[Unanswered]:
        """The `limit` most recent questions of the last `days` whose outcome is "unanswered",
        oldest first, each text cut to `max_chars` (bounded work, whatever people asked)."""
        end = now or self.store.clock()
        rows = self.store.query(
            f"SELECT id, substr(text, 1, ?) AS text, created_at FROM questions "
            f"WHERE created_at >= ? AND created_at <= ? AND {UNANSWERED_SQL} "
            f"ORDER BY id DESC LIMIT ?",
            [max_chars, format_time(end - timedelta(days=days)), format_time(end), limit],
        )
        return [Unanswered(r["id"], r["text"], parse_time(r["created_at"]))
                for r in reversed(rows)]

    def _experts(self, start: datetime, end: datetime) -> list[ExpertLoad]:
        rows = self.store.query(
            "SELECT expert, status, asked_at, responded_at FROM routes "
            "WHERE asked_at >= ? AND asked_at <= ?",
            [format_time(start), format_time(end)],
        )
        by_expert: dict[str, list[dict]] = {}
        for row in rows:
            by_expert.setdefault(row["expert"], []).append(row)
        loads = []
        for expert, routes in by_expert.items():
            statuses = Counter(r["status"] for r in routes)
            waits = [s for r in routes if r["status"] in ("answered", "passed")
                     if (s := _seconds(r["asked_at"], r["responded_at"])) is not None]
            loads.append(ExpertLoad(expert, len(routes), statuses["answered"], statuses["passed"],
                                    statuses["asked"] + statuses["snoozed"],
                                    percentile(waits, 50)))
        return sorted(loads, key=lambda e: (-e.asked, e.expert))

    def routing(self, days: int = 30, now: datetime | None = None) -> RoutingResult:
        """Who answered the routed questions of the last `days` (see RoutingResult)."""
        end = now or self.store.clock()
        return self.routing_between(end - timedelta(days=days), end)

    def routing_between(self, start: datetime, end: datetime) -> RoutingResult:
        """Who answered the routed questions asked between `start` and `end`."""
        rows = self.store.query(
            "SELECT q.id, q.expert_answered_by AS answerer, r.expert, r.round, r.score, "
            "r.suggested_by, r.reasons FROM questions q JOIN routes r ON r.question_id = q.id "
            "WHERE q.created_at >= ? AND q.created_at <= ? AND q.status != 'withdrawn' "
            "ORDER BY q.id, r.round, r.score DESC, r.id",
            [format_time(start), format_time(end)],
        )
        asked: dict[int, list[dict]] = {}
        for row in rows:  # a route the ladder did not ask (a fallback answer) is no ask
            asked.setdefault(row["id"], [])
            if asked_by_the_ladder(row["round"], json.loads(row["reasons"] or "[]")):
                asked[row["id"]].append(row)
        answerers = {row["id"]: row["answerer"] for row in rows}
        kinds: Counter = Counter({kind: 0 for kind in ANSWERED_BY})
        for question_id, routes in asked.items():
            answerer = answerers[question_id]
            if not answerer:
                continue
            mine = next((r for r in routes if r["expert"] == answerer), None)
            kinds["not_asked" if mine is None else
                  "first" if mine is routes[0] else
                  "suggested" if mine["suggested_by"] else
                  "first_round" if mine["round"] == routes[0]["round"] else "later"] += 1
        return RoutingResult(len(asked), dict(kinds))

    def _entries(self, order: str, where: str, top: int) -> list[EntryUse]:
        rows = self.store.query(
            f"SELECT id, question, usage_count, helpful_count, not_helpful_count FROM entries "
            f"WHERE status = 'published' AND {where} ORDER BY {order} LIMIT ?", [top])
        return [EntryUse(r["id"], r["question"], r["usage_count"], r["helpful_count"],
                         r["not_helpful_count"]) for r in rows]
