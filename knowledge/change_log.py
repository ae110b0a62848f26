"""The change log the derived indexes replay: every write that can change what is searchable
appends the entry id in the same transaction (triggers of migration 0002). An index saved at
sequence N is brought up to date by replaying the entries changed after N; the log is pruned
once every index has saved past a point."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from knowledge.models import format_time

if TYPE_CHECKING:
    from knowledge.store import Store


# A follower not seen for this long no longer holds the log back (it rebuilds when it returns).
FOLLOWER_TIMEOUT = timedelta(days=7)


class ChangesPruned(Exception):
    """The change log no longer holds changes that far back; reload the saved index instead."""


class ChangeLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def cursor(self) -> int:
        """The sequence number of the latest change that can affect search (0: none yet)."""
        # The newest row, or (the log pruned empty) how far it was pruned. Writers are serialized
        # (knowledge/database.py), so sequence numbers become visible in the order given.
        rows = self.store.query("SELECT max(seq) AS seq FROM index_changes")
        newest = rows[0]["seq"]
        return max(int(newest), self._pruned_through()) if newest is not None else (
            self._pruned_through())

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

    def prune(self, through: int, follower: str | None = None) -> int:
        """Forget changes up to `through` (an index saved at that cursor no longer needs them);
        return how far the log is now pruned.

        `follower` names the indexes saying so (one replica's): it is remembered with `through`,
        and no change another follower seen within FOLLOWER_TIMEOUT still needs is forgotten.
        """
        now = self.store.clock()
        with self.store.transaction():
            if follower is not None:
                self.store.db.execute(
                    "INSERT INTO change_followers (follower, cursor, seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (follower) DO UPDATE SET cursor = excluded.cursor, "
                    "seen_at = excluded.seen_at", [follower, through, format_time(now)])
            [slowest] = self.store.query(
                "SELECT min(cursor) AS cursor FROM change_followers "
                "WHERE seen_at >= ? AND follower != ?",
                [format_time(now - FOLLOWER_TIMEOUT), follower or ""])
            if slowest["cursor"] is not None:
                through = min(through, int(slowest["cursor"]))
            if through <= self._pruned_through():
                return self._pruned_through()
            self.store.db.execute("DELETE FROM index_changes WHERE seq <= ?", [through])
            self.store.db.execute(
                "INSERT INTO meta(key, value) VALUES ('changes_pruned_through', ?) "
                "ON CONFLICT(key) DO UPDATE SET "
                "value = CASE WHEN CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER) "
                "THEN excluded.value ELSE meta.value END",
                [str(through)],
            )
        return through

    def followers(self) -> list[dict[str, object]]:
        """The indexes following the log: name, saved cursor, last seen."""
        return self.store.query(
            "SELECT follower, cursor, seen_at FROM change_followers ORDER BY follower")

    def pruned_through(self) -> int:
        """Changes up to here are forgotten: an index saved before it must be rebuilt."""
        return self._pruned_through()

    def database_id(self) -> str:
        """A random id made when the database was created, so an index can tell it belongs here."""
        with self.store.transaction():
            self.store.db.execute(
                "INSERT INTO meta(key, value) VALUES ('database_id', ?) ON CONFLICT DO NOTHING",
                [uuid.uuid4().hex],
            )
        return self.store.query("SELECT value FROM meta WHERE key = 'database_id'")[0]["value"]

    def _pruned_through(self) -> int:
        rows = self.store.query("SELECT value FROM meta WHERE key = 'changes_pruned_through'")
        return int(rows[0]["value"]) if rows else 0
