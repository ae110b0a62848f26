"""The outcome weight fitted on a real store's routed questions with the real model and index
(index/routing_fit.py with knowledge/outcome_fit.py): no peeking, a refit never blocks a
ranking, the staleness rule, and `route --explain` / the report showing it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from index.embedder import OnnxEmbedder
from index.entry_index import EntryIndex
from index.expert_finder import ExpertFinder
from index.routing_fit import RoutingFitter
from index.search import HybridSearch
from knowledge.escalation import LadderState, Routes, RouteStatus
from knowledge.models import parse_time
from knowledge.outcome_fit import MIN_ROUTED
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.routing_fit import load_fit
from knowledge.routing_model import MODEL_OUTCOMES
from knowledge.store import Store
from tests.clock import ManualClock
from tests.index.test_routing_fit import ASKS, SYSTEMS, GatedEmbedder, drafts, team_history


@pytest.fixture
def timed(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "timed.db", clock=ManualClock())
    yield opened
    opened.close()


def route_answered(store: Store, answerers: list[str], start: int = 0) -> list[int]:
    """Routed questions, one an hour, each answered by the one named (helper1 was asked too
    and passed)."""
    book, routes = QuestionBook(store), Routes(store)
    ids = []
    for i, who in enumerate(answerers, start):
        if isinstance(store.clock, ManualClock):
            store.clock.advance(hours=1)
        text = f"{ASKS[i % len(ASKS)].format(SYSTEMS[i % 10])} {SYSTEMS[i % 10]}? (routed {i})"
        question, _ = book.receive(AskInput("UASK", text, QuestionSource.DM))
        routes.start(question.id, 15)
        passer = routes.add(question.id, "helper1", 1, 0.0, ())
        if passer is not None:
            routes.respond(passer.id, RouteStatus.PASSED)
        route = routes.add(question.id, who, 1, 0.0, ()) or routes.find(question.id, who)
        book.record_expert_answer(question.id, who, "Like this.")
        routes.respond(route.id, RouteStatus.ANSWERED)
        routes.stop(question.id, LadderState.ANSWERED)
        ids.append(question.id)
    return ids


def test_a_routed_question_is_scored_only_from_those_asked_before_it(
        timed: Store, embedder: OnnxEmbedder) -> None:
    timed.upsert_entries(drafts(team_history(60)))
    fitter = RoutingFitter(timed, EntryIndex.open(timed, embedder, None), embedder)
    # each routed question answered by someone new: only its own outcome (or a later one)
    # could name its answerer
    ids = route_answered(timed, [f"newcomer{i}" for i in range(48)])
    folds, outcomes, count = fitter.outcome_folds(fitter.defaults)
    assert count == 48 and set(outcomes) == set(ids)
    asked = {r["id"]: parse_time(r["created_at"]) for r in timed.query(
        "SELECT id, created_at FROM questions")}
    items = [h for fold in folds for h in fold.held_out]
    assert len(items) == 36  # after the oldest quarter, three blocks of 12
    for item in items:
        assert item.routed and all(asked[q] < item.asked_at for q, _ in item.routed)
    # the n-th routed question sees exactly the n before it: neither itself nor a later one
    assert sorted(len(h.routed) for h in items) == list(range(12, 48))
    fit = fitter.fit_outcomes(fitter.defaults)
    assert not fit.fitted and fit.held_out == 0  # nobody could have named them beforehand
    assert "only 0 of 48 answered routed questions could be scored" in fit.reason


def test_the_outcome_fit_is_stored_refitted_when_routing_grows_and_never_blocks_ranking(
        timed: Store, embedder: OnnxEmbedder) -> None:
    timed.upsert_entries(drafts(team_history(120)))
    index = EntryIndex.open(timed, embedder, None)
    fitter = RoutingFitter(timed, index, embedder)
    first = fitter.refit()
    assert first.outcome_fit is not None and not first.outcome_fit.fitted
    assert first.outcome_fit.reason == f"constants: only 0 answered routed questions (a fit " \
                                       f"needs {MIN_ROUTED})"
    route_answered(timed, ["ada" if i % 10 else "helper2" for i in range(MIN_ROUTED + 8)])
    staleness = fitter.staleness()
    assert staleness.stale and not staleness.history
    assert staleness.reason == f"{MIN_ROUTED + 8} answered routed questions now, 0 when fitted"
    gated = GatedEmbedder(embedder)  # the refit must embed the routed questions' backlog
    refit = threading.Thread(target=RoutingFitter(timed, index, gated).refit_if_stale)
    refit.start()
    try:
        assert gated.waiting.wait(30)
        finder = ExpertFinder(HybridSearch(timed, index, embedder))
        ranking = finder.rank("How do I reset the VPN?")  # ranked while the refit is busy
        assert ranking.experts and finder.ranker.fit.outcome_fit == first.outcome_fit
    finally:
        gated.gate.set()
        refit.join(60)
    assert not refit.is_alive()
    stored = load_fit(timed)
    assert stored.outcome_fit.fitted and stored.outcome_fit.routed == MIN_ROUTED + 8
    assert stored.outcome_fit.held_out > 0 and stored.outcome_fit.without is not None
    assert (stored.weights.outcomes, stored.weights.outcome_temperature) == (
        stored.outcome_fit.outcomes, stored.outcome_fit.temperature)
    # only the outcome part was redone: the blend and its figures are the first fit's
    assert (stored.fitted_at, stored.weights.popularity, stored.score) == (
        first.fitted_at, first.weights.popularity, first.score)
    assert not fitter.staleness().stale
    route_answered(timed, ["ada"] * 9, start=100)  # fewer than a tenth more: up to date
    assert not fitter.staleness().stale


def test_route_explain_and_the_report_show_the_outcome_weight(run, tmp_path: Path) -> None:
    history = tmp_path / "team.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in team_history(120)), encoding="utf-8")
    assert run("import", str(history)).exit_code == 0
    before = json.loads(run("route", "--explain", "--json").stdout)
    assert before["in_practice"] == {"days": 30, "routed": 0, "answered": 0, "answered_by": {
        "first": 0, "first_round": 0, "later": 0, "suggested": 0, "not_asked": 0}}
    assert "in practice, last 30 days: 0 questions routed, none answered by a person yet" \
        in run("route", "--explain").stdout
    few = before["outcomes"]
    # the history is ranked by a fitted model: the outcome constants on its scale
    assert json.loads(run("route", "--explain", "--json").stdout)["model"] is not None
    assert few["weight"] == MODEL_OUTCOMES == 0.5 and few["temperature"] == 0.5
    assert not few["fitted"] and few["held_out"]["in_use"] is None
    assert few["reason"].startswith("constants: only 0 answered routed questions")
    store = Store.open(tmp_path / "home" / "switchboard.db")
    try:
        route_answered(store, ["ada" if i % 10 else "helper2" for i in range(48)])
    finally:
        store.close()
    text = run("route", "--explain")
    assert "48 answered routed questions now, 0 when fitted" in text.stderr
    assert "outcome weight: " in text.stdout
    assert "held-out hit@1 / hit@5 on 36 answered routed questions" in text.stdout
    assert "without" in text.stdout and "at the constants" in text.stdout
    # helper1 was asked first each time and passed; the answerer was asked second
    assert ("in practice, last 30 days: the first person asked answered 0 of the 48 routed "
            "questions a person answered (0%); another person of the first round 48") \
        in text.stdout
    payload = json.loads(run("route", "--explain", "--json").stdout)["outcomes"]
    assert payload["fitted"] and payload["answered_routed_questions"] == 48
    assert payload["held_out_questions"] == 36
    assert set(payload["held_out"]["without"]) == {"hit@1", "hit@5"}
    assert payload["weight"] in (0.0, 0.5, 1.0, 2.0)
    practice = json.loads(run("route", "--explain", "--json").stdout)["in_practice"]
    assert (practice["routed"], practice["answered"]) == (48, 48)
    assert practice["answered_by"]["first_round"] == 48
    report = run("report").output
    assert "outcome weight: " in report and "answered routed questions" in report
