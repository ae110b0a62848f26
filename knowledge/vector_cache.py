"""Embeddings cached in the database: each entry's (so that a rebuild of the vector index,
routing and duplicate detection never re-embed what has not changed) and each question's that
knowledge gaps look at (embedded once, in the background). Rows say which model made the vector
and from which text (a hash)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.store import Store


class VectorCache:
    """The entries' embeddings: of the text the index searches (`entry_vectors`), or of the
    question alone (`entry_question_vectors`, read by search as confidence evidence)."""

    TABLES = ("entry_vectors", "entry_question_vectors")

    def __init__(self, store: Store, table: str = "entry_vectors") -> None:
        if table not in self.TABLES:
            raise ValueError(f"not an entry vector table: {table}")
        self.store = store
        self.table = table

    def cached(self, entry_ids: Iterable[int], model: str) -> dict[int, tuple[str, bytes]]:
        """The cached (text hash, vector bytes) of these entries made by `model`."""
        return {row[0]: (row[1], bytes(row[2]))
                for row in self._rows("entry_id, text_hash, vector", entry_ids, model)}

    def blobs(self, entry_ids: Iterable[int], model: str) -> list[tuple[int, bytes]]:
        """(entry id, vector bytes) of these entries made by `model`: `cached` without the
        hashes (search reads a few dozen of these per question)."""
        return [(row[0], bytes(row[1]))
                for row in self._rows("entry_id, vector", entry_ids, model)]

    def _rows(self, columns: str, entry_ids: Iterable[int], model: str) -> list[tuple]:
        """Plain rows of `columns` for these entries made by `model`, 500 ids a query."""
        ids = list(entry_ids)
        found: list[tuple] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with self.store.lock:
                found += self.store.db.execute(
                    f"SELECT {columns} FROM {self.table} "
                    f"WHERE model = ? AND entry_id IN ({','.join('?' * len(chunk))})",
                    [model, *chunk],
                ).fetchall()
        return found

    def save(self, model: str, rows: Iterable[tuple[int, str, bytes]]) -> None:
        """Cache (entry id, text hash, vector bytes) rows made by `model`."""
        with self.store.transaction():
            self.store.db.executemany(
                f"INSERT INTO {self.table}(entry_id, model, text_hash, vector) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (entry_id) DO UPDATE SET "
                "model = excluded.model, text_hash = excluded.text_hash, vector = excluded.vector",
                [(entry_id, model, text_hash, blob) for entry_id, text_hash, blob in rows],
            )

    def clear(self) -> None:
        """Forget every cached embedding (the next rebuild re-embeds everything)."""
        with self.store.transaction():
            self.store.db.execute(f"DELETE FROM {self.table}")


class QuestionVectorCache:
    """The embedding of each question that knowledge gaps look at (`question_vectors`), keyed
    like the entries' cache: which model made it, and from which text (a hash)."""

    CHUNK = 500  # ids per SQL statement

    def __init__(self, store: Store) -> None:
        self.store = store

    def cached(self, question_ids: Iterable[int], model: str) -> dict[int, tuple[str, bytes]]:
        """The cached (text hash, vector bytes) of these questions made by `model`."""
        ids = list(question_ids)
        found: dict[int, tuple[str, bytes]] = {}
        for start in range(0, len(ids), self.CHUNK):
            chunk = ids[start:start + self.CHUNK]
            rows = self.store.query(
                "SELECT question_id, text_hash, vector FROM question_vectors WHERE model = ? "
                f"AND question_id IN ({','.join('?' * len(chunk))})", [model, *chunk])
            found.update({r["question_id"]: (r["text_hash"], r["vector"]) for r in rows})
        return found

    def save(self, model: str, rows: Iterable[tuple[int, str, bytes]]) -> None:
        """Cache (question id, text hash, vector bytes) rows made by `model` (a question deleted
        meanwhile is skipped)."""
        with self.store.transaction():
            self.store.db.executemany(
                "INSERT INTO question_vectors(question_id, model, text_hash, vector) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions WHERE id = ?) "
                "ON CONFLICT (question_id) DO UPDATE SET model = excluded.model, "
                "text_hash = excluded.text_hash, vector = excluded.vector",
                [(qid, model, digest, blob, qid) for qid, digest, blob in rows])

