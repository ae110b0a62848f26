"""The knowledge store: the connection and its transactions, and the entries with their audit
log. Beside it, sharing its connection: `store.lexical` (BM25, knowledge/lexical.py),
`store.vector_cache` (knowledge/vector_cache.py), `store.changes` (the change log the
derived indexes follow, knowledge/change_log.py) and `store.phrasings` (other wordings of the
entries' questions, learned from people: knowledge/phrasings.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from knowledge.change_log import ChangeLog
from knowledge.database import Database, SQLiteDatabase, connect
from knowledge.errors import InvalidInput, NotFound
from knowledge.lexical import LexicalSearch
from knowledge.migrations import migrate
from knowledge.models import (
    Entry,
    EntryDraft,
    EntryKind,
    EntryStatus,
    Visibility,
    format_time,
    parse_time,
    utcnow,
)
from knowledge.phrasings import Phrasings
from knowledge.vector_cache import VectorCache

Clock = Callable[[], datetime]

# Columns an edit may change, beyond status (which has its own verbs).
EDITABLE = frozenset(
    {"question", "answer", "kind", "answered_by", "tags", "source_url", "visibility", "status"}
)


@dataclass
class UpsertResult:
    """What an upsert did, by entry id."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def written(self) -> list[int]:
        return self.created + self.updated


