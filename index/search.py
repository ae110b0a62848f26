"""Hybrid search: dense similarity and BM25, fused into one score with a confidence tier.

The fused score of an entry is its cosine similarity to the query plus a bounded lexical bonus:

    score = cosine + weight * bm25 / (bm25 + saturation)

Cosine carries meaning (paraphrases); the bonus rewards sharing the query's rarer words
(product names, error codes) without letting a long keyword-stuffed entry win on words alone.
The bonus saturates, so scores stay on one absolute scale across queries, and the tier
thresholds (calibrated in bench/retrieval.py) mean the same thing for every query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from index.embedder import Embedder
from index.entry_index import EntryIndex
from knowledge.errors import InvalidInput
from knowledge.models import Entry
from knowledge.store import Store

MAX_QUERY_CHARS = 4_000  # a question longer than this is cut (the model reads ~256 tokens)


class Tier(StrEnum):
    """How sure the search is that a hit answers the question."""

    ANSWER = "answer"  # confident enough to answer directly
    SUGGEST = "suggest"  # worth showing as "this might help"
    NONE = "none"  # not a useful match


@dataclass(frozen=True)
class Thresholds:
    """Fused-score cut-offs for the tiers (defaults calibrated in docs/benchmarks.md)."""

    answer: float = 0.76
    suggest: float = 0.55

    def __post_init__(self) -> None:
        if self.suggest > self.answer:
            raise InvalidInput(
                f"The suggest threshold ({self.suggest}) must not exceed the answer threshold "
                f"({self.answer})."
            )

    def tier(self, score: float) -> Tier:
        if score >= self.answer:
            return Tier.ANSWER
        if score >= self.suggest:
            return Tier.SUGGEST
        return Tier.NONE


@dataclass(frozen=True)
class Fusion:
    """How dense and lexical evidence are combined (see the module docstring)."""

    weight: float = 0.5
    saturation: float = 8.0

    def score(self, cosine: float, bm25: float) -> float:
        bm25 = max(bm25, 0.0)
        return cosine + self.weight * bm25 / (bm25 + self.saturation)


def fuse(
    dense: Mapping[int, float], lexical: Mapping[int, float], fusion: Fusion
) -> list[tuple[int, float]]:
    """Fused (id, score) for every id in either mapping, best first (ties: lower id first).

    An id missing from `lexical` shares none of the query's words (bonus 0); one missing from
    `dense` must have its cosine supplied by the caller, so it is scored as cosine 0.
    """
    ids = dense.keys() | lexical.keys()
    scored = [(i, fusion.score(dense.get(i, 0.0), lexical.get(i, 0.0))) for i in ids]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored


@dataclass(frozen=True)
class Hit:
    """One search result: the entry, its fused score, the evidence and the tier."""

    entry: Entry
    score: float
    cosine: float
    bm25: float
    tier: Tier


Visible = Callable[[Entry], bool]


class HybridSearch:
    """Answers a question with the best published entries, scored and tiered."""

    def __init__(
        self,
        store: Store,
        entries: EntryIndex,
        embedder: Embedder,
        thresholds: Thresholds | None = None,
        fusion: Fusion | None = None,
        candidates: int = 50,
    ) -> None:
        self.store = store
        self.entries = entries
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds()
        self.fusion = fusion or Fusion()
        self.candidates = candidates

    def search(self, query: str, k: int = 5, visible: Visible | None = None) -> list[Hit]:
        """The top `k` hits for `query` that `visible` allows (all published ones by default)."""
        text = query.strip()[:MAX_QUERY_CHARS]
        if not text:
            raise InvalidInput("The question is empty: type what you want to know.")
        if k <= 0:
            raise InvalidInput(f"k must be at least 1 (got {k}).")
        self.entries.sync()
        vector = self.embedder.embed([text])[0]
        return self.rank(text, vector, k, visible)

    def rank(
        self, text: str, vector: np.ndarray, k: int, visible: Visible | None = None
    ) -> list[Hit]:
        """Rank with an already-embedded query (lets callers embed a batch at once)."""
        pool = max(self.candidates, 4 * k)
        dense = dict(self.entries.nearest(vector, pool))
        lexical = dict(self.store.lexical.search(text, pool))
        missing = lexical.keys() - dense.keys()
        if missing:
            dense.update(self.entries.similarity(vector, missing))
        ranked = fuse(dense, lexical, self.fusion)
        hits: list[Hit] = []
        batch = max(2 * k, 10)  # usually the first batch holds all k; filters may need more
        for start in range(0, len(ranked), batch):
            chunk = ranked[start : start + batch]
            entries = self.store.get_entries(i for i, _ in chunk)
            for entry_id, score in chunk:
                entry = entries.get(entry_id)
                if entry is None or not entry.is_searchable or (visible and not visible(entry)):
                    continue
                tier = self.thresholds.tier(score)
                hits.append(
                    Hit(
                        entry,
                        score,
                        dense.get(entry_id, 0.0),
                        lexical.get(entry_id, 0.0),
                        tier,
                    )
                )
                if len(hits) == k:
                    return hits
        return hits
