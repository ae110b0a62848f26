"""A durable queue of Slack deliveries that failed for a passing reason, retried with backoff.

A reply or a Home tab that Slack could not take because it was briefly unwell (rate limited,
5xx, a dropped connection: after the client's own quick retries) is not lost and not marked
failed: it gets a row here with how often it was tried and when to try next. The rows live in
SQLite, so they outlive a storm that lasts longer than any in-process retry, and restarts.

Each row has a unique `key` (`reply:<question id>`, `home:<user id>`), so the same work is
queued once however often it fails, and taking a due row is an atomic update of its
`next_attempt_at`: two processes (or two scheduler ticks) never work on one row at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from knowledge.models import format_time, parse_time
from knowledge.store import Store

# Backoff between attempts. Slack's Retry-After is usually a few seconds to a minute and the
# client has already retried three times in-process, so the first queued retry waits 10 s;
# each failure doubles the wait, capped at 10 minutes so that, once Slack recovers, everything
# queued goes out within minutes without hammering it during a long outage.
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 600.0
# While one worker retries a row, others leave it alone for this long (longer than one post
# with the client's retries); if that worker dies, the row becomes due again afterwards.
WORK_LEASE_SECONDS = 120.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits base·2^(n-1), capped, times 0.5-1."""

    base_seconds: float = BACKOFF_BASE_SECONDS
    cap_seconds: float = BACKOFF_CAP_SECONDS
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failure (attempts >= 1)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(max(attempts, 1) - 1, 30))
        return timedelta(seconds=ceiling * (0.5 + self.rng.random() / 2))


@dataclass(frozen=True)
class PendingDelivery:
    """One delivery waiting to be tried again."""

    key: str
    kind: str  # reply or home
    question_id: int | None
    user: str | None
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None


class DeliveryQueue:
    """Queued replies and Home publishes: defer after a passing failure, take when due, drop
    when done."""

    def __init__(self, store: Store, backoff: Backoff | None = None,
                 work_lease_seconds: float = WORK_LEASE_SECONDS) -> None:
        self.store = store
        self.backoff = backoff or Backoff()
        self.work_lease = timedelta(seconds=work_lease_seconds)

    def defer(self, key: str, kind: str, error: str, *, question_id: int | None = None,
              user: str | None = None) -> PendingDelivery:
        """Record one more failed attempt at `key` and when to try it next."""
        now = self.store.clock()
        with self.store.transaction():
            current = self.get(key)
            attempts = (current.attempts if current else 0) + 1
            due = format_time(now + self.backoff.delay(attempts))
            self.store.db.execute(
                "INSERT INTO pending_deliveries(key, kind, question_id, user, attempts, "
                "next_attempt_at, created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET attempts = excluded.attempts, "
                "next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error",
                [key, kind, question_id, user, attempts, due, format_time(now), error[:200]],
            )
        found = self.get(key)
        assert found is not None  # written just above, in the same connection
        return found

    def get(self, key: str) -> PendingDelivery | None:
        rows = self.store.query("SELECT * FROM pending_deliveries WHERE key = ?", [key])
        return _pending(rows[0]) if rows else None

    def due(self, kind: str, limit: int = 20) -> list[PendingDelivery]:
        """Rows of `kind` whose next attempt is due, oldest first."""
        rows = self.store.query(
            "SELECT * FROM pending_deliveries WHERE kind = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at LIMIT ?", [kind, format_time(self.store.clock()), limit])
        return [_pending(r) for r in rows]

    def take(self, pending: PendingDelivery) -> bool:
        """Claim a due row for one attempt (False if another worker took it first)."""
        now = self.store.clock()
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE pending_deliveries SET next_attempt_at = ? WHERE key = ? "
                "AND next_attempt_at = ? AND next_attempt_at <= ?",
                [format_time(now + self.work_lease), pending.key,
                 format_time(pending.next_attempt_at), format_time(now)])
        return cursor.rowcount == 1

    def done(self, key: str) -> None:
        """The delivery went out (or will never be tried again): forget it."""
        with self.store.transaction():
            self.store.db.execute("DELETE FROM pending_deliveries WHERE key = ?", [key])

    def waiting(self, kind: str | None = None) -> int:
        """How many deliveries wait (of one kind, or all)."""
        if kind is None:
            rows = self.store.query("SELECT count(*) AS n FROM pending_deliveries")
        else:
            rows = self.store.query(
                "SELECT count(*) AS n FROM pending_deliveries WHERE kind = ?", [kind])
        return int(rows[0]["n"])


def _pending(row: dict) -> PendingDelivery:
    return PendingDelivery(
        key=row["key"], kind=row["kind"], question_id=row["question_id"], user=row["user"],
        attempts=row["attempts"], next_attempt_at=parse_time(row["next_attempt_at"]),
        created_at=parse_time(row["created_at"]), last_error=row["last_error"],
    )
