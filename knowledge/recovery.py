"""Questions that were stored and acknowledged but never answered (a crash, a lost worker).

A question is *orphaned* when it is still `received` with no reply, nobody holds its reply
claim (never taken, or taken by a process that died and let the lease run out) and no queued
retry of it is waiting for its backoff. The bot's recovery pass answers orphans again through
the usual reply claim, so a question is answered once however many processes or ticks look.

How late is too late is a policy (`RecoveryPolicy`): a recovered answer within minutes is
just an answer; later it comes with an apology; after a day nobody wants it any more, so the
question is marked expired (status failed, error `expired`) and nothing is posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from knowledge.errors import InvalidInput
from knowledge.models import format_time
from knowledge.questions import Question, QuestionBook

# How long one worker may hold a question's reply claim before another may take it over. A
# search takes well under a second, but a post may wait through the client's retries (three
# rate-limit waits of Retry-After seconds, connection timeouts of 10 s): two minutes covers
# that, and is short enough that a question whose worker died is answered soon after.
REPLY_LEASE_SECONDS = 120
EXPIRED = "expired"  # the `error` of a question recovery gave up on


@dataclass(frozen=True)
class RecoveryPolicy:
    """How recovered questions are treated, by their age."""

    late_after: timedelta = timedelta(minutes=10)  # older: answered with an apology
    give_up_after: timedelta = timedelta(hours=24)  # older: marked expired, nothing posted
    lease: timedelta = timedelta(seconds=REPLY_LEASE_SECONDS)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.late_after <= self.give_up_after:
            raise InvalidInput("The late-answer age must be above zero and not above the "
                               "give-up age.")
        if self.lease <= timedelta(0):
            raise InvalidInput("The reply claim lease must be above zero.")

    def is_late(self, question: Question, now: datetime) -> bool:
        return now - question.created_at > self.late_after


class Orphans:
    """Finds and expires orphaned questions; remembers where ephemeral replies can go."""

    def __init__(self, questions: QuestionBook, policy: RecoveryPolicy) -> None:
        self.questions = questions
        self.store = questions.store
        self.policy = policy

    def find(self, limit: int = 20) -> list[Question]:
        """Orphans young enough to answer, oldest first.

        A question must have waited one lease since it was stored: the worker that stored it
        normally claims it within a second, so only abandoned ones are taken over.
        """
        now = self.store.clock()
        rows = self.store.query(
            "SELECT q.id FROM questions q LEFT JOIN pending_deliveries p "
            "ON p.key = 'reply:' || q.id WHERE q.status = 'received' AND q.reply_ts IS NULL "
            "AND q.created_at >= ? AND q.created_at <= ? "
            "AND (q.reply_claimed_at IS NULL OR q.reply_claimed_at < ?) "
            "AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= ?) ORDER BY q.id LIMIT ?",
            [format_time(now - self.policy.give_up_after), format_time(now - self.policy.lease),
             format_time(now - self.policy.lease), format_time(now), limit])
        return [self.questions.get(r["id"]) for r in rows]

    def unrouted(self, limit: int = 20) -> list[Question]:
        """Questions waiting for a person that have no ladder, a lease after they started
        waiting, oldest first: nothing was found for them, or the asker asked for an expert,
        and the process that would have routed them died first. Routing them is safe to repeat
        (a question's ladder starts once)."""
        now = self.store.clock()
        leased = format_time(now - self.policy.lease)
        rows = self.store.query(
            "SELECT q.id FROM questions q LEFT JOIN ladders l ON l.question_id = q.id "
            "WHERE l.question_id IS NULL AND q.created_at >= ? AND ("
            "(q.status = 'unanswered' AND q.first_reply_at <= ?) OR "
            "(q.status = 'expert_requested' AND EXISTS (SELECT 1 FROM feedback f "
            "WHERE f.question_id = q.id AND f.verdict = 'ask_expert' AND f.created_at <= ?))"
            ") ORDER BY q.id LIMIT ?",
            [format_time(now - self.policy.give_up_after), leased, leased, limit])
        return [self.questions.get(r["id"]) for r in rows]

    def expire(self) -> list[int]:
        """Mark unanswered questions older than the give-up age as expired; their ids."""
        now = self.store.clock()
        cutoff = format_time(now - self.policy.give_up_after)
        stale = format_time(now - self.policy.lease)
        with self.store.transaction():
            rows = self.store.query(
                "SELECT id FROM questions WHERE status = 'received' AND reply_ts IS NULL "
                "AND created_at < ? AND (reply_claimed_at IS NULL OR reply_claimed_at < ?)",
                [cutoff, stale])
            ids = [r["id"] for r in rows]
            self.store.db.executemany(
                "UPDATE questions SET status = 'failed', error = ? WHERE id = ? "
                "AND status = 'received'", [(EXPIRED, i) for i in ids])
            self.store.db.executemany(
                "DELETE FROM pending_deliveries WHERE key = ?", [(f"reply:{i}",) for i in ids])
        return ids

    def remember_response_url(self, question_id: int, url: str) -> None:
        """Keep a slash command's response_url, so a recovered answer can still go there."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET response_url = ? WHERE id = ? AND response_url IS NULL",
                [url, question_id])

    def response_url(self, question_id: int) -> str | None:
        rows = self.store.query("SELECT response_url FROM questions WHERE id = ?", [question_id])
        return rows[0]["response_url"] if rows else None
