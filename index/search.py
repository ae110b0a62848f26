"""Hybrid search: dense similarity and BM25, fused into one score with a confidence tier.

The fused score of an entry is its cosine similarity to the query plus a bounded lexical bonus:

    score = cosine + weight * bm25 / (bm25 + saturation)

Every entry has two vectors: its question with the opening of its answer (what the vector index
searches) and its question alone (kept in the database). Its cosine is the better of the two: a
question asked the entry's own way matches the question alone best, one that describes the
problem matches the whole entry. (Out of fold on held-out FAQs this gains about half a point to
a point of P@1 and keeps the Qatar Living MAP; bench/retrieval_cv.py, "hybrid, max".)

Cosine carries meaning (paraphrases); the bonus rewards sharing the query's rarer words
(product names, error codes) without letting a long keyword-stuffed entry win on words alone.
The bonus saturates, so scores stay on one absolute scale across queries. The weight and
saturation were confirmed out of fold (bench/retrieval_cv.py: held-out FAQs, held-out Qatar
Living questions, and chosen on one data set, scored on the other).

Each hit also gets a confidence (index/confidence.py): the calibrated probability that it answers
the question, from its scores, its margin over the best other entry and whether dense and
lexical search agree on it. The tier is a cut-off on that confidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from index.confidence import ANSWER_AT, DEFAULT, SUGGEST_AT, Calibration, Evidence
from index.embedder import Embedder
from index.entry_index import EntryIndex
from index.lexical_index import KeywordSearch, LexicalIndex
from knowledge.errors import InvalidInput
from knowledge.models import Entry
from knowledge.phrasings import Signal
from knowledge.store import Store

MAX_QUERY_CHARS = 4_000  # a question longer than this is cut (the model reads ~256 tokens)
QUESTION_ALONE_POOL = 20  # leading candidates whose question-alone cosine is read


class Tier(StrEnum):
    """How sure the search is that a hit answers the question."""

    ANSWER = "answer"  # confident enough to answer directly
    SUGGEST = "suggest"  # worth showing as "this might help"
    NONE = "none"  # not a useful match


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs for the tiers (defaults chosen out of fold, index/confidence.py)."""

    answer: float = ANSWER_AT
    suggest: float = SUGGEST_AT

    def __post_init__(self) -> None:
        if self.suggest > self.answer:
            raise InvalidInput(
                f"The suggest threshold ({self.suggest}) must not exceed the answer threshold "
                f"({self.answer})."
            )

    def tier(self, confidence: float) -> Tier:
        if confidence >= self.answer:
            return Tier.ANSWER
        if confidence >= self.suggest:
            return Tier.SUGGEST
        return Tier.NONE


@dataclass(frozen=True)
class Fusion:
    """How dense and lexical evidence are combined (see the module docstring)."""

    weight: float = 0.5
    saturation: float = 8.0

    def bonus(self, bm25: float) -> float:
        """The lexical evidence, 0..1 (saturating in BM25)."""
        bm25 = max(bm25, 0.0)
        return bm25 / (bm25 + self.saturation)

    def score(self, cosine: float, bm25: float) -> float:
        return cosine + self.weight * self.bonus(bm25)


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
class Learning:
    """How phrasings learned from people move an entry (chosen out of fold, bench/learning.py).

    A positive phrasing at cosine c to the query, confirmed by n people, pulls the entry's own
    cosine e towards it: e + trust(n) * (c - e), trust(n) = n / (n + caution), when that is
    higher. So one person's wording moves an entry part of the way, and a wording far from the
    entry's own text (a likely mistake) moves it less in absolute terms than one close to it.
    A negative ("not helpful") phrasing lowers the entry's cosine by
    push * n / (n + 1) * (c - near) / (1 - near) when c > near: only for wordings close to the
    one that was not helped, one person's verdict at half strength.

    A query at cosine `echo` or more to a phrasing is that same question asked again (case,
    punctuation, a word): the verdict was given on it, so the phrasing counts in full.
    """

    caution: float = 4.0  # chosen out of fold, pooled over 0% and 10% wrong verdicts
    push: float = 0.6
    near: float = 0.75
    echo: float = 0.97

    def trust(self, votes: int, cosine: float = 0.0) -> float:
        if cosine >= self.echo:
            return 1.0
        votes = max(votes, 1)
        return votes / (votes + self.caution)

    def stand_in(self, cosine: float, own: float, votes: int) -> float:
        return own + self.trust(votes, cosine) * (cosine - own)

    def penalty(self, cosine: float, votes: int) -> float:
        if cosine <= self.near:
            return 0.0
        votes = max(votes, 1)
        return self.push * votes / (votes + 1) * (cosine - self.near) / (1.0 - self.near)


@dataclass(frozen=True)
class Gathered:
    """The raw evidence for one query: the entries' own cosines, BM25, and the nearest
    phrasings with what they say (before any Learning is applied)."""

    vector: np.ndarray
    dense: dict[int, float]  # the better of each entry's two cosines (question + answer, alone)
    lexical: dict[int, float]
    phrasings: list[tuple[int, float]]
    signals: Mapping[int, Signal]
    question: Mapping[int, float] = field(default_factory=dict)  # cosine to the question alone


def learned_cosines(gathered: Gathered, learning: Learning) -> dict[int, float]:
    """The entries' cosines with the phrasings folded in (see Learning)."""
    dense = dict(gathered.dense)
    pulled: dict[int, float] = {}
    push: dict[int, float] = {}
    for phrasing_id, cosine in gathered.phrasings:
        signal = gathered.signals.get(phrasing_id)
        if signal is None or signal.entry_id not in dense:
            continue
        entry = signal.entry_id
        if signal.polarity > 0:
            value = learning.stand_in(cosine, dense[entry], signal.votes)
            pulled[entry] = max(pulled.get(entry, value), value)
        else:
            push[entry] = max(push.get(entry, 0.0), learning.penalty(cosine, signal.votes))
    for entry, value in pulled.items():
        dense[entry] = max(dense[entry], value)
    for entry, value in push.items():
        dense[entry] -= value
    return dense


