"""The stored embedding of each question that knowledge gaps look at.

A question is embedded at most once (again only if its text is edited), in the background, a
bounded number per pass; requests only read what is stored. Rows follow `entry_vectors`: the
vector is float32 bytes, `model` names the model that made it and `text_hash` the text (cut to
MAX_CHARS) it was made from; a row made by another model, from another text, or of another
dimension counts as missing and is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embedder import Embedder
from index.entry_index import text_hash
from index.gaps import MAX_CHARS, embed_in_small_batches
from knowledge.analytics import Unanswered
from knowledge.store import Store
from knowledge.text import storable
from knowledge.vector_cache import QuestionVectorCache


def embedded_text(question: str) -> str:
    """What is embedded for a question: its opening, made storable (lone surrogates)."""
    return storable(question[:MAX_CHARS])


class QuestionVectors:
    """Reads and fills `question_vectors` for one embedder."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.cache = QuestionVectorCache(store)
        self.embedder = embedder
        self.embedded = 0  # texts embedded so far by this object (for tests and benchmarks)

    def stored(self, questions: Sequence[Unanswered]) -> dict[int, np.ndarray]:
        """The current vectors of those questions that have one (made by this model, from
        their present text)."""
        wanted = {q.question_id: text_hash(embedded_text(q.text)) for q in questions}
        size = self.embedder.dimension * 4
        cached = self.cache.cached(wanted, self.embedder.model_name)
        return {qid: np.frombuffer(blob, dtype=np.float32)
                for qid, (digest, blob) in cached.items()
                if digest == wanted[qid] and len(blob) == size}

    def fill(self, questions: Sequence[Unanswered], limit: int) -> int:
        """Embed up to `limit` of these questions that have no current vector, newest first,
        and store them; returns how many were embedded."""
        have = self.stored(questions)
        missing = [q for q in reversed(questions) if q.question_id not in have][:limit]
        if not missing:
            return 0
        texts = [embedded_text(q.text) for q in missing]
        vectors = embed_in_small_batches(self.embedder, texts)
        self.cache.save(self.embedder.model_name, (
            (q.question_id, text_hash(text), np.asarray(v, np.float32).tobytes())
            for q, text, v in zip(missing, texts, vectors, strict=True)))
        self.embedded += len(missing)
        return len(missing)
