"""The embedding of each entry's text, cached in the database, so that a rebuild of the vector
index, routing and duplicate detection never re-embed what has not changed. Rows say which
model made the vector and from which text (a hash)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.store import Store


class VectorCache:
    def __init__(self, store: Store) -> None:
        self.store = store

    def cached(self, entry_ids: Iterable[int], model: str) -> dict[int, tuple[str, bytes]]:
        """The cached (text hash, vector bytes) of these entries made by `model`."""
        ids = list(entry_ids)
        found: dict[int, tuple[str, bytes]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.store.query(
                "SELECT entry_id, text_hash, vector FROM entry_vectors "
                f"WHERE model = ? AND entry_id IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            )
            found.update({r["entry_id"]: (r["text_hash"], r["vector"]) for r in rows})
        return found

    def save(self, model: str, rows: Iterable[tuple[int, str, bytes]]) -> None:
        """Cache (entry id, text hash, vector bytes) rows made by `model`."""
        with self.store.transaction():
            self.store.db.conn.executemany(
                "INSERT OR REPLACE INTO entry_vectors(entry_id, model, text_hash, vector) "
                "VALUES (?, ?, ?, ?)",
                [(entry_id, model, text_hash, blob) for entry_id, text_hash, blob in rows],
            )

    def clear(self) -> None:
        """Forget every cached embedding (the next rebuild re-embeds everything)."""
        with self.store.transaction():
            self.store.db.execute("DELETE FROM entry_vectors")
