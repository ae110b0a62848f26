"""Fitting the routing ranker to this organisation: its newest answered questions, ranked from
the older entries only, with each question's nearest older entries from the index
(knowledge/routing_fit.py, knowledge/routing_model.py); then the
outcome term's weight, on its answered routed questions, each ranked from the entries older
than it and the outcomes of the routed questions asked before it (their stored vectors,
index/routed_questions.py; knowledge/outcome_fit.py).

Slow work (embedding the held-out questions, fitting the model) happens here, outside any
request; the ranker keeps using the stored fit until the new one is written in one statement.
Call `refit()` after an import and `refit_if_stale()` from the scheduler (which redoes only the
outcome part when only the routed questions grew).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from index.embedder import Embedder
from index.entry_index import EntryIndex
from index.routed_questions import RoutedQuestions
from knowledge.expert_profiles import ExpertBook
from knowledge.models import Entry, EntryStatus, parse_time
from knowledge.outcome_fit import (
    FOLDS,
    MIN_ROUTED,
    OUTCOME_Z,
    WARM_UP,
    answered_routed_count,
    constants_for,
    fit_outcomes,
)
from knowledge.outcomes import Outcome, Outcomes
from knowledge.routing_fit import (
    Fold,
    HeldOut,
    OutcomeFit,
    PastAnswer,
    RoutingFit,
    RoutingWeights,
    answered_count,
    fit_weights,
    load_fit,
    save_fit,
)
from knowledge.routing_model import SHARES, UNFITTED
from knowledge.store import Store


@dataclass(frozen=True)
class Staleness:
    stale: bool
    reason: str
    history: bool = True  # False: only the outcome part needs redoing


class RoutingFitter:
    """Fits the ranker on the store's own answered history and stores the result."""

    def __init__(self, store: Store, entries: EntryIndex, embedder: Embedder, *,
                 defaults: RoutingWeights | None = None, held_out_share: float = 0.2,
                 folds: int = 3, max_held_out: int = 500,
                 max_age: timedelta = timedelta(days=7),
                 outcome_z: float = OUTCOME_Z) -> None:
        self.store = store
        self.entries = entries
        self.embedder = embedder
        self.defaults = defaults or RoutingWeights()
        self.held_out_share = held_out_share
        self.folds = folds
        self.max_held_out = max_held_out
        self.max_age = max_age
        self.outcome_z = outcome_z  # standard errors a weight must beat the constants by

    def fit(self) -> RoutingFit:
        """A fit of the current history (see `time_folds`) and of the outcome term on top of
        it (see `fit_outcomes`); nothing is stored (rankings are unchanged)."""
        folds, answered = self.time_folds()
        fit = fit_weights(folds, entries=answered, now=self.store.clock(),
                          defaults=self.defaults)
        departed = tuple(sorted(ExpertBook(self.store).departed()))
        return self.with_outcomes(replace(fit, left=len(departed), departed=departed))

    def with_outcomes(self, fit: RoutingFit) -> RoutingFit:
        """`fit` with the outcome term's weight and temperature fitted on top of its ranker."""
        outcome = self.fit_outcomes(fit.weights)
        return replace(fit, outcome_fit=outcome,
                       weights=replace(fit.weights, outcomes=outcome.outcomes,
                                       outcome_temperature=outcome.temperature))

    def fit_outcomes(self, weights: RoutingWeights) -> OutcomeFit:
        """The outcome weight fitted on the answered routed questions, the history part of
        each ranking by `weights` (see knowledge/outcome_fit.py)."""
        folds, outcomes, routed = self.outcome_folds(weights)
        return fit_outcomes(folds, outcomes, weights=weights, routed=routed,
                            defaults=constants_for(weights, self.defaults), z=self.outcome_z)

    def outcome_folds(self, weights: RoutingWeights
                      ) -> tuple[list[Fold], dict[int, list[Outcome]], int]:
        """The time blocks of answered routed questions an outcome fit scores (newest first),
        their outcomes, and how many answered routed questions there are.

        Each question is scored as it was asked: its nearest entries older than its block,
        and its most similar routed questions asked before it (time, then id). People who left
        are neither suggested nor targets, as in `time_folds`; the asker is never suggested.
        """
        rows = self.store.query(
            "SELECT id, asker, created_at, expert_answered_by FROM questions "
            "WHERE id IN (SELECT question_id FROM routes)")
        asked = sorted(((parse_time(r["created_at"]), r["id"], r) for r in rows),
                       key=lambda x: x[:2])
        answered = [(at, r) for at, _, r in asked if r["expert_answered_by"]]
        if len(answered) < MIN_ROUTED:
            return [], {}, len(answered)
        self.entries.sync()
        ids, matrix = RoutedQuestions(self.store, self.embedder).vectors(fill=None)
        place = {qid: p for p, (_, qid, _) in enumerate(asked)}  # time order
        order = np.array([place.get(int(q), len(asked)) for q in ids], dtype=np.int64)
        row_of = {int(q): i for i, q in enumerate(ids)}
        departed = tuple(sorted(ExpertBook(self.store).departed()))
        published = sorted(self.store.iter_entries([EntryStatus.PUBLISHED]),
                           key=lambda e: (e.created_at, e.id))
        scored = answered[round(len(answered) * WARM_UP):]
        size = math.ceil(len(scored) / FOLDS)
        folds = []
        for k in range(FOLDS):
            block = scored[max(0, len(scored) - (k + 1) * size):len(scored) - k * size]
            if not block:
                break
            past = [e for e in published if e.created_at < block[0][0]]
            older = {e.id for e in past}
            items = []
            for at, row in block:
                i = row_of.get(row["id"])
                if i is None or row["expert_answered_by"] in departed:
                    continue  # no vector (never embedded), or nobody can route to them now
                near = self._older_neighbours(matrix[i], older, len(published) - len(past))
                cosines = np.where(order < place[row["id"]], matrix @ matrix[i], -np.inf)
                top = np.argsort(-cosines, kind="stable")[:weights.outcome_neighbours]
                similar = tuple((int(ids[j]), float(cosines[j])) for j in top
                                if np.isfinite(cosines[j]))
                items.append(HeldOut(row["expert_answered_by"], at, near,
                                     exclude=(row["asker"], *departed), routed=similar))
            folds.append(Fold([past_answer(e) for e in past], items))
        return folds, Outcomes(self.store).of(int(q) for q in ids), len(answered)

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
            folds.append(Fold([past_answer(e) for e in past],
                              self._held_out(block, past, len(published) - len(past),
                                             departed)))
        return folds, len(answered)

    def refit(self) -> RoutingFit:
        """Fit, then store the fit: rankers pick it up on their next read."""
        fit = self.fit()
        save_fit(self.store, fit)
        return fit

    def refit_outcomes(self) -> RoutingFit:
        """Refit only the outcome term, on top of the stored ranker, and store the result."""
        fit = self.with_outcomes(load_fit(self.store))
        save_fit(self.store, fit)
        return fit

    def staleness(self) -> Staleness:
        """Whether the stored fit should be redone: none yet, a blend or a model fitted by an
        earlier version, the history grew or shrank by a tenth (at least 10 entries), someone
        left or came back, or it is older than `max_age`."""
        stored = load_fit(self.store)
        if stored.fitted_at is None:
            return Staleness(True, "never fitted")
        if stored.fitted and stored.weights.model is None:
            return Staleness(True, "fitted as a blend by an earlier version")
        if stored.weights.model is not None and stored.weights.model.shares_used < len(SHARES):
            return Staleness(True, "fitted by an earlier version (without the default blend "
                                   "as evidence)")
        departed = ExpertBook(self.store).departed()
        # (a fit stored before `departed` was kept names nobody: compare the counts then)
        changed = (departed != set(stored.departed) if stored.departed or not stored.left
                   else len(departed) != stored.left)
        if changed:
            return Staleness(True, f"{len(departed)} people marked as left now, {stored.left} "
                                   "when fitted" if len(departed) != stored.left else
                                   "someone else left or came back since the fit")
        count = answered_count(self.store)
        if _moved_a_tenth(count, stored.entries):
            return Staleness(True, f"{count} answered entries now, {stored.entries} when fitted")
        if self.store.clock() - stored.fitted_at > self.max_age:
            return Staleness(True, f"fitted more than {self.max_age.days} days ago")
        routed = answered_routed_count(self.store)
        before = stored.outcome_fit.routed if stored.outcome_fit else 0
        if _moved_a_tenth(routed, before):
            return Staleness(True, f"{routed} answered routed questions now, {before} when "
                                   "fitted", history=False)
        return Staleness(False, "up to date")

    def refit_if_stale(self) -> RoutingFit | None:
        """Refit when stale (for the scheduler, never inside a request): everything, or only
        the outcome term when only the routed questions grew; the new fit or None."""
        staleness = self.staleness()
        if not staleness.stale:
            return None
        return self.refit() if staleness.history else self.refit_outcomes()

    def _held_out(self, newest: Sequence[Entry], past: Sequence[Entry], newer: int,
                  departed: tuple[str, ...]) -> list[HeldOut]:
        if not newest or not past:
            return []
        vectors = self.embedder.embed([e.question for e in newest])
        older = {e.id for e in past}
        return [HeldOut(entry.answered_by or "", entry.created_at,
                        self._older_neighbours(vector, older, newer), exclude=departed)
                for entry, vector in zip(newest, vectors, strict=True)]

    def _older_neighbours(self, vector: np.ndarray, older: set[int],
                          newer: int) -> tuple[tuple[int, float], ...]:
        """The nearest entries among `older` (the `newer` others are in the index too: ask for
        enough to skip all of them)."""
        n = max(self.defaults.reach, UNFITTED.reach)  # the blend and the model alike
        return tuple([(i, s) for i, s in self.entries.nearest(vector, n + newer)
                      if i in older][:n])


def _moved_a_tenth(now: int, then: int) -> bool:
    """Whether a count grew or shrank by a tenth since a fit (at least 10): worth a refit."""
    return abs(now - then) >= max(10, then // 10)


def past_answer(entry: Entry) -> PastAnswer:
    return PastAnswer(entry.id, entry.answered_by or None, entry.tags, entry.created_at,
                      entry.helpful_count - entry.not_helpful_count)
