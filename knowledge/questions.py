"""Questions people ask: stored first, then answered, rated and followed up.

A question is written before any search or reply is attempted, so nothing asked is ever lost,
even if the search or Slack fails afterwards. Slack's retries and double deliveries are
recognised by (channel, message ts) and by delivery keys kept in SQLite, so they survive
restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from knowledge.errors import InvalidInput, NotFound
from knowledge.models import format_time, parse_time
from knowledge.phrasings import PhrasingSource
from knowledge.store import Store
from knowledge.text import storable

MAX_QUESTION_CHARS = 40_000  # Slack's own message limit; longer input is cut, not refused


class QuestionSource(StrEnum):
    """Where in Slack a question was asked."""

    MENTION = "mention"
    DM = "dm"
    COMMAND = "command"
    SHORTCUT = "shortcut"
    HOME = "home"


class QuestionStatus(StrEnum):
    """Where a question stands."""

    RECEIVED = "received"  # stored; the answer is being looked up
    ANSWERED = "answered"  # the bot answered confidently
    SUGGESTED = "suggested"  # the bot showed what might help
    UNANSWERED = "unanswered"  # the bot found nothing useful
    EXPERT_REQUESTED = "expert_requested"  # the asker asked for a person
    EXPERT_ANSWERED = "expert_answered"  # a person answered it
    SOLVED = "solved"  # the asker said an answer solved it
    FAILED = "failed"  # we could not reply (see `error`)
    WITHDRAWN = "withdrawn"  # the asker deleted the question


class Verdict(StrEnum):
    """What someone said about an answer."""

    SOLVED = "solved"
    NOT_HELPFUL = "not_helpful"
    ASK_EXPERT = "ask_expert"


@dataclass(frozen=True)
class AskInput:
    """A question as it arrived, already parsed from Slack's payload."""

    asker: str
    text: str
    source: QuestionSource
    channel: str | None = None
    channel_kind: str = "public"  # public, private, im, mpim
    message_ts: str | None = None  # the asking message, when there is one
    thread_ts: str | None = None  # the thread replies go to
    source_link: str | None = None  # e.g. the permalink of a shortcut's message


@dataclass(frozen=True)
class Question:
    id: int
    asker: str
    text: str
    source: QuestionSource
    status: QuestionStatus
    channel: str | None
    channel_kind: str
    message_ts: str | None
    thread_ts: str | None
    context: str
    created_at: datetime
    first_reply_at: datetime | None
    solved_at: datetime | None
    reply_channel: str | None
    reply_ts: str | None
    tier: str | None
    best_entry_id: int | None
    source_link: str | None

    @property
    def full_text(self) -> str:
        """The question with any follow-ups the asker added in the thread."""
        return f"{self.text}\n{self.context}".strip()


@dataclass(frozen=True)
class ExpertAnswer:
    """The first answer a person gave to a question."""

    expert: str
    text: str
    entry_id: int | None  # the knowledge entry it was captured as
    post_ts: str | None  # its message in the asker's conversation (None: saved from a reply)


@dataclass(frozen=True)
class ShownHit:
    """One entry the bot showed for a question."""

    entry_id: int
    score: float
    tier: str
    confidence: float | None = None  # how sure the search was that it answers (0..1)


_STATUS_BY_TIER = {
    "answer": QuestionStatus.ANSWERED,
    "suggest": QuestionStatus.SUGGESTED,
    "none": QuestionStatus.UNANSWERED,
}


