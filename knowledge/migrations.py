"""Named, ordered schema migrations. Each runs once, in its own transaction, and is recorded.

Migrations use plain SQL: sqlite-utils' table helpers commit on their own, which would split a
migration in two if it failed half way.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Database], None]


def _entries(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            external_id TEXT UNIQUE,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            kind TEXT NOT NULL,
            answered_by TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            source_url TEXT,
            status TEXT NOT NULL,
            visibility TEXT NOT NULL DEFAULT 'public',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            verified_by TEXT,
            verified_at TEXT,
            usage_count INTEGER NOT NULL DEFAULT 0,
            helpful_count INTEGER NOT NULL DEFAULT 0,
            not_helpful_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX entries_status ON entries(status)")
    db.execute("CREATE INDEX entries_answered_by ON entries(answered_by)")
    # BM25 over question, answer and tags, kept in step with `entries` by triggers (the same
    # shape sqlite-utils' enable_fts makes, written out so the migration stays one transaction).
    db.execute(
        "CREATE VIRTUAL TABLE entries_fts USING fts5(question, answer, tags, "
        "content=entries, content_rowid=id, tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER entries_fts_ai AFTER INSERT ON entries BEGIN "
        "INSERT INTO entries_fts(rowid, question, answer, tags) "
        "VALUES (new.id, new.question, new.answer, new.tags); END"
    )
    db.execute(
        "CREATE TRIGGER entries_fts_ad AFTER DELETE ON entries BEGIN "
        "INSERT INTO entries_fts(entries_fts, rowid, question, answer, tags) "
        "VALUES ('delete', old.id, old.question, old.answer, old.tags); END"
    )
    db.execute(
        "CREATE TRIGGER entries_fts_au AFTER UPDATE OF question, answer, tags ON entries BEGIN "
        "INSERT INTO entries_fts(entries_fts, rowid, question, answer, tags) "
        "VALUES ('delete', old.id, old.question, old.answer, old.tags); "
        "INSERT INTO entries_fts(rowid, question, answer, tags) "
        "VALUES (new.id, new.question, new.answer, new.tags); END"
    )


def _index_changes(db: Database) -> None:
    # A change log the vector index replays: every write that can change what is searchable
    # appends the entry id, in the same transaction as the write itself. An index saved at
    # sequence N is brought up to date by replaying the entries changed after N.
    db.execute(
        "CREATE TABLE index_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "entry_id INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TRIGGER entries_changed_ai AFTER INSERT ON entries BEGIN "
        "INSERT INTO index_changes(entry_id) VALUES (new.id); END"
    )
    db.execute(
        "CREATE TRIGGER entries_changed_au AFTER UPDATE OF question, answer, status ON entries "
        "BEGIN INSERT INTO index_changes(entry_id) VALUES (new.id); END"
    )
    db.execute(
        "CREATE TRIGGER entries_changed_ad AFTER DELETE ON entries BEGIN "
        "INSERT INTO index_changes(entry_id) VALUES (old.id); END"
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _entry_vectors(db: Database) -> None:
    # The embedding of each entry's text, so that a rebuild of the vector index, routing and
    # duplicate detection never re-embed what has not changed. `text_hash` says which text
    # the vector was made from; `model` which model made it.
    db.execute(
        """
        CREATE TABLE entry_vectors (
            entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            vector BLOB NOT NULL
        )
        """
    )


MIGRATIONS: list[Migration] = [
    Migration("0001_entries", _entries),
    Migration("0002_index_changes", _index_changes),
    Migration("0003_entry_vectors", _entry_vectors),
]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL "
        "DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for migration in migrations if migrations is not None else MIGRATIONS:
        if migration.name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(db)
            db.execute("INSERT INTO _migrations(name) VALUES (?)", [migration.name])
        except BaseException:
            db.conn.rollback()
            raise
        db.conn.commit()
        applied.append(migration.name)
    return applied
