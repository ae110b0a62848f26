"""The change log the derived indexes replay: every write that can change what is searchable
appends the entry id in the same transaction (triggers of migration 0002). An index saved at
sequence N is brought up to date by replaying the entries changed after N; the log is pruned
once every index has saved past a point."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.store import Store


class ChangesPruned(Exception):
    """The change log no longer holds changes that far back; reload the saved index instead."""


class ChangeLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def cursor(self) -> int:
        """The sequence number of the latest change that can affect search (0: none yet)."""
        rows = self.store.query("SELECT seq FROM sqlite_sequence WHERE name = 'index_changes'")
        return int(rows[0]["seq"]) if rows else 0

    def since(self, cursor: int) -> tuple[set[int], int]:
        """Ids of entries changed after `cursor`, and the cursor that covers them.

        Raises ChangesPruned when the log was pruned past `cursor`.
        """
        with self.store.lock:
            if cursor < self._pruned_through():
                raise ChangesPruned(cursor)
            rows = self.store.query(
                "SELECT seq, entry_id FROM index_changes WHERE seq > ? ORDER BY seq", [cursor]
            )
        if not rows:
            return set(), max(cursor, self.cursor())
        return {r["entry_id"] for r in rows}, rows[-1]["seq"]

    def prune(self, through: int) -> None:
        """Forget changes up to `through` (an index saved at that cursor no longer needs them)."""
        with self.store.transaction():
            self.store.db.execute("DELETE FROM index_changes WHERE seq <= ?", [through])
            self.store.db.execute(
                "INSERT INTO meta(key, value) VALUES ('changes_pruned_through', ?) "
                "ON CONFLICT(key) DO UPDATE SET "
                "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                [str(through)],
            )

    def database_id(self) -> str:
        """A random id made when the database was created, so an index can tell it belongs here."""
        with self.store.transaction():
            self.store.db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('database_id', ?)",
                [uuid.uuid4().hex],
            )
        return self.store.query("SELECT value FROM meta WHERE key = 'database_id'")[0]["value"]

    def _pruned_through(self) -> int:
        rows = self.store.query("SELECT value FROM meta WHERE key = 'changes_pruned_through'")
        return int(rows[0]["value"]) if rows else 0
