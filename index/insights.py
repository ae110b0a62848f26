"""Knowledge gaps and near-duplicate entries for the admin Home, worked out in the background.

Grouping questions needs their embeddings and finding duplicates scans the index; neither may
happen while someone waits for their Home. So a background pass (`refresh`, run by the bot's
scheduler) embeds a bounded number of new unanswered questions into `question_vectors`, groups
the most recent ones from those stored vectors, finds duplicate pairs, and keeps the result in
memory. The Home reads only `latest` (None until the first pass: "computing").

Work is bounded whatever people ask: at most `sample` questions (each cut to MAX_CHARS) are
considered, at most `per_pass` are embedded per pass, at most `scan` entries are compared. A
pass recomputes at most every `min_interval` seconds (sooner while questions still wait for a
vector), and only what changed: gaps when the questions considered changed, pairs when an entry
changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.duplicates import near_duplicate_ids
from index.embedder import Embedder
from index.entry_index import EntryIndex
from index.gaps import Gap, group_gaps
from index.question_vectors import QuestionVectors
from knowledge.analytics import Analytics
from knowledge.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Insights:
    gaps: tuple[Gap, ...]
    duplicates: tuple[tuple[int, int, float], ...]  # (entry id, entry id, cosine), best first
    computed_at: float  # on the refresher's clock (monotonic seconds)


@dataclass(frozen=True)
class PassFigures:
    """What one pass did (counts, for tests and benchmarks)."""

    questions: int = 0  # unanswered questions read (at most `sample`)
    embedded: int = 0  # of which embedded now (at most `per_pass`)
    grouped: int = 0  # grouped from stored vectors
    gaps_recomputed: bool = False
    duplicates_recomputed: bool = False


class AdminInsights:
    """The cache of gaps and duplicate pairs, and the background pass that refreshes it."""

    def __init__(self, store: Store, index: EntryIndex, embedder: Embedder, *, days: int = 7,
                 sample: int = 200, per_pass: int = 64, groups: int = 10, pairs: int = 10,
                 scan: int = 2_000, min_interval: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.index = index
        self.vectors = QuestionVectors(store, embedder)
        self.days, self.sample, self.per_pass = days, sample, per_pass
        self.groups, self.pairs, self.scan = groups, pairs, scan
        self.min_interval = min_interval
        self.clock = clock
        self.latest: Insights | None = None
        self.last_pass = PassFigures()
        self._ran_at: float | None = None
        self._behind = True  # questions still wait for a vector: do not wait min_interval
        self._gap_key: tuple[int, ...] | None = None
        self._pair_key: int | None = None
        self._running = threading.Lock()

    def refresh(self, force: bool = False) -> bool:
        """Run a pass if one is due (or `force`); True if anything was recomputed. A pass
        already running elsewhere is not waited for."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            now = self.clock()
            due = (force or self._behind or self._ran_at is None
                   or now - self._ran_at >= self.min_interval)
            if not due:
                return False
            self._ran_at = now
            return self._pass(now)
        finally:
            self._running.release()

    def _pass(self, now: float) -> bool:
        questions = Analytics(self.store).unanswered(self.days, self.sample)
        embedded = self.vectors.fill(questions, self.per_pass)
        stored = self.vectors.stored(questions)
        self._behind = len(stored) < len(questions)
        grouped = [q for q in questions if q.question_id in stored]
        gap_key = tuple(q.question_id for q in grouped)
        pair_key = self.store.changes.cursor()
        old = self.latest
        gaps, pairs = (old.gaps, old.duplicates) if old else ((), ())
        redo_gaps = old is None or embedded > 0 or gap_key != self._gap_key
        redo_pairs = old is None or pair_key != self._pair_key
        if redo_gaps:
            matrix = (np.stack([stored[q.question_id] for q in grouped]) if grouped
                      else np.zeros((0, self.vectors.embedder.dimension), np.float32))
            gaps = tuple(group_gaps(grouped, matrix, top=self.groups))
            self._gap_key = gap_key
        if redo_pairs:
            pairs = tuple(near_duplicate_ids(self.index, limit=self.pairs, scan=self.scan))
            self._pair_key = pair_key
        self.last_pass = PassFigures(len(questions), embedded, len(grouped), redo_gaps,
                                     redo_pairs)
        if redo_gaps or redo_pairs:
            self.latest = Insights(gaps, pairs, now)
            log.info("admin insights refreshed", extra={
                "questions": len(questions), "embedded": embedded, "gaps": len(gaps),
                "duplicates": len(pairs)})
        return redo_gaps or redo_pairs