class QuestionBook:
    """Reads and writes questions, what was shown for them, and feedback on it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def receive(self, ask: AskInput, delivery_key: str | None = None) -> tuple[Question, bool]:
        """Store a question; (question, True) if new, (the earlier one, False) if a repeat.

        A repeat is the same message (channel and ts) or the same `delivery_key` (e.g. a slash
        command's trigger id) seen before, across restarts.
        """
        text = storable(ask.text).strip()[:MAX_QUESTION_CHARS]
        if not text:
            raise InvalidInput("The question is empty: type what you want to know.")
        with self.store.transaction():
            if ask.message_ts is not None:
                earlier = self._find(
                    "channel = ? AND message_ts = ?", [ask.channel, ask.message_ts]
                )
                if earlier is not None:
                    return earlier, False
            if delivery_key is not None:
                earlier = self._find(
                    "id = (SELECT question_id FROM handled_deliveries WHERE key = ?)",
                    [delivery_key],
                )
                if earlier is not None:
                    return earlier, False
            cursor = self.store.db.execute(
                "INSERT INTO questions (asker, channel, channel_kind, thread_ts, message_ts, "
                "source, text, status, created_at, source_link) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [
                    ask.asker,
                    ask.channel,
                    ask.channel_kind,
                    ask.thread_ts,
                    ask.message_ts,
                    ask.source.value,
                    text,
                    QuestionStatus.RECEIVED.value,
                    format_time(self.store.clock()),
                    ask.source_link,
                ],
            )
            question_id = int(cursor.fetchone()[0])
            if delivery_key is not None:
                self.store.db.execute(
                    "INSERT INTO handled_deliveries(key, created_at, question_id) "
                    "VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "created_at = excluded.created_at, question_id = excluded.question_id",
                    [delivery_key, format_time(self.store.clock()), question_id],
                )
        return self.get(question_id), True

    def claim_delivery(self, key: str) -> bool:
        """True the first time `key` (a Slack event id, say) is seen; False for any repeat."""
        with self.store.transaction():
            cursor = self.store.db.execute(
                "INSERT INTO handled_deliveries(key, created_at) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                [key, format_time(self.store.clock())],
            )
        return cursor.rowcount == 1

    def get(self, question_id: int) -> Question:
        found = self._find("id = ?", [question_id])
        if found is None:
            raise NotFound(f"There is no question #{question_id}.")
        return found

    def in_thread(self, channel: str, thread_ts: str) -> Question | None:
        """The question this thread belongs to (asked in it, or answered in it), if any."""
        return self._find(
            "channel = ? AND (thread_ts = ? OR message_ts = ?) ORDER BY id LIMIT 1",
            [channel, thread_ts, thread_ts],
        ) or self._find("reply_channel = ? AND reply_ts = ? LIMIT 1", [channel, thread_ts])

    def recent_for(self, asker: str, limit: int = 5) -> list[Question]:
        rows = self.store.query(
            "SELECT * FROM questions WHERE asker = ? ORDER BY id DESC LIMIT ?", [asker, limit]
        )
        return [_question(r) for r in rows]

    def add_context(self, question_id: int, text: str) -> Question:
        """Append a follow-up from the thread to the question; it is asked again with it."""
        addition = storable(text).strip()[:MAX_QUESTION_CHARS]
        with self.store.transaction():
            current = self.get(question_id)
            context = f"{current.context}\n{addition}".strip()[-MAX_QUESTION_CHARS:]
            self.store.db.execute(
                "UPDATE questions SET context = ? WHERE id = ?", [context, question_id]
            )
        return self.get(question_id)

    def edit_text(self, question_id: int, text: str) -> Question:
        """The asker edited their question: keep the new wording."""
        new_text = storable(text).strip()[:MAX_QUESTION_CHARS]
        if not new_text:
            raise InvalidInput("The question is empty: type what you want to know.")
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET text = ? WHERE id = ?", [new_text, question_id]
            )
        return self.get(question_id)

    def set_source_link(self, question_id: int, link: str) -> Question:
        """Where the question came from (e.g. the permalink of a shortcut's message)."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET source_link = ? WHERE id = ?", [link, question_id]
            )
        return self.get(question_id)

    def record_expert_answer(self, question_id: int, expert: str, answer: str) -> bool:
        """A person's answer; True for the first one (later ones do not replace it)."""
        now = format_time(self.store.clock())
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE questions SET expert_answer = ?, expert_answered_by = ?, "
                "expert_answered_at = ?, status = CASE WHEN status = 'solved' THEN status "
                "ELSE 'expert_answered' END, first_reply_at = coalesce(first_reply_at, ?), "
                "answered_at = coalesce(answered_at, ?) "
                "WHERE id = ? AND expert_answered_by IS NULL",
                [answer, expert, now, now, now, question_id],
            )
        return cursor.rowcount == 1

    def set_expert_answer_post(self, question_id: int, ts: str | None,
                               entry_id: int | None) -> None:
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET expert_answer_ts = coalesce(?, expert_answer_ts), "
                "captured_entry_id = coalesce(?, captured_entry_id) WHERE id = ?",
                [ts, entry_id, question_id],
            )

    def expert_answer(self, question_id: int) -> ExpertAnswer | None:
        """The first person's answer to a question, once someone answered."""
        rows = self.store.query(
            "SELECT expert_answered_by, expert_answer, captured_entry_id, expert_answer_ts "
            "FROM questions WHERE id = ?", [question_id])
        if not rows or rows[0]["expert_answered_by"] is None:
            return None
        row = rows[0]
        return ExpertAnswer(row["expert_answered_by"], row["expert_answer"],
                            row["captured_entry_id"], row["expert_answer_ts"])

    def record_reply(
        self,
        question_id: int,
        hits: Sequence[ShownHit],
        tier: str,
        reply_channel: str | None,
        reply_ts: str | None,
    ) -> Question:
        """Remember what the bot showed and where; the best entry's use count goes up."""
        now = format_time(self.store.clock())
        best = hits[0] if hits else None
        with self.store.transaction():
            db = self.store.db
            db.execute("DELETE FROM question_hits WHERE question_id = ?", [question_id])
            db.executemany(
                "INSERT INTO question_hits(question_id, rank, entry_id, score, tier, confidence) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(question_id, rank, h.entry_id, h.score, h.tier, h.confidence)
                 for rank, h in enumerate(hits)],
            )
            db.execute(
                "UPDATE questions SET status = CASE WHEN status IN ('solved', 'expert_requested') "
                "THEN status ELSE ? END, tier = ?, best_entry_id = ?, best_score = ?, "
                "reply_channel = coalesce(?, reply_channel), reply_ts = coalesce(?, reply_ts), "
                "first_reply_at = coalesce(first_reply_at, ?), "
                "answered_at = CASE WHEN ? = 'answer' THEN coalesce(answered_at, ?) "
                "ELSE answered_at END, error = NULL WHERE id = ?",
                [
                    _STATUS_BY_TIER[tier].value,
                    tier,
                    best.entry_id if best else None,
                    best.score if best else None,
                    reply_channel,
                    reply_ts,
                    now,
                    tier,
                    now,
                    question_id,
                ],
            )
            if best is not None and tier == "answer":
                db.execute(
                    "UPDATE entries SET usage_count = usage_count + 1 WHERE id = ?",
                    [best.entry_id],
                )
        return self.get(question_id)

    def claim_reply(self, question_id: int, lease_seconds: int = 60) -> bool:
        """Take the right to answer a question (one worker at a time; a stale claim expires).

        A retried Slack delivery of a question whose first attempt died half way gets the
        claim once the lease has run out, so the question is answered exactly once.
        """
        now = self.store.clock()
        stale = format_time(now - timedelta(seconds=lease_seconds))
        with self.store.transaction():
            cursor = self.store.db.execute(
                "UPDATE questions SET reply_claimed_at = ? WHERE id = ? AND reply_ts IS NULL "
                "AND status NOT IN ('withdrawn') "
                "AND (reply_claimed_at IS NULL OR reply_claimed_at < ?)",
                [format_time(now), question_id, stale],
            )
        return cursor.rowcount == 1

    def reply_pending(self, question_id: int) -> bool:
        """Whether a reply to the question is claimed but not recorded yet: Slack may already
        show the card (it is posted before it is recorded), so a click on it can come first."""
        return bool(self.store.query(
            "SELECT 1 FROM questions WHERE id = ? AND reply_claimed_at IS NOT NULL "
            "AND reply_ts IS NULL AND first_reply_at IS NULL", [question_id]))

    def release_reply(self, question_id: int) -> None:
        """Give back a claim (after a failed reply) so a retry may try again."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET reply_claimed_at = NULL WHERE id = ?", [question_id]
            )

    def withdraw(self, question_id: int) -> Question:
        """The asker deleted their question: keep the record, stop treating it as open."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET status = 'withdrawn' WHERE id = ?", [question_id]
            )
        return self.get(question_id)

    def by_message(self, channel: str, message_ts: str) -> Question | None:
        """The question asked by this message, if it was one."""
        return self._find("channel = ? AND message_ts = ?", [channel, message_ts])

    def record_failure(self, question_id: int, error: str) -> None:
        """Note that the bot could not reply (the question itself stays stored)."""
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE questions SET status = ?, error = ? WHERE id = ?",
                [QuestionStatus.FAILED.value, error[:500], question_id],
            )

    def shown_hits(self, question_id: int) -> list[ShownHit]:
        rows = self.store.query(
            "SELECT entry_id, score, tier, confidence FROM question_hits WHERE question_id = ? "
            "ORDER BY rank", [question_id],
        )
        return [ShownHit(r["entry_id"], r["score"], r["tier"], r["confidence"]) for r in rows]

    def record_feedback(
        self, question_id: int, user: str, verdict: Verdict, entry_id: int | None = None
    ) -> bool:
        """Store one verdict; False (and nothing changes) if this person already gave it."""
        now = format_time(self.store.clock())
        with self.store.transaction():
            question = self.get(question_id)
            cursor = self.store.db.execute(
                "INSERT INTO feedback(question_id, entry_id, user, verdict, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [question_id, entry_id or 0, user, verdict.value, now],
            )
            if cursor.rowcount != 1:
                return False
            self._apply_verdict(question, user, verdict, entry_id, now)
        return True

    def _apply_verdict(
        self, question: Question, user: str, verdict: Verdict, entry_id: int | None, now: str
    ) -> None:
        db = self.store.db
        counter = {Verdict.SOLVED: "helpful_count", Verdict.NOT_HELPFUL: "not_helpful_count"}
        if entry_id and verdict in counter:
            db.execute(
                f"UPDATE entries SET {counter[verdict]} = {counter[verdict]} + 1 WHERE id = ?",
                [entry_id],
            )
            # The asker's words become a phrasing of the entry (each person's verdict a vote).
            source = (PhrasingSource.SOLVED if verdict is Verdict.SOLVED
                      else PhrasingSource.NOT_HELPFUL)
            self.store.phrasings.learn(entry_id, question.text, user, source, question.id)
        if user != question.asker:
            return
        if verdict is Verdict.SOLVED:
            db.execute(
                "UPDATE questions SET status = 'solved', solved_at = coalesce(solved_at, ?) "
                "WHERE id = ?",
                [now, question.id],
            )
        elif verdict is Verdict.ASK_EXPERT and question.status is not QuestionStatus.SOLVED:
            db.execute(
                "UPDATE questions SET status = 'expert_requested' WHERE id = ?", [question.id]
            )

    def verdicts(self, question_id: int) -> list[tuple[int | None, str, Verdict]]:
        """(entry id, user, verdict) for every verdict given on a question, oldest first."""
        rows = self.store.query(
            "SELECT entry_id, user, verdict FROM feedback WHERE question_id = ? ORDER BY id",
            [question_id],
        )
        return [(r["entry_id"] or None, r["user"], Verdict(r["verdict"])) for r in rows]

    def _find(self, where: str, params: list[Any]) -> Question | None:
        rows = self.store.query(f"SELECT * FROM questions WHERE {where}", params)
        return _question(rows[0]) if rows else None


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _question(row: dict[str, Any]) -> Question:
    return Question(
        id=row["id"],
        asker=row["asker"],
        text=row["text"],
        source=QuestionSource(row["source"]),
        status=QuestionStatus(row["status"]),
        channel=row["channel"],
        channel_kind=row["channel_kind"],
        message_ts=row["message_ts"],
        thread_ts=row["thread_ts"],
        context=row["context"],
        created_at=parse_time(row["created_at"]),
        first_reply_at=_time(row["first_reply_at"]),
        solved_at=_time(row["solved_at"]),
        reply_channel=row["reply_channel"],
        reply_ts=row["reply_ts"],
        tier=row["tier"],
        best_entry_id=row["best_entry_id"],
        source_link=row["source_link"],
    )
