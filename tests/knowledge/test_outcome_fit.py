"""The outcome term's weight fitted to an organisation's own routed questions
(knowledge/outcome_fit.py), on real routed questions in a real store (both backends) and a
hand-moved clock; the history part of each ranking comes from given neighbours (no model)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from knowledge.outcome_fit import (
    MIN_ROUTED,
    answered_routed_count,
    candidates,
    constants_for,
    fit_outcomes,
)
from knowledge.outcomes import Outcomes
from knowledge.routing_fit import Fold, HeldOut, PastAnswer, RoutingFit, RoutingWeights
from knowledge.routing_model import MODEL_OUTCOMES, HistoryModel
from knowledge.store import Store
from tests.clock import ManualClock
from tests.knowledge.test_outcomes import routed

TOPICS = ("X", "Y")


@pytest.fixture
def timed(open_store) -> Store:
    return open_store(ManualClock())


def scenario(store: Store, history: dict[str, str], now: dict[str, str], *,
             routed_alike: str, count: int = 48) -> list[Fold]:
    """Routed questions alternating between two topics, each answered (fast, solved) by
    `now[topic]` while `history[topic]`, or whoever owns the other topic, passed. The history
    (20 entries a topic, by `history[topic]`) ranks each question's entries of its own topic
    closest. `routed_alike`: which earlier routed questions look alike, "same" topic or the
    "other" topic (cosine 0.9; the rest 0.2). Folds as the product makes them: the oldest
    quarter as evidence only, then three time blocks, newest first."""
    start = store.clock()
    past = [PastAnswer(i + 20 * t, history[topic], (topic,), start - timedelta(days=30))
            for t, topic in enumerate(TOPICS) for i in range(20)]
    asked: list[tuple[int, str, str]] = []
    items: list[HeldOut] = []
    for k in range(count):
        topic, other = TOPICS[k % 2], TOPICS[1 - k % 2]
        store.clock.advance(hours=12)
        passer = history[topic] if history[topic] != now[topic] else now[other]
        at = store.clock()
        qid = routed(store, {now[topic]: "answered", passer: "passed"}, solved=True)
        alike = topic if routed_alike == "same" else other
        similar = sorted(((q, 0.9 if t == alike else 0.2) for q, t, _ in asked),
                         key=lambda x: -x[1])
        neighbours = sorted(((p.entry_id, 0.8 if p.tags == (topic,) else 0.3) for p in past),
                            key=lambda x: -x[1])
        items.append(HeldOut(now[topic], at, tuple(neighbours), exclude=("UASK",),
                             routed=tuple(similar)))
        asked.append((qid, topic, now[topic]))
    scored = items[count // 4:]
    size = len(scored) // 3
    return [Fold(past, scored[len(scored) - (k + 1) * size:len(scored) - k * size])
            for k in range(3)]


def fit(store: Store, folds: list[Fold]):
    ids = [q["question_id"] for q in store.query("SELECT DISTINCT question_id FROM routes")]
    return fit_outcomes(folds, Outcomes(store).of(ids), weights=RoutingWeights(),
                        routed=answered_routed_count(store))


def test_too_few_answered_routed_questions_keep_the_constants(timed: Store) -> None:
    folds = scenario(timed, {"X": "ada", "Y": "bob"}, {"X": "ada", "Y": "bob"},
                     routed_alike="other", count=MIN_ROUTED - 1)
    routed(timed, {"ada": "silent"})  # routed, never answered: not counted
    assert answered_routed_count(timed) == MIN_ROUTED - 1
    outcome = fit(timed, folds)
    assert not outcome.fitted and outcome.score is None
    assert (outcome.outcomes, outcome.temperature) == (1.0, 0.5)
    assert outcome.reason == f"constants: only {MIN_ROUTED - 1} answered routed questions " \
                             f"(a fit needs {MIN_ROUTED})"


def test_outcomes_that_mislead_fit_a_lower_weight(timed: Store) -> None:
    """The routed questions most like each one were answered by the other topic's owner, who
    is never the later answerer: at the constants they displace the history's right guess."""
    folds = scenario(timed, {"X": "ada", "Y": "bob"}, {"X": "ada", "Y": "bob"},
                     routed_alike="other")
    outcome = fit(timed, folds)
    assert outcome.fitted and outcome.routed == 48 and outcome.held_out == 36
    assert outcome.constants.hit1 < outcome.without.hit1 == 1.0
    assert outcome.outcomes < 1.0 and outcome.score.total > outcome.constants.total
    assert "the term off: it beat the constants by 2 standard errors" in outcome.reason
    assert outcome.nested is not None and outcome.nested_held_out == 12


def test_outcomes_that_help_keep_their_weight(timed: Store) -> None:
    """The answerers changed hands (carl and dan now answer what ada and bob answered in the
    history): only what routing taught finds them."""
    folds = scenario(timed, {"X": "ada", "Y": "bob"}, {"X": "carl", "Y": "dan"},
                     routed_alike="same")
    outcome = fit(timed, folds)
    assert outcome.fitted and outcome.without.hit1 == 0.0
    assert outcome.outcomes >= 1.0 and outcome.score.hit1 > 0.9
    assert outcome.score.total >= outcome.constants.total


def test_the_constants_stay_unless_clearly_beaten(timed: Store) -> None:
    """Both helpful and (at any weight) harmless: nothing beats the constants by a standard
    error, so they stay even where another weight ties them."""
    folds = scenario(timed, {"X": "ada", "Y": "bob"}, {"X": "ada", "Y": "bob"},
                     routed_alike="same")
    outcome = fit(timed, folds)
    assert outcome.fitted and outcome.without.hit1 == outcome.constants.hit1 == 1.0
    assert (outcome.outcomes, outcome.temperature) == (1.0, 0.5)
    assert outcome.reason.startswith("the constants: no weight beat them")
    assert candidates(RoutingWeights())[:2] == [(1.0, 0.5), (0.0, 0.5)]
    # beside a fitted model (probabilities, another scale) the constants are the model's
    model = HistoryModel((0.0,) * 10, (0.0,) * 10, (1.0,) * 10, 3.0)
    beside = constants_for(replace(RoutingWeights(), model=model), RoutingWeights())
    assert candidates(beside)[:2] == [(MODEL_OUTCOMES, 0.5), (0.0, 0.5)]
    assert constants_for(RoutingWeights(), RoutingWeights()) == RoutingWeights()


def test_the_outcome_fit_round_trips_with_the_blend(timed: Store) -> None:
    folds = scenario(timed, {"X": "ada", "Y": "bob"}, {"X": "ada", "Y": "bob"},
                     routed_alike="other")
    outcome = fit(timed, folds)
    weights = replace(RoutingWeights(popularity=0.3), outcomes=outcome.outcomes,
                      outcome_temperature=outcome.temperature)
    stored = RoutingFit(weights, fitted=True, reason="r", fitted_at=timed.clock(),
                        outcome_fit=outcome)
    again = RoutingFit.from_json(stored.to_json())
    assert again == stored and again.weights.outcomes == outcome.outcomes < 1.0
    # a fit stored before the outcome term was fitted reads as the constants
    assert RoutingFit.from_json(replace(stored, outcome_fit=None,
                                        weights=RoutingWeights()).to_json()).outcome_fit is None