class Store:
    """All reads and writes of the knowledge base go through here.

    One connection (knowledge/database.py: a SQLite file, or PostgreSQL shared by several
    replicas) guarded by a lock, so the bot's worker threads can share it. Writes happen inside
    `transaction()`: one transaction that no other writer runs beside (`BEGIN IMMEDIATE` on
    SQLite, an advisory lock on PostgreSQL), so a failure leaves nothing half done and a
    read-check-write inside it holds across threads, processes and replicas.
    """

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock
        self.lock = threading.RLock()  # one connection, shared by the bot's worker threads
        self._depth = 0
        migrate(db)
        # SQLite's FTS5 table; on PostgreSQL lexical search is the tantivy index alone.
        self.lexical = LexicalSearch(self) if db.dialect == "sqlite" else None
        self.vector_cache = VectorCache(self)
        self.question_alone_cache = VectorCache(self, "entry_question_vectors")
        self.changes = ChangeLog(self)
        self.phrasings = Phrasings(self)

    @classmethod
    def open(cls, path: Path, clock: Clock = utcnow) -> Store:
        """Open (creating if needed) the database file at `path` and bring its schema up to date."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(SQLiteDatabase.open(str(path)), clock)

    @classmethod
    def connect(cls, url: str, clock: Clock = utcnow) -> Store:
        """Open the database at `url` (`postgresql://...`, or a SQLite file's path) and bring its
        schema up to date."""
        if not url.startswith(("postgresql://", "postgres://")):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return cls(connect(url), clock)

    @classmethod
    def in_memory(cls, clock: Clock = utcnow) -> Store:
        return cls(SQLiteDatabase.open(":memory:"), clock)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one transaction (re-entrant: inner blocks join the outer one)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.db.begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                self.db.rollback()
                raise
            finally:
                self._depth = 0
            self.db.commit()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query, as dicts."""
        with self.lock:
            return self.db.query(sql, params)

    # -- entries -----------------------------------------------------------------------------

    def add_entry(self, draft: EntryDraft, actor: str = "system") -> Entry:
        """Store a new entry and return it."""
        with self.transaction():
            entry_id = self._insert(draft, self.clock())
            entry = self.get_entry(entry_id)
            self._audit(entry_id, actor, "create", None, entry)
        return entry

    def upsert_entries(self, drafts: Iterable[EntryDraft], actor: str = "import") -> UpsertResult:
        """Create or update entries in one transaction (each change audited as `actor`).

        An entry with an external id updates the entry holding that id; one without is created,
        unless an entry with the very same question and answer exists already.
        """
        result = UpsertResult()
        now = self.clock()
        with self.transaction():
            for draft in drafts:
                existing = self._find_existing(draft)
                if existing is None:
                    entry_id = self._insert(draft, now)
                    result.created.append(entry_id)
                    self._audit(entry_id, actor, "create", None, self.get_entry(entry_id))
                elif self._differs(existing, draft):
                    self._update_from_draft(existing, draft, now)
                    result.updated.append(existing.id)
                    self._audit(existing.id, actor, "update", existing,
                                self.get_entry(existing.id))
                else:
                    result.unchanged.append(existing.id)
        return result

    def _audit(self, entry_id: int, actor: str, action: str, before: Entry | None,
               after: Entry | None, note: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO entry_audit (entry_id, actor, action, note, before, after, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [entry_id, actor, action, note, _snapshot(before), _snapshot(after),
             format_time(self.clock())],
        )

    def audit_log(self, entry_id: int | None = None, limit: int = 100) -> list[AuditRecord]:
        """Changes to one entry (or to all), newest first."""
        where, params = ("WHERE entry_id = ?", [entry_id]) if entry_id is not None else ("", [])
        rows = self.query(
            f"SELECT * FROM entry_audit {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [
            AuditRecord(r["entry_id"], r["actor"], r["action"], r["note"],
                        json.loads(r["before"]) if r["before"] else None,
                        json.loads(r["after"]) if r["after"] else None, parse_time(r["at"]))
            for r in rows
        ]

    def _find_existing(self, draft: EntryDraft) -> Entry | None:
        if draft.external_id is not None:
            rows = self.query("SELECT * FROM entries WHERE external_id = ?", [draft.external_id])
        else:
            rows = self.query(
                "SELECT * FROM entries WHERE question = ? AND answer = ? LIMIT 1",
                [draft.question, draft.answer],
            )
        return _entry(rows[0]) if rows else None

    @staticmethod
    def _differs(entry: Entry, draft: EntryDraft) -> bool:
        return (
            entry.question != draft.question
            or entry.answer != draft.answer
            or entry.kind is not draft.kind
            or entry.answered_by != draft.answered_by
            or entry.tags != draft.tags
            or entry.source_url != draft.source_url
            or entry.status is not draft.status
            or entry.visibility != draft.visibility
            or (draft.created_at is not None and entry.created_at != draft.created_at)
        )

    def _insert(self, draft: EntryDraft, now: datetime) -> int:
        _check_text(draft.question, draft.answer)
        cursor = self.db.execute(
            "INSERT INTO entries (external_id, question, answer, kind, answered_by, tags, "
            "source_url, status, visibility, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                draft.external_id,
                draft.question,
                draft.answer,
                draft.kind.value,
                draft.answered_by,
                json.dumps(list(draft.tags)),
                draft.source_url,
                draft.status.value,
                str(draft.visibility),
                format_time(draft.created_at or now),
                format_time(now),
            ],
        )
        return int(cursor.fetchone()[0])

    def _update_from_draft(self, entry: Entry, draft: EntryDraft, now: datetime) -> None:
        changes: dict[str, Any] = {
            "question": draft.question,
            "answer": draft.answer,
            "kind": draft.kind,
            "answered_by": draft.answered_by,
            "tags": draft.tags,
            "source_url": draft.source_url,
            "status": draft.status,
            "visibility": draft.visibility,
        }
        if draft.created_at is not None:
            self.db.execute(
                "UPDATE entries SET created_at = ? WHERE id = ?",
                [format_time(draft.created_at), entry.id],
            )
        self._write_changes(entry.id, changes, now)

    def update_entry(self, entry_id: int, *, actor: str = "system", action: str = "edit",
                     note: str | None = None, **changes: Any) -> Entry:
        """Change some of an entry's fields (see EDITABLE) and return the updated entry."""
        unknown = set(changes) - EDITABLE
        if unknown:
            raise InvalidInput(f"cannot edit {', '.join(sorted(unknown))}: not an entry field.")
        with self.transaction():
            current = self.get_entry(entry_id)
            merged = replace(current, **changes)
            _check_text(merged.question, merged.answer)
            self._write_changes(entry_id, changes, self.clock())
            updated = self.get_entry(entry_id)
            self._audit(entry_id, actor, action, current, updated, note)
        return updated

    def verify_entry(self, entry_id: int, by: str) -> Entry:
        """Stamp an entry as checked by `by`, now."""
        with self.transaction():
            current = self.get_entry(entry_id)
            now = format_time(self.clock())
            self.db.execute(
                "UPDATE entries SET verified_by = ?, verified_at = ?, updated_at = ? WHERE id = ?",
                [by, now, now, entry_id],
            )
            updated = self.get_entry(entry_id)
            self._audit(entry_id, by, "verify", current, updated)
        return updated

    def merge_entries(self, keep_id: int, fold_id: int, actor: str) -> Entry:
        """Fold `fold_id` into `keep_id`: counts added up, feedback and history moved over, its
        source kept as an extra link; the folded entry is retired and points at the kept one."""
        if keep_id == fold_id:
            raise InvalidInput("An entry cannot be merged into itself.")
        with self.transaction():
            keep, fold = self.get_entry(keep_id), self.get_entry(fold_id)
            links = [*keep.extra_links]
            for link in (fold.source_url, *fold.extra_links):
                if link and link != keep.source_url and link not in links:
                    links.append(link)
            tags = tuple(dict.fromkeys((*keep.tags, *fold.tags)))
            self.db.execute(
                "UPDATE entries SET usage_count = usage_count + ?, helpful_count = "
                "helpful_count + ?, not_helpful_count = not_helpful_count + ?, extra_links = ?, "
                "tags = ?, updated_at = ? WHERE id = ?",
                [fold.usage_count, fold.helpful_count, fold.not_helpful_count,
                 json.dumps(links), json.dumps(list(tags)), format_time(self.clock()), keep_id],
            )
            # A verdict one person gave both entries on one question counts once on the kept one.
            self.db.execute(
                "DELETE FROM feedback WHERE entry_id = ? AND EXISTS (SELECT 1 FROM feedback AS f "
                "WHERE f.entry_id = ? AND f.question_id = feedback.question_id "
                "AND f.user = feedback.user AND f.verdict = feedback.verdict)",
                [fold_id, keep_id])
            self.db.execute("UPDATE feedback SET entry_id = ? WHERE entry_id = ?",
                            [keep_id, fold_id])
            self.db.execute("UPDATE question_hits SET entry_id = ? WHERE entry_id = ?",
                            [keep_id, fold_id])
            self.db.execute("UPDATE questions SET best_entry_id = ? WHERE best_entry_id = ?",
                            [keep_id, fold_id])
            self._write_changes(fold_id, {"status": EntryStatus.RETIRED}, self.clock())
            self.db.execute("UPDATE entries SET merged_into = ? WHERE id = ?", [keep_id, fold_id])
            self.phrasings.carry_over(fold_id, keep_id, fold.question, actor)
            kept = self.get_entry(keep_id)
            self._audit(keep_id, actor, "merge", keep, kept, f"folded in #{fold_id}")
            self._audit(fold_id, actor, "merged", fold, self.get_entry(fold_id),
                        f"merged into #{keep_id}")
        return kept

    def _write_changes(self, entry_id: int, changes: dict[str, Any], now: datetime) -> None:
        columns = {name: _column_value(value) for name, value in changes.items()}
        columns["updated_at"] = format_time(now)
        assignments = ", ".join(f"{name} = ?" for name in columns)
        self.db.execute(
            f"UPDATE entries SET {assignments} WHERE id = ?", [*columns.values(), entry_id]
        )

    def set_status(self, entry_id: int, status: EntryStatus, actor: str = "system",
                   note: str | None = None) -> Entry:
        """Move an entry to `status` (publishing, retiring or restoring it)."""
        return self.update_entry(entry_id, status=status, actor=actor, action=status.value,
                                 note=note)

    def get_entry(self, entry_id: int) -> Entry:
        rows = self.query("SELECT * FROM entries WHERE id = ?", [entry_id])
        if not rows:
            raise NotFound(f"There is no entry #{entry_id}.")
        return _entry(rows[0])

    def get_entries(self, entry_ids: Iterable[int]) -> dict[int, Entry]:
        """The entries with these ids that exist, by id."""
        ids = list(dict.fromkeys(entry_ids))
        found: dict[int, Entry] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.query(f"SELECT * FROM entries WHERE id IN ({marks})", chunk):
                found[row["id"]] = _entry(row)
        return found

    def iter_entries(self, statuses: Iterable[EntryStatus] | None = None) -> Iterator[Entry]:
        """Every entry (optionally only those in `statuses`), oldest id first, in pages."""
        wanted = [s.value for s in statuses] if statuses is not None else None
        last = 0
        while True:
            where = "id > ?"
            params: list[Any] = [last]
            if wanted is not None:
                where += f" AND status IN ({','.join('?' * len(wanted))})"
                params += wanted
            page = self.query(f"SELECT * FROM entries WHERE {where} ORDER BY id LIMIT 1000", params)
            if not page:
                return
            for row in page:
                yield _entry(row)
            last = page[-1]["id"]

    def count_by_status(self) -> dict[EntryStatus, int]:
        counts = {status: 0 for status in EntryStatus}
        for row in self.query("SELECT status, count(*) AS n FROM entries GROUP BY status"):
            counts[EntryStatus(row["status"])] = row["n"]
        return counts

    def count_by_kind(self) -> dict[str, int]:
        rows = self.query("SELECT kind, count(*) AS n FROM entries GROUP BY kind ORDER BY kind")
        return {row["kind"]: row["n"] for row in rows}

    def searchable_ids(self) -> list[int]:
        return [r["id"] for r in self.query("SELECT id FROM entries WHERE status = 'published'")]


def _check_text(question: str, answer: str) -> None:
    if not question.strip():
        raise InvalidInput("The question is empty: every entry needs a question.")
    if not answer.strip():
        raise InvalidInput("The answer is empty: every entry needs an answer.")


def _column_value(value: Any) -> Any:
    if isinstance(value, (EntryKind, EntryStatus)):
        return value.value
    if isinstance(value, Visibility):
        return str(value)
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    return value


@dataclass(frozen=True)
class AuditRecord:
    entry_id: int
    actor: str
    action: str
    note: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


AUDITED = ("question", "answer", "kind", "answered_by", "tags", "source_url", "status",
           "visibility", "verified_by", "extra_links")


def _snapshot(entry: Entry | None) -> str | None:
    """The audited fields of an entry as JSON (enums and visibility as their text)."""
    if entry is None:
        return None
    values: dict[str, Any] = {}
    for name in AUDITED:
        value = getattr(entry, name)
        values[name] = list(value) if isinstance(value, tuple) else (
            value if value is None or isinstance(value, str) else str(value))
    values["verified_at"] = format_time(entry.verified_at) if entry.verified_at else None
    return json.dumps(values, ensure_ascii=False)


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        kind=EntryKind(row["kind"]),
        answered_by=row["answered_by"],
        tags=tuple(json.loads(row["tags"])),
        source_url=row["source_url"],
        status=EntryStatus(row["status"]),
        visibility=Visibility.parse(row["visibility"]),
        external_id=row["external_id"],
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        verified_by=row["verified_by"],
        verified_at=parse_time(row["verified_at"]) if row["verified_at"] else None,
        usage_count=row["usage_count"],
        helpful_count=row["helpful_count"],
        not_helpful_count=row["not_helpful_count"],
        merged_into=row.get("merged_into"),
        extra_links=tuple(json.loads(row.get("extra_links") or "[]")),
    )
