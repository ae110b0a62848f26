"""Curation: what admins do to keep the knowledge right. Every change goes through the store,
which audits it (who, when, before and after) in the same transaction.

Who is an admin is decided by the caller (the bot checks Slack ids and user groups on every
request); these operations take the acting person's id for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from knowledge.errors import InvalidInput
from knowledge.models import Entry, EntryStatus, Visibility, format_time
from knowledge.store import Store


@dataclass(frozen=True)
class ReviewItem:
    entry: Entry
    asked: int  # questions it came from or was shown for


@dataclass(frozen=True)
class StaleEntry:
    entry: Entry
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class StalenessRules:
    reverify_days: int = 180  # published entries older than this (unverified since) are stale
    min_votes: int = 3  # ... and so are entries with at least this many votes
    not_helpful_share: float = 0.5  # ... of which at least this share said "not helpful"


class Curator:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- the review queue ----------------------------------------------------------------------
    def review_queue(self, limit: int = 20) -> list[ReviewItem]:
        """Entries waiting for review, most asked first, then newest."""
        rows = self.store.query(
            "SELECT e.id, (SELECT count(*) FROM question_hits h WHERE h.entry_id = e.id) + "
            "(SELECT count(*) FROM questions q WHERE q.captured_entry_id = e.id) AS asked "
            "FROM entries e WHERE e.status = ? ORDER BY asked DESC, e.created_at DESC, e.id DESC "
            "LIMIT ?",
            [EntryStatus.PENDING_REVIEW.value, limit],
        )
        entries = self.store.get_entries(r["id"] for r in rows)
        return [ReviewItem(entries[r["id"]], r["asked"]) for r in rows if r["id"] in entries]

    def pending_count(self) -> int:
        return self.store.count_by_status()[EntryStatus.PENDING_REVIEW]

    def approve(self, entry_id: int, admin: str, *, question: str | None = None,
                answer: str | None = None, tags: tuple[str, ...] | None = None) -> Entry:
        """Publish a reviewed entry (with the admin's edits, if any)."""
        entry = self.store.get_entry(entry_id)
        if entry.status is not EntryStatus.PENDING_REVIEW:
            raise InvalidInput(f"Entry #{entry_id} is not waiting for review "
                               f"(it is {entry.status.value}).")
        changes = _edits(entry, question, answer, tags, None)
        if changes:
            self.store.update_entry(entry_id, actor=admin, action="edit", **changes)
        return self.store.update_entry(entry_id, actor=admin, action="approve",
                                       status=EntryStatus.PUBLISHED)

    def reject(self, entry_id: int, admin: str, reason: str) -> Entry:
        entry = self.store.get_entry(entry_id)
        if entry.status is not EntryStatus.PENDING_REVIEW:
            raise InvalidInput(f"Entry #{entry_id} is not waiting for review.")
        reason = reason.strip()
        if not reason:
            raise InvalidInput("Say why it is rejected: the expert will be told.")
        return self.store.update_entry(entry_id, actor=admin, action="reject", note=reason,
                                       status=EntryStatus.RETIRED)

    # -- any entry -----------------------------------------------------------------------------
    def edit(self, entry_id: int, admin: str, *, question: str | None = None,
             answer: str | None = None, tags: tuple[str, ...] | None = None,
             visibility: str | None = None) -> Entry:
        entry = self.store.get_entry(entry_id)
        changes = _edits(entry, question, answer, tags, visibility)
        if not changes:
            return entry
        return self.store.update_entry(entry_id, actor=admin, action="edit", **changes)

    def retire(self, entry_id: int, admin: str, reason: str | None = None) -> Entry:
        return self.store.update_entry(entry_id, actor=admin, action="retire", note=reason,
                                       status=EntryStatus.RETIRED)

    def restore(self, entry_id: int, admin: str) -> Entry:
        entry = self.store.get_entry(entry_id)
        if entry.merged_into is not None:
            raise InvalidInput(f"Entry #{entry_id} was merged into #{entry.merged_into}: edit "
                               "that one instead.")
        return self.store.update_entry(entry_id, actor=admin, action="restore",
                                       status=EntryStatus.PUBLISHED)

    def verify(self, entry_id: int, admin: str) -> Entry:
        return self.store.verify_entry(entry_id, admin)

    def merge(self, keep_id: int, fold_id: int, admin: str) -> Entry:
        return self.store.merge_entries(keep_id, fold_id, admin)

    def find(self, query: str, limit: int = 8) -> list[Entry]:
        """Entries in any status by "#id" or by words of their question, newest first."""
        query = query.strip()
        if query.lstrip("#").isdigit():
            return list(self.store.get_entries([int(query.lstrip("#"))]).values())
        words = [w for w in query.split() if len(w) > 2][:6]
        if not words:
            return []
        # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        where = " AND ".join("lower(question) LIKE lower(?) ESCAPE '\\'" for _ in words)
        rows = self.store.query(
            f"SELECT id FROM entries WHERE {where} ORDER BY id DESC LIMIT ?",
            [*(f"%{_like(w)}%" for w in words), limit],
        )
        found = self.store.get_entries(r["id"] for r in rows)
        return [found[r["id"]] for r in rows if r["id"] in found]

    # -- staleness -----------------------------------------------------------------------------
    def stale(self, rules: StalenessRules | None = None, now: datetime | None = None,
              limit: int = 50) -> list[StaleEntry]:
        """Published entries that need a look: not checked for a long time, or often unhelpful."""
        rules = rules or StalenessRules()
        now = now or self.store.clock()
        cutoff = format_time(now - timedelta(days=rules.reverify_days))
        rows = self.store.query(
            "SELECT id FROM entries WHERE status = 'published' AND ("
            "coalesce(verified_at, created_at) < ? OR (helpful_count + not_helpful_count >= ? "
            "AND not_helpful_count >= ? * (helpful_count + not_helpful_count))) "
            "ORDER BY not_helpful_count DESC, coalesce(verified_at, created_at) LIMIT ?",
            [cutoff, rules.min_votes, rules.not_helpful_share, limit],
        )
        found = self.store.get_entries(r["id"] for r in rows)
        out = []
        for row in rows:
            entry = found[row["id"]]
            reasons = []
            checked = entry.verified_at or entry.created_at
            if format_time(checked) < cutoff:
                days = (now - checked).days
                what = "verified" if entry.verified_at else "written"
                reasons.append(f"{what} {days} days ago")
            votes = entry.helpful_count + entry.not_helpful_count
            unhelpful = entry.not_helpful_count >= rules.not_helpful_share * votes
            if votes >= rules.min_votes and unhelpful:
                reasons.append(f"{entry.not_helpful_count} of {votes} said not helpful")
            out.append(StaleEntry(entry, tuple(reasons)))
        return out

    def nudge_due(self, entry_id: int, user: str, every_days: int = 7) -> bool:
        """Claim a nudge to `user` about an entry: False if they were nudged recently."""
        now = self.store.clock()
        with self.store.transaction():
            recent = self.store.query(
                "SELECT 1 FROM nudges WHERE entry_id = ? AND user = ? AND at >= ?",
                [entry_id, user, format_time(now - timedelta(days=every_days))],
            )
            if recent:
                return False
            self.store.db.execute("INSERT INTO nudges (entry_id, user, at) VALUES (?, ?, ?)",
                                  [entry_id, user, format_time(now)])
        return True

    # -- people --------------------------------------------------------------------------------
    def answers_by(self, user: str) -> int:
        """How many entries someone answered (any status)."""
        rows = self.store.query("SELECT count(*) AS n FROM entries WHERE answered_by = ?", [user])
        return int(rows[0]["n"])

    def people_helped(self, user: str) -> int:
        """How many times someone's answers were marked as solving a question."""
        rows = self.store.query(
            "SELECT coalesce(sum(helpful_count), 0) AS n FROM entries WHERE answered_by = ?",
            [user],
        )
        return int(rows[0]["n"])


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _edits(entry: Entry, question: str | None, answer: str | None,
           tags: tuple[str, ...] | None, visibility: str | None) -> dict:
    changes: dict = {}
    if question is not None and question.strip() != entry.question:
        changes["question"] = question.strip()
    if answer is not None and answer.strip() != entry.answer:
        changes["answer"] = answer.strip()
    if tags is not None:
        clean = tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))
        if clean != entry.tags:
            changes["tags"] = clean
    if visibility is not None:
        parsed = Visibility.parse(visibility)
        if parsed != entry.visibility:
            changes["visibility"] = parsed
    return changes