@dataclass(frozen=True)
class Hit:
    """One search result: the entry, its fused score, the evidence, the tier, and the
    probability (0..1) that it answers the question."""

    entry: Entry
    score: float
    cosine: float
    bm25: float
    tier: Tier
    confidence: float = 0.0


def evidence_of(
    ranked: list[tuple[int, float]],
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    fusion: Fusion,
) -> Callable[[int, float, float], Evidence]:
    """For a fused ranking, a function giving the evidence of any entry in it (given its fused
    score and its question-alone cosine)."""
    best = ranked[0][1] if ranked else 0.0
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    dense_top = max(dense, key=lambda i: (dense[i], -i), default=None)
    lexical_top = max(lexical, key=lambda i: (lexical[i], -i), default=None)
    top = ranked[0][0] if ranked else None

    def of(entry_id: int, score: float, question_cosine: float) -> Evidence:
        other = runner_up if entry_id == top else best
        agree = entry_id == dense_top == lexical_top and lexical.get(entry_id, 0.0) > 0
        return Evidence(
            score=score,
            cosine=dense.get(entry_id, 0.0),
            bonus=fusion.bonus(lexical.get(entry_id, 0.0)),
            margin=score - other,
            agreement=1.0 if agree else 0.0,
            question_cosine=question_cosine,
        )

    return of


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
        calibration: Calibration = DEFAULT,
        learning: Learning | None = None,
        lexical: KeywordSearch | None = None,
    ) -> None:
        self.store = store
        # The tantivy index (index/lexical_index.py), else SQLite FTS5 (knowledge/lexical.py).
        if lexical is None and store.lexical is None:
            raise ValueError("This store has no FTS5 table (PostgreSQL): give HybridSearch the "
                             "tantivy index (index.lexical_index.LexicalIndex).")
        self.lexical = lexical if lexical is not None else store.lexical
        self.entries = entries
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds()
        self.fusion = fusion or Fusion()
        self.candidates = candidates
        self.calibration = calibration
        self.learning = learning or Learning()

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
        """Rank with an already-embedded query (lets callers embed a batch at once), against
        the indexes as they stand (`search` catches them up with the store first)."""
        return self.score(self.gather(text, vector, max(self.candidates, 4 * k)), k, visible)

    def gather(self, text: str, vector: np.ndarray, pool: int) -> Gathered:
        """The evidence for a query: its `pool` nearest entries and phrasings, and BM25."""
        dense = dict(self.entries.nearest(vector, pool))
        lexical = dict(self._keywords(text, pool))
        phrasings = self.entries.nearest_phrasings(vector, pool)
        signals = self.entries.phrasing_signals(i for i, _ in phrasings)
        missing = (lexical.keys() | {s.entry_id for s in signals.values()}) - dense.keys()
        if missing:
            dense.update(self.entries.similarity(vector, missing))
        # the leading candidates' question-alone vectors, in one read (a paraphrase of an
        # entry's question is already among them: on the held-out FAQs the top 10 give the
        # same P@1 as every entry); an entry without one yet (an older database being filled
        # in) keeps its searched cosine
        leading = fuse(dense, lexical, self.fusion)[:QUESTION_ALONE_POOL]
        question = self.entries.question_similarity(vector, (i for i, _ in leading))
        for entry_id, cosine in question.items():
            dense[entry_id] = max(dense[entry_id], cosine)
        return Gathered(vector, dense, lexical, phrasings, signals, question)

    def _keywords(self, text: str, limit: int) -> list[tuple[int, float]]:
        """BM25 hits. A lexical index that follows the vector index was caught up with it
        (`entries.sync`), so it is not asked to read the change log a second time."""
        if isinstance(self.lexical, LexicalIndex) and self.lexical in self.entries.companions:
            return self.lexical.query(text, limit)
        return self.lexical.search(text, limit)

    def score(self, gathered: Gathered, k: int, visible: Visible | None = None) -> list[Hit]:
        """The top `k` visible hits from gathered evidence, with the current Learning."""
        dense = learned_cosines(gathered, self.learning)
        lexical = gathered.lexical
        ranked = fuse(dense, lexical, self.fusion)
        evidence = evidence_of(ranked, dense, lexical, self.fusion)
        hits: list[Hit] = []
        batch = max(2 * k, 10)  # usually the first batch holds all k; filters may need more
        for start in range(0, len(ranked), batch):
            chunk = ranked[start : start + batch]
            entries = self.store.get_entries(i for i, _ in chunk)
            alone = dict(gathered.question)
            unread = [i for i, _ in chunk if i not in alone]  # below the leading candidates
            if unread:
                alone.update(self.entries.question_similarity(gathered.vector, unread))
            for entry_id, score in chunk:
                entry = entries.get(entry_id)
                if entry is None or not entry.is_searchable or (visible and not visible(entry)):
                    continue
                # an entry whose question-alone vector is not cached yet: its searched cosine
                question_cosine = alone.get(entry_id, gathered.dense.get(entry_id, 0.0))
                confidence = self.calibration.confidence(
                    evidence(entry_id, score, question_cosine))
                hits.append(
                    Hit(
                        entry,
                        score,
                        dense.get(entry_id, 0.0),
                        lexical.get(entry_id, 0.0),
                        self.thresholds.tier(confidence),
                        confidence,
                    )
                )
                if len(hits) == k:
                    return hits
        return hits
