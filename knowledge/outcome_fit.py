"""The outcome term's weight and sharpness fitted to one organisation's own routed questions.

What routed questions teach (knowledge/outcomes.py) helps where a few people answer or the
answerers change hands, and can cost where hundreds answer: someone who happened to answer a
similar routed question displaces the history's better guess (bench.routing_outcomes). So the
term's weight and similarity sharpness are chosen per organisation, like the history ranker
(knowledge/routing_fit.py), by a time-ordered evaluation of its answered routed questions:

- oldest to newest; the oldest WARM_UP share only serves as evidence, the newer ones are split
  into FOLDS time blocks;
- each scored question is ranked as it would have been when it was asked: the history part with
  the ranker fitted to the history, from the entries older than its block; the outcome term from
  the routed questions asked before it only (never its own outcome, never a later one), for every
  candidate (weight, temperature);
- the target is whoever answered it.

No model and no index here: the caller (index/routing_fit.py) passes each question's nearest
older entries and most similar earlier routed questions, with their cosines.

The standard-error rule (routing_fit.choose) picks on hit@1 + hit@5: the constants
(RoutingWeights' defaults, chosen by replaying the shared sites) whenever they are within
OUTCOME_Z paired standard errors of the best candidate; else the term off (weight 0) if it is;
else the best mean among those tied with the best. So the weight moves off the constants only
where this organisation's evidence clearly says so. OUTCOME_Z is 2, not the history fit's 1:
replayed on the shared sites (bench.routing_outcomes --fitted, docs/benchmarks.md), fitting
did not beat the constants out of site, and with one standard error the weight left them in
half the replays for no gain; with two it keeps them in most and still drops a term that
clearly misleads. (The evidence is also biased towards the weights in use: who was asked
shapes who answered.)

MIN_ROUTED: with fewer answered routed questions the constants stay without a fit. 40 leaves
three blocks of ten scored questions after the warm-up; with fewer, one question moves a block's
hit@1 by more than a tenth and the paired standard error of the difference between two weights
(~0.2 on hit@1 + hit@5 at 30 questions in the replays) exceeds most of the effects measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from knowledge.outcomes import Outcome, outcome_terms
from knowledge.routing_fit import (
    MIN_ITEMS,
    Fold,
    HeldOut,
    OutcomeFit,
    RoutingWeights,
    Score,
    choose,
    history_scores,
    nested_estimate,
    truth_ranks,
    within_memory,
)
from knowledge.routing_model import MODEL_OUTCOMES
from knowledge.store import Store

MIN_ROUTED = 40  # answered routed questions before the weight is fitted at all
WARM_UP = 0.25  # the oldest share of them, evidence only
FOLDS = 3
OUTCOME_Z = 2.0  # paired standard errors a weight must beat the constants by
WEIGHTS = (0.0, 0.5, 1.0, 2.0)
TEMPERATURES = (0.2, 0.5)


def answered_routed_count(store: Store) -> int:
    """Routed questions someone answered: what an outcome fit learns from."""
    return store.query(
        "SELECT count(*) AS n FROM questions WHERE expert_answered_by IS NOT NULL "
        "AND expert_answered_by != '' AND id IN (SELECT question_id FROM routes)")[0]["n"]


def constants_for(weights: RoutingWeights, defaults: RoutingWeights) -> RoutingWeights:
    """`defaults` with the outcome term's constants for the history part of `weights`: the
    defaults' beside the default blend, MODEL_OUTCOMES beside a fitted model (whose
    probabilities are on another scale, see knowledge/routing_model.py)."""
    return replace(defaults, outcomes=MODEL_OUTCOMES) if weights.model is not None else defaults


def candidates(defaults: RoutingWeights) -> list[tuple[float, float]]:
    """(weight, temperature) pairs: the constants first, then the term off, then the rest."""
    constants = (defaults.outcomes, defaults.outcome_temperature)
    grid = [(w, t) for w in WEIGHTS if w for t in TEMPERATURES]
    return [constants, (0.0, defaults.outcome_temperature),
            *(pair for pair in grid if pair != constants)]


def constants(defaults: RoutingWeights, routed: int, reason: str,
              held_out: int = 0) -> OutcomeFit:
    return OutcomeFit(defaults.outcomes, defaults.outcome_temperature, fitted=False,
                      reason=reason, routed=routed, held_out=held_out)


def fit_outcomes(folds: Sequence[Fold], outcomes: dict[int, list[Outcome]], *,
                 weights: RoutingWeights, routed: int, defaults: RoutingWeights | None = None,
                 z: float = OUTCOME_Z) -> OutcomeFit:
    """Choose the outcome weight and temperature that find the routed questions' answerers
    (see the module docstring).

    `folds` come newest first: each a Fold of the entries older than its block and the block's
    answered routed questions (HeldOut with `routed`: the similar routed questions asked before
    it). `outcomes` are those routed questions' outcomes (Outcomes.of); `weights` the history
    ranker in use; `routed` how many answered routed questions there are (the "too few" rule).
    """
    defaults = defaults or RoutingWeights()
    if routed < MIN_ROUTED:
        return constants(defaults, routed, f"constants: only {routed} answered routed "
                                           f"questions (a fit needs {MIN_ROUTED})")
    grid = candidates(defaults)
    folds = within_memory(folds)
    scored = [hits for fold in folds
              if (hits := fold_hits(fold, outcomes, weights, grid)) is not None]
    n = sum(h1.shape[1] for h1, _ in scored)
    if n < MIN_ITEMS:
        return constants(defaults, routed, f"constants: only {n} of {routed} answered routed "
                                           f"questions could be scored (a fit needs "
                                           f"{MIN_ITEMS})", n)
    hit1 = np.concatenate([h1 for h1, _ in scored], axis=1)
    hit5 = np.concatenate([h5 for _, h5 in scored], axis=1)
    terms = [0] * len(grid)
    chosen, best = choose(hit1.astype(np.int8) + hit5.astype(np.int8), terms, (0, 1), z)
    names = [_name(pair) for pair in grid]
    nested = nested_estimate(scored if len(scored) == len(folds) else [], terms, (0, 1), names,
                             z)

    def score(row: int) -> Score:
        return Score(float(hit1[row].mean()), float(hit5[row].mean()))

    weight, temperature = grid[chosen]
    margin = "a standard error" if z == 1 else f"{z:g} standard errors"
    how = (f"the constants: no weight beat them by {margin}" if chosen == 0 else
           f"the term off: it beat the constants by {margin}" if chosen == 1 else
           f"{names[chosen]} beat the constants by {margin}")
    if chosen not in (0, best):
        how += f" (best {names[best]})"
    return OutcomeFit(weight, temperature, fitted=True, routed=routed, held_out=n,
                      score=score(chosen), without=score(1), constants=score(0),
                      nested=nested.get("nested"), nested_held_out=nested.get("nested_held_out", 0),
                      reason=f"{how}; scored on {n} answered routed questions, each from the "
                             f"routed questions asked before it")


def fold_hits(fold: Fold, outcomes: dict[int, list[Outcome]], weights: RoutingWeights,
              grid: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray] | None:
    """hit@1 and hit@5 of every (weight, temperature) (rows) on the fold's routed questions
    that someone could find (columns), or None when none can: their answerer answered in the
    past or answered one of their similar earlier routed questions."""
    answered = {p.answered_by for p in fold.past if p.answered_by}
    items = [h for h in fold.held_out if h.answered_by in answered
             or _answered_similar(h, outcomes)]
    if not items or not answered:
        return None
    people, base = history_scores(fold.past, items, weights)
    terms = {t: [outcome_terms(h.routed, outcomes, now=h.asked_at, temperature=t,
                               half_life_days=weights.outcome_half_life_days) for h in items]
             for t in {t for _, t in grid}}
    everyone = sorted(set(people).union(*(set(per) for rows in terms.values() for per in rows)))
    column = {person: c for c, person in enumerate(everyone)}
    history = np.zeros((len(items), len(everyone)))
    history[:, [column[p] for p in people]] = base
    learned = {t: np.zeros_like(history) for t in terms}
    for t, rows in terms.items():
        for i, per in enumerate(rows):
            for person, term in per.items():
                learned[t][i, column[person]] = term
    excluded = np.zeros_like(history, dtype=bool)
    for i, h in enumerate(items):
        excluded[i, [column[u] for u in h.exclude if u in column]] = True
    truth = np.array([column.get(h.answered_by, -1) for h in items])
    hit1 = np.zeros((len(grid), len(items)), dtype=bool)
    hit5 = np.zeros_like(hit1)
    for row, (weight, t) in enumerate(grid):
        term = weight * learned[t]
        # the ranker's candidates: whom the history speaks for, or the outcomes speak well of
        ranked = ((history > 0) | (term > 0)) & ~excluded
        hit1[row], hit5[row] = truth_ranks(np.where(ranked, history + term, -np.inf), truth)
    return hit1, hit5


def _answered_similar(item: HeldOut, outcomes: dict[int, list[Outcome]]) -> bool:
    return any(o.kind == "answered" and o.expert == item.answered_by
               for q, _ in item.routed for o in outcomes.get(q, ()))


def _name(pair: tuple[float, float]) -> str:
    weight, temperature = pair
    return "off" if not weight else f"{weight:g}:{temperature:g}"
