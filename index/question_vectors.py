"""The stored embedding of each question that knowledge gaps look at.

A question is embedded at most once (again only if its text is edited), in the background, a
bounded number per pass; requests only read what is stored. Rows follow `entry_vectors`: the
vector is float32 bytes, `model` names the model that made it and `text_hash` the text (cut to
MAX_CHARS) it was made from; a row made by another model, from another text, or of another
dimension counts as missing and is replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from index.embedder import Embedder
from index.gaps import MAX_CHARS, embed_in_small_batches
from knowledge.analytics import Unanswered
from knowledge.store import Store

CHUNK = 500  # ids per SQL statement


def embedded_text(question: str) -> str:
    """What is embedded for a question: its opening, any lone surrogate replaced by "?"."""
    return question[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8")


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class QuestionVectors:
    """Reads and fills `question_vectors` for one embedder."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.embedded = 0  # texts embedded so far by this object (for tests and benchmarks)

    def stored(self, questions: Sequence[Unanswered]) -> dict[int, np.ndarray]:
        """The current vectors of those questions that have one (made by this model, from
        their present text)."""
        wanted = {q.question_id: text_hash(embedded_text(q.text)) for q in questions}
        ids = list(wanted)
        found: dict[int, np.ndarray] = {}
        size = self.embedder.dimension * 4
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            rows = self.store.query(
                "SELECT question_id, text_hash, vector FROM question_vectors WHERE model = ? "
                f"AND question_id IN ({','.join('?' * len(chunk))})",
                [self.embedder.model_name, *chunk],
            )
            for row in rows:
                if row["text_hash"] == wanted[row["question_id"]] and len(row["vector"]) == size:
                    found[row["question_id"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return found

    def fill(self, questions: Sequence[Unanswered], limit: int) -> int:
        """Embed up to `limit` of these questions that have no current vector, newest first,
        and store them; returns how many were embedded."""
        have = self.stored(questions)
        missing = [q for q in reversed(questions) if q.question_id not in have][:limit]
        if not missing:
            return 0
        texts = [embedded_text(q.text) for q in missing]
        vectors = embed_in_small_batches(self.embedder, texts)
        model = self.embedder.model_name
        with self.store.transaction():
            self.store.db.conn.executemany(
                "INSERT OR REPLACE INTO question_vectors(question_id, model, text_hash, vector) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions WHERE id = ?)",
                [(q.question_id, model, text_hash(text), np.asarray(v, np.float32).tobytes(),
                  q.question_id) for q, text, v in zip(missing, texts, vectors, strict=True)],
            )
        self.embedded += len(missing)
        return len(missing)
