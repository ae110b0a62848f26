"""Routed questions: who was asked, what they said, and the escalation ladder with its timers.

All state lives in SQLite so a restart resumes where it stopped. Every step is a claim (an
UPDATE that succeeds for exactly one caller), so a question is never routed twice by accident:
a person is asked at most once per question (UNIQUE (question, expert)), a ladder moves from
round r to r+1 once, and the first answer wins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from knowledge.errors import NotFound
from knowledge.models import format_time, parse_time
from knowledge.store import Store


class RouteStatus(StrEnum):
    ASKED = "asked"  # waiting for this person
    ANSWERED = "answered"  # this person answered
    PASSED = "passed"  # they passed (perhaps suggesting someone)
    SNOOZED = "snoozed"  # they will look later
    CLOSED = "closed"  # someone else answered, or the question was withdrawn
    FAILED = "failed"  # they could not be reached (deactivated, DMs closed)


OPEN = (RouteStatus.ASKED, RouteStatus.SNOOZED)

# Routes recorded for people the ladder did not ask, and why (their reasons): someone who
# answered from the fallback channel (recorded in the ladder's round), and someone asked for more
# detail on an answer they gave without a route (round 0).
FALLBACK_ANSWER = "answered from the fallback channel"
ANSWERED_BEFORE = "answered it before"


def asked_by_the_ladder(round_: int, reasons: Sequence[str]) -> bool:
    """Whether a route (its round and reasons) is one the ladder asked before any answer: not
    an answer from the fallback channel, not a request for more detail."""
    return round_ >= 1 and FALLBACK_ANSWER not in reasons


class LadderState(StrEnum):
    ROUTING = "routing"  # experts asked; waiting until next_at
    FALLBACK = "fallback"  # posted to the fallback channel; waiting until next_at
    ANSWERED = "answered"
    EXHAUSTED = "exhausted"  # nobody left to ask
    CANCELLED = "cancelled"  # withdrawn or solved without an expert


@dataclass(frozen=True)
class Route:
    id: int
    question_id: int
    expert: str
    round: int
    status: RouteStatus
    score: float
    reasons: tuple[str, ...]
    suggested_by: str | None
    asked_at: datetime
    responded_at: datetime | None
    dm_channel: str | None
    dm_ts: str | None


@dataclass(frozen=True)
class Ladder:
    question_id: int
    round: int
    state: LadderState
    sla_minutes: float
    next_at: datetime | None
    topic: str | None
    fallback_channel: str | None
    fallback_ts: str | None


class Routes:
    """Reads and writes routes and ladders."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- ladders -------------------------------------------------------------------------------
    def start(self, question_id: int, sla_minutes: float, topic: str | None = None) -> bool:
        """Open the ladder for a question (round 1); False if it has one already."""
        now = self.store.clock()
        with self.store.transaction():
            cursor = self.store.db.execute(
                "INSERT INTO ladders (question_id, round, state, sla_minutes, next_at, "
                "topic, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [question_id, LadderState.ROUTING.value, sla_minutes,
                 format_time(now + timedelta(minutes=sla_minutes)), topic, format_time(now),
                 format_time(now)],
            )
        return cursor.rowcount == 1

    def ladder(self, question_id: int) -> Ladder | None:
        rows = self.store.query("SELECT * FROM ladders WHERE question_id = ?", [question_id])
        return _ladder(rows[0]) if rows else None

    def due(self, now: datetime | None = None) -> list[Ladder]:
        """Ladders whose deadline has passed and that are still waiting."""
        now = now or self.store.clock()
        rows = self.store.query(
            "SELECT * FROM ladders WHERE state IN (?, ?) AND next_at <= ? ORDER BY next_at",
            [LadderState.ROUTING.value, LadderState.FALLBACK.value, format_time(now)],
        )
        return [_ladder(r) for r in rows]

    def advance(self, ladder: Ladder, state: LadderState, *, wait_minutes: float | None,
                fallback: tuple[str, str] | None = None) -> bool:
        """Move `ladder` one round on (claimed: False if someone else already did)."""
        now = self.store.clock()
        next_at = format_time(now + timedelta(minutes=wait_minutes)) if wait_minutes else None
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE ladders SET round = round + 1, state = ?, next_at = ?, "
                "fallback_channel = coalesce(?, fallback_channel), "
                "fallback_ts = coalesce(?, fallback_ts), updated_at = ? "
                "WHERE question_id = ? AND round = ? AND state = ?",
                [state.value, next_at, fallback[0] if fallback else None,
                 fallback[1] if fallback else None, format_time(now), ladder.question_id,
                 ladder.round, ladder.state.value],
            )
        return cursor.rowcount == 1

    def set_fallback_post(self, question_id: int, channel: str, ts: str) -> None:
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE ladders SET fallback_channel = ?, fallback_ts = ? WHERE question_id = ?",
                [channel, ts, question_id],
            )

    def stop(self, question_id: int, state: LadderState) -> bool:
        """End the ladder (answered, cancelled); False if it was already over."""
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE ladders SET state = ?, next_at = NULL, updated_at = ? "
                "WHERE question_id = ? AND state IN (?, ?)",
                [state.value, format_time(self.store.clock()), question_id,
                 LadderState.ROUTING.value, LadderState.FALLBACK.value],
            )
        return cursor.rowcount == 1

    # -- routes --------------------------------------------------------------------------------
    def add(self, question_id: int, expert: str, round_: int, score: float,
            reasons: Sequence[str], suggested_by: str | None = None) -> Route | None:
        """Record that `expert` is asked; None if they were asked about this question before."""
        with self.store.transaction():
            cursor = self.store.db.execute(
                "INSERT INTO routes (question_id, expert, round, status, score, "
                "reasons, suggested_by, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                [question_id, expert, round_, RouteStatus.ASKED.value, score,
                 json.dumps(list(reasons)), suggested_by, format_time(self.store.clock())],
            )
            added = cursor.fetchone()
            if added is None:
                return None
        return self.get(int(added[0]))

    def get(self, route_id: int) -> Route:
        found = self.maybe(route_id)
        if found is None:
            raise NotFound(f"There is no route #{route_id}.")
        return found

    def maybe(self, route_id: int) -> Route | None:
        rows = self.store.query("SELECT * FROM routes WHERE id = ?", [route_id])
        return _route(rows[0]) if rows else None

    def wake_snoozed(self, now: datetime) -> list[Route]:
        """Snoozed routes whose time is up, set back to asked (each returned once)."""
        woken: list[Route] = []
        rows = self.store.query(
            "SELECT id FROM routes WHERE status = ? AND snoozed_until <= ?",
            [RouteStatus.SNOOZED.value, format_time(now)],
        )
        for row in rows:
            with self.store.transaction():
                cursor = self.store.db.execute(
                    "UPDATE routes SET status = ?, snoozed_until = NULL "
                    "WHERE id = ? AND status = ?",
                    [RouteStatus.ASKED.value, row["id"], RouteStatus.SNOOZED.value],
                )
            if cursor.rowcount == 1:
                woken.append(self.get(row["id"]))
        return woken

    def reopen(self, route_id: int) -> Route:
        """Ask the same person again (the asker wanted more)."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE routes SET status = ?, responded_at = NULL WHERE id = ?",
                [RouteStatus.ASKED.value, route_id],
            )
        return self.get(route_id)

    def find(self, question_id: int, expert: str) -> Route | None:
        rows = self.store.query(
            "SELECT * FROM routes WHERE question_id = ? AND expert = ?", [question_id, expert]
        )
        return _route(rows[0]) if rows else None

    def for_question(self, question_id: int) -> list[Route]:
        rows = self.store.query(
            "SELECT * FROM routes WHERE question_id = ? ORDER BY id", [question_id]
        )
        return [_route(r) for r in rows]

    def open_for(self, expert: str) -> list[Route]:
        rows = self.store.query(
            "SELECT * FROM routes WHERE expert = ? AND status IN (?, ?) ORDER BY id",
            [expert, *(s.value for s in OPEN)],
        )
        return [_route(r) for r in rows]

    def asked_since(self, expert: str, since: datetime) -> int:
        rows = self.store.query(
            "SELECT count(*) AS n FROM routes WHERE expert = ? AND asked_at >= ?",
            [expert, format_time(since)],
        )
        return rows[0]["n"]

    def set_dm(self, route_id: int, channel: str, ts: str) -> None:
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE routes SET dm_channel = ?, dm_ts = ? WHERE id = ?", [channel, ts, route_id]
            )

    def respond(self, route_id: int, status: RouteStatus,
                snoozed_until: datetime | None = None) -> bool:
        """An expert's answer, pass or snooze on an open route; False if it was not open."""
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE routes SET status = ?, responded_at = ?, snoozed_until = ? "
                "WHERE id = ? AND status IN (?, ?)",
                [status.value, format_time(self.store.clock()),
                 format_time(snoozed_until) if snoozed_until else None, route_id,
                 *(s.value for s in OPEN)],
            )
        return cursor.rowcount == 1

    def close_others(self, question_id: int, except_route: int | None) -> list[Route]:
        """Close every other open route of a question (it was answered); returns them."""
        with self.store.transaction():
            rows = self.store.query(
                "SELECT * FROM routes WHERE question_id = ? AND id != ? AND status IN (?, ?)",
                [question_id, except_route or 0, *(s.value for s in OPEN)],
            )
            self.store.db.execute(
                "UPDATE routes SET status = ? WHERE question_id = ? AND id != ? "
                "AND status IN (?, ?)",
                [RouteStatus.CLOSED.value, question_id, except_route or 0,
                 *(s.value for s in OPEN)],
            )
        return [_route(r) for r in rows]


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _route(row: dict[str, Any]) -> Route:
    return Route(
        id=row["id"], question_id=row["question_id"], expert=row["expert"], round=row["round"],
        status=RouteStatus(row["status"]), score=row["score"],
        reasons=tuple(json.loads(row["reasons"] or "[]")), suggested_by=row["suggested_by"],
        asked_at=parse_time(row["asked_at"]), responded_at=_time(row["responded_at"]),
        dm_channel=row["dm_channel"], dm_ts=row["dm_ts"],
    )


def _ladder(row: dict[str, Any]) -> Ladder:
    return Ladder(
        question_id=row["question_id"], round=row["round"], state=LadderState(row["state"]),
        sla_minutes=row["sla_minutes"], next_at=_time(row["next_at"]), topic=row["topic"],
        fallback_channel=row["fallback_channel"], fallback_ts=row["fallback_ts"],
    )
