"""Fitting the routing blend to this organisation: its newest answered questions, ranked from
the older entries only, with each question's nearest older entries from the index.

Slow work (embedding the held-out questions, scoring the grid) happens here, outside any
request; the ranker keeps using the stored fit until the new one is written in one statement.
Call `refit()` after an import and `refit_if_stale()` from the scheduler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from index.embedder import Embedder
from index.entry_index import EntryIndex
from knowledge.expert_profiles import ExpertBook
from knowledge.models import Entry, EntryStatus
from knowledge.routing_fit import (
    Fold,
    HeldOut,
    PastAnswer,
    RoutingFit,
    RoutingWeights,
    answered_count,
    fit_weights,
    load_fit,
    save_fit,
)
from knowledge.store import Store


@dataclass(frozen=True)
class Staleness:
    stale: bool
    reason: str


class RoutingFitter:
    """Fits RoutingWeights on the store's own answered history and stores the result."""

    def __init__(self, store: Store, entries: EntryIndex, embedder: Embedder, *,
                 defaults: RoutingWeights | None = None, held_out_share: float = 0.2,
                 folds: int = 3, max_held_out: int = 500,
                 max_age: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.entries = entries
        self.embedder = embedder
        self.defaults = defaults or RoutingWeights()
        self.held_out_share = held_out_share
        self.folds = folds
        self.max_held_out = max_held_out
        self.max_age = max_age

    def fit(self) -> RoutingFit:
        """A fit of the current history (see `time_folds`); nothing is stored (rankings are
        unchanged)."""
        folds, answered = self.time_folds()
        fit = fit_weights(folds, entries=answered, now=self.store.clock(),
                          defaults=self.defaults)
        departed = tuple(sorted(ExpertBook(self.store).departed()))
        return replace(fit, left=len(departed), departed=departed)

    def time_folds(self) -> tuple[list[Fold], int]:
        """The folds a fit scores, newest first, and how many answered entries there are.

        Folds: the newest `held_out_share` of the answered entries, and the same share just
        before them, `folds` times, each scored from the entries older than itself. People who
        left (ExpertBook.departed) are scored as the ranker treats them now: never suggested,
        and the questions they answered are not targets (nobody can route to them any more).
        """
        self.entries.sync()
        departed = tuple(sorted(ExpertBook(self.store).departed()))
        published = sorted(self.store.iter_entries([EntryStatus.PUBLISHED]),
                           key=lambda e: (e.created_at, e.id))
        answered = [e for e in published if e.answered_by]
        count = min(self.max_held_out, round(len(answered) * self.held_out_share))
        folds = []
        for k in range(self.folds):
            block = answered[max(0, len(answered) - (k + 1) * count):len(answered) - k * count]
            if not count or not block:
                break
            cut = (block[0].created_at, block[0].id)
            past = [e for e in published if (e.created_at, e.id) < cut]
            block = [e for e in block if e.answered_by not in departed]
            folds.append(Fold([_past(e) for e in past],
                              self._held_out(block, past, len(published) - len(past),
                                             departed)))
        return folds, len(answered)

    def refit(self) -> RoutingFit:
        """Fit, then store the fit: rankers pick it up on their next read."""
        fit = self.fit()
        save_fit(self.store, fit)
        return fit

    def staleness(self) -> Staleness:
        """Whether the stored fit should be redone: none yet, the history grew or shrank by a
        tenth (at least 10 entries), someone left or came back, or it is older than
        `max_age`."""
        stored = load_fit(self.store)
        if stored.fitted_at is None:
            return Staleness(True, "never fitted")
        departed = ExpertBook(self.store).departed()
        # (a fit stored before `departed` was kept names nobody: compare the counts then)
        changed = (departed != set(stored.departed) if stored.departed or not stored.left
                   else len(departed) != stored.left)
        if changed:
            return Staleness(True, f"{len(departed)} people marked as left now, {stored.left} "
                                   "when fitted" if len(departed) != stored.left else
                                   "someone else left or came back since the fit")
        count = answered_count(self.store)
        if abs(count - stored.entries) >= max(10, stored.entries // 10):
            return Staleness(True, f"{count} answered entries now, {stored.entries} when fitted")
        if self.store.clock() - stored.fitted_at > self.max_age:
            return Staleness(True, f"fitted more than {self.max_age.days} days ago")
        return Staleness(False, "up to date")

    def refit_if_stale(self) -> RoutingFit | None:
        """Refit when stale (for the scheduler, never inside a request); the new fit or None."""
        return self.refit() if self.staleness().stale else None

    def _held_out(self, newest: Sequence[Entry], past: Sequence[Entry], newer: int,
                  departed: tuple[str, ...]) -> list[HeldOut]:
        if not newest or not past:
            return []
        vectors = self.embedder.embed([e.question for e in newest])
        older = {e.id for e in past}
        n = self.defaults.neighbours
        held_out = []
        for entry, vector in zip(newest, vectors, strict=True):
            # the newer entries are in the index too: ask for enough to skip all of them
            near = [(i, s) for i, s in self.entries.nearest(vector, n + newer) if i in older]
            held_out.append(HeldOut(entry.answered_by or "", entry.created_at,
                                    tuple(near[:n]), exclude=departed))
        return held_out


def _past(entry: Entry) -> PastAnswer:
    return PastAnswer(entry.id, entry.answered_by or None, entry.tags, entry.created_at,
                      entry.helpful_count - entry.not_helpful_count)
