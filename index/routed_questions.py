"""Routed questions similar to a new one, from their stored vectors (`question_vectors`), so the
ranker can weigh how people responded to them (knowledge/outcomes.py).

A routed question's vector is the one the finder made when it ranked the question: kept in a
small memo by text until the question shows up in `routes`, then stored. A routed question with
no vector yet (routed before this existed, or by another process) is embedded here, at most
MAX_FILL per call, so a request never embeds a backlog.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from index.embedder import Embedder
from index.entry_index import text_hash
from knowledge.outcomes import Outcomes
from knowledge.questions import QuestionBook
from knowledge.store import Store
from knowledge.text import storable
from knowledge.vector_cache import QuestionVectorCache

MAX_FILL = 8  # routed questions embedded per call, at most
MEMO = 256  # vectors of recently ranked texts kept in memory


class RoutedQuestions:
    """The vectors of every routed question, kept in memory and refreshed as routing grows."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.cache = QuestionVectorCache(store)
        self.outcomes = Outcomes(store)
        self.questions = QuestionBook(store)
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, embedder.dimension), dtype=np.float32)
        self._known: dict[int, np.ndarray] = {}  # question id -> vector, as read or made
        self._lock = threading.Lock()

    def remember(self, text: str, vector: np.ndarray) -> None:
        """The vector the finder made for a question's text (stored once it is routed)."""
        with self._lock:
            self._memo[storable(text)] = np.asarray(vector, dtype=np.float32)
            self._memo.move_to_end(storable(text))
            while len(self._memo) > MEMO:
                self._memo.popitem(last=False)

    def similar(self, vector: np.ndarray, n: int,
                exclude: int | None = None) -> list[tuple[int, float]]:
        """The `n` routed questions most similar to `vector`: (question id, cosine), best
        first (`exclude`: a question's own id)."""
        ids, matrix = self._refresh()
        if not len(ids) or n <= 0:
            return []
        cosines = matrix @ np.asarray(vector, dtype=np.float32)
        if exclude is not None:
            cosines = np.where(ids == exclude, -np.inf, cosines)
        top = np.argsort(-cosines, kind="stable")[:n]
        return [(int(ids[i]), float(cosines[i])) for i in top if np.isfinite(cosines[i])]

    def vectors(self, fill: int | None = MAX_FILL) -> tuple[np.ndarray, np.ndarray]:
        """Every routed question's id (oldest first) and vector (rows); those without a vector
        are embedded, at most `fill` of them (None: all, for a refit off the request path)."""
        return self._refresh(fill)

    def _refresh(self, fill: int | None = MAX_FILL) -> tuple[np.ndarray, np.ndarray]:
        routed = self.outcomes.routed_question_ids()
        with self._lock:
            ids, matrix, known = self._ids, self._matrix, dict(self._known)
        if len(routed) == len(ids) and np.array_equal(ids, routed):
            return ids, matrix
        new = [qid for qid in routed if qid not in known]  # only these are read or embedded
        size = self.embedder.dimension
        known.update({qid: np.frombuffer(blob, dtype=np.float32)
                      for qid, (_, blob) in self.cache.cached(new, self.embedder.model_name)
                      .items() if len(blob) == size * 4})
        missing = [qid for qid in new if qid not in known]
        if missing:
            known.update(self._fill(missing, len(missing) if fill is None else fill))
        kept = [qid for qid in routed if qid in known]
        ids = np.array(kept, dtype=np.int64)
        matrix = (np.stack([known[q] for q in kept]) if kept
                  else np.zeros((0, size), dtype=np.float32))
        with self._lock:
            self._ids, self._matrix, self._known = ids, matrix, known
        return ids, matrix

    def _fill(self, missing: list[int], limit: int) -> dict[int, np.ndarray]:
        """Vectors for routed questions that have none: from the memo, else embedded (the
        newest `limit`); all stored."""
        found: dict[int, np.ndarray] = {}
        text_of: dict[int, str] = {}
        to_embed: list[int] = []
        for qid in reversed(missing):
            text_of[qid] = text = storable(self.questions.get(qid).full_text)
            with self._lock:
                memo = self._memo.get(text)
            if memo is not None:
                found[qid] = memo
            elif len(to_embed) < limit:
                to_embed.append(qid)
        if to_embed:
            vectors = self.embedder.embed([text_of[q] for q in to_embed])
            found.update(zip(to_embed, (np.asarray(v, np.float32) for v in vectors),
                             strict=True))
        if found:
            self.cache.save(self.embedder.model_name, (
                (qid, text_hash(text_of[qid]), vector.tobytes())
                for qid, vector in found.items()))
        return found
