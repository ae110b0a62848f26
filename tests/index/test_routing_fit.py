"""Fitting the routing ranker on a real store and index (the real model), and `route --explain`."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from index.embedder import OnnxEmbedder
from index.entry_index import EntryIndex
from index.expert_finder import ExpertFinder
from index.routing_fit import RoutingFitter
from index.search import HybridSearch
from knowledge.expert_profiles import ExpertBook
from knowledge.expert_ranking import ExpertRanker, RoutingWeights
from knowledge.models import EntryDraft
from knowledge.routing_fit import load_fit, save_fit
from knowledge.routing_model import HALF_LIVES
from knowledge.store import Store
from switchboard.cli import main

SYSTEMS = ["the VPN", "payroll", "the laptop", "single sign-on", "the build server",
           "expense reports", "the printer", "customer refunds", "the wiki", "holiday requests"]
ASKS = ["How do I reset", "Who approves", "Why does {} keep failing for", "Where do I find",
        "Can I change", "What is the deadline for", "How long does it take to fix"]


def team_history(count: int) -> list[dict]:
    """A small company: `ada` answers nine questions in ten, on every subject."""
    rows = []
    for i in range(count):
        ask = ASKS[i % len(ASKS)]
        system = SYSTEMS[(i * 3) % len(SYSTEMS)]
        question = ask.format(system) + " my team" if "{}" in ask else f"{ask} {system}?"
        rows.append({"id": f"q{i}", "question": f"{question} (case {i})",
                     "answer": f"Steps for {system}.",
                     "answered_by": "ada" if i % 10 else f"helper{i % 4}"})
    return rows


def drafts(rows: list[dict]) -> list[EntryDraft]:
    return [EntryDraft(question=r["question"], answer=r["answer"], answered_by=r["answered_by"],
                       external_id=r["id"]) for r in rows]


def test_a_small_history_keeps_the_defaults(store: Store, embedder: OnnxEmbedder) -> None:
    store.upsert_entries(drafts(team_history(30)))
    fitter = RoutingFitter(store, EntryIndex.open(store, embedder, None), embedder)
    assert fitter.staleness().stale
    fit = fitter.refit()
    assert not fit.fitted and fit.weights == RoutingWeights()
    assert "only 30 answered entries" in fit.reason
    assert ExpertRanker(store).fit == fit
    assert not fitter.staleness().stale and fitter.refit_if_stale() is None


def test_refit_on_a_team_history_and_when_it_goes_stale(store: Store,
                                                         embedder: OnnxEmbedder) -> None:
    store.upsert_entries(drafts(team_history(120)))
    fitter = RoutingFitter(store, EntryIndex.open(store, embedder, None), embedder)
    fit = fitter.refit()
    assert fit.entries == 120 and fit.held_out == 72  # three folds of 24
    assert fit.score is not None and fit.defaults_score is not None
    assert fit.score.total >= fit.defaults_score.total
    assert not fitter.staleness().stale
    store.upsert_entries(drafts(team_history(135)))  # 15 more answered entries
    assert "135 answered entries now, 120" in fitter.staleness().reason
    assert fitter.refit_if_stale() is not None
    ExpertBook(store).set_deactivated("helper1")  # someone left: the folds change
    assert "1 people marked as left now, 0 when fitted" in fitter.staleness().reason
    assert fitter.refit().left == 1 and not fitter.staleness().stale
    ExpertBook(store).set_deactivated("helper1", False)  # one came back, another left:
    ExpertBook(store).set_deactivated("helper2")  # as many as before, not the same people
    assert fitter.staleness().reason == "someone else left or came back since the fit"
    assert fitter.refit().departed == ("helper2",) and not fitter.staleness().stale


def test_a_blend_fitted_by_an_earlier_version_is_refitted_as_a_model(
        store: Store, embedder: OnnxEmbedder) -> None:
    store.upsert_entries(drafts(team_history(120)))
    fitter = RoutingFitter(store, EntryIndex.open(store, embedder, None), embedder)
    fitter.refit()
    blend = replace(load_fit(store), weights=replace(RoutingWeights(), popularity=3.0),
                    name="busiest lately")  # as an earlier version stored it
    save_fit(store, blend)
    assert fitter.staleness().reason == "fitted as a blend by an earlier version"
    refit = fitter.refit_if_stale()
    assert refit is not None and refit.weights.model is not None
    assert ExpertRanker(store).weights.model == refit.weights.model
    assert not fitter.staleness().stale
    # a model of the five shares, before the default blend was one: it still ranks (with
    # the shares it knows), and is refitted at the next check
    model = refit.weights.model
    old = replace(model, coefficients=model.coefficients[:5] + model.coefficients[6:11],
                  center=model.center[:5] + model.center[6:11],
                  scale=model.scale[:5] + model.scale[6:11])
    save_fit(store, replace(refit, weights=replace(refit.weights, model=old)))
    assert old.names[-1] == "log latest" and len(old.names) == 10
    near = EntryIndex.open(store, embedder, None).nearest(
        embedder.embed(["How do I reset the VPN?"])[0], 100)
    assert ExpertRanker(store, cache_seconds=0).rank(near)  # still ranks
    assert fitter.staleness().reason == ("fitted by an earlier version (without the default "
                                         "blend as evidence)")
    assert fitter.refit_if_stale().weights.model.shares_used == 6


def test_people_who_left_are_neither_suggested_nor_targets_of_the_fit(
        store: Store, embedder: OnnxEmbedder) -> None:
    store.upsert_entries(drafts(team_history(120)))
    index = EntryIndex.open(store, embedder, None)
    ExpertBook(store).set_deactivated("ada")  # she answered nine questions in ten
    fit = RoutingFitter(store, index, embedder).fit()
    # only the helpers' 7 newer questions are left to score: too few to trust a fit
    assert not fit.fitted and "only 7 newer questions" in fit.reason
    ranking = ExpertFinder(HybridSearch(store, index, embedder)).rank("How do I reset the VPN?")
    assert ranking.left == ("ada",) and ranking.experts
    assert "ada" not in [e.user for e in ranking.experts]


class GatedEmbedder:
    """The real model, except that the fitter's batch waits until the test opens the gate."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.model_name, self.dimension = inner.model_name, inner.dimension
        self.waiting, self.gate = threading.Event(), threading.Event()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) > 1:  # the fitter's held-out questions, not a single asked question
            self.waiting.set()
            self.gate.wait(10)
        return self.inner.embed(texts)


def test_a_refit_never_blocks_answering(store: Store, embedder: OnnxEmbedder) -> None:
    store.upsert_entries(drafts(team_history(120)))
    gated = GatedEmbedder(embedder)
    index = EntryIndex.open(store, embedder, None)
    fitter = RoutingFitter(store, index, gated)
    refit = threading.Thread(target=fitter.refit)
    refit.start()
    try:
        assert gated.waiting.wait(10)
        finder = ExpertFinder(HybridSearch(store, index, embedder))
        ranking = finder.rank("How do I reset the VPN?")  # answered while the refit is busy
        assert ranking.experts and not finder.ranker.fit.fitted
    finally:
        gated.gate.set()
        refit.join(30)
    assert not refit.is_alive()


def test_route_explain_shows_the_weights_and_their_figures(run, tmp_path: Path) -> None:
    history = tmp_path / "team.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in team_history(120)), encoding="utf-8")
    imported = run("import", str(history))
    assert imported.exit_code == 0, imported.output
    # the import fits the weights to the history it brought, so `route` needs no --refit
    assert "Fitting the routing weights (never fitted)" in imported.stderr
    assert "Routing weights:" in imported.stderr
    after_import = json.loads(run("route", "--explain", "--json").stdout)
    assert after_import["fitted_at"] is not None and after_import["answered_entries"] == 120
    refit = run("route", "--refit", "--json")
    assert refit.exit_code == 0, refit.output
    payload = json.loads(refit.output)
    assert set(payload["routing_weights"]) == {"similarity", "neighbours", "temperature",
                                               "topic_share",
                                               "popularity", "recent", "half_life_days"}
    assert payload["answered_entries"] == 120 and payload["held_out_questions"] == 72
    assert payload["routing_weights"] == after_import["routing_weights"]
    # the fitted model: a coefficient per feature, what the history said counts
    model = payload["model"]
    assert model["kind"] == "conditional logit, fitted by likelihood"
    assert list(model["coefficients"])[:5] == ["sharp vote", "broad vote", "topics", "volume",
                                               "latest"]
    assert len(model["coefficients"]) == 12 and model["questions"] == 72
    assert list(model["coefficients"])[5] == "default blend"
    assert model["coefficients"] == after_import["model"]["coefficients"]  # deterministic
    assert model["penalty"] in (0.3, 3.0, 30.0)
    assert set(payload["held_out"]["defaults"]) == {"hit@1", "hit@5"}
    # the honest figure: chosen on the two older folds, scored on the newest 24
    assert set(payload["held_out"]["nested"]) == {"hit@1", "hit@5"}
    assert payload["nested_questions"] == 24 and payload["nested_candidate"] == "likelihood"
    for metric in ("hit@1", "hit@5"):  # with how far 24 questions' chance may move it
        lo, hi = payload["nested_interval"][metric]
        assert lo <= payload["held_out"]["nested"][metric] <= hi and hi - lo > 0.1
    text = run("route", "--explain", "How do I reset the VPN?").output
    assert "Routing weights:" in text and "held-out hit@1 / hit@5" in text
    assert "a ranker fitted by likelihood: the real answerers of 72 newer questions" in text
    assert "what decides here: " in text and "similar questions" in text
    assert "the default blend: the fixed mix of similar questions, topics and volume" in text
    assert "(per standard deviation: " in text and "log volume" in text
    # ada answers nine in ten, but the helpers' own questions go to them: the similar questions
    # decide, on their own and through the default blend (its vote of the nearest entries),
    # not the volume
    shares = payload["model"]["evidence_shares"]
    assert max(shares, key=shares.get) in ("similar questions", "the default blend")
    assert shares["similar questions"] + shares["the default blend"] > 2 * shares["volume"]
    assert abs(sum(shares.values()) - 1) < 1e-3
    assert "honest estimate, hit@1 / hit@5" in text and "on the newest 24 questions" in text
    assert "(95% intervals on that many: " in text
    assert "Who to ask" in text
    report = run("report").output  # the report shows the same
    assert "Routing weights:" in report and "held-out hit@1 / hit@5, defaults" in report
    assert "honest estimate" in report
    assert "outcomes of similar routed questions" in report and "half-life 90 days" in report
    # imported without dates: every answer is of one day, so the half-life stays the default
    assert payload["routing_weights"]["half_life_days"] == 730.0
    assert "the history's answers are all of one date" in payload["reason"]


def test_imported_dates_let_the_fit_choose_how_fast_evidence_fades(run, tmp_path: Path) -> None:
    """Each system's questions changed hands three years ago: its old owner now answers the
    next system's. Imported with `created_at`, the fit tries the evidence half-lives and keeps
    a short one; route --explain says so. (An undated import keeps the default and says why:
    see test_route_explain_shows_the_weights_and_their_figures.)"""
    rows = []
    for i in range(160):
        k = i % 8
        recent = i >= 80  # the older half first
        ask = ASKS[(i // 8) % len(ASKS)]
        system = SYSTEMS[k]
        question = ask.format(system) + " my team" if "{}" in ask else f"{ask} {system}?"
        day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=2 * i) if recent else \
            datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=2 * i)
        rows.append({"id": f"q{i}", "question": f"{question} (case {i})",
                     "answer": f"Steps for {system}.", "created_at": day.isoformat(),
                     "answered_by": f"owner{(k + 1) % 8 if recent else k}"})
    history = tmp_path / "dated.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert run("import", str(history)).exit_code == 0
    payload = json.loads(run("route", "--explain", "--json").stdout)
    assert payload["fitted"] and payload["model"] is not None
    assert payload["routing_weights"]["half_life_days"] in HALF_LIVES
    assert payload["routing_weights"]["half_life_days"] <= 365
    assert "chosen among 45, 90, 180, 365, 730, 1460" in payload["reason"]
    text = run("route", "--explain", "Why does the VPN keep failing for my team").output
    assert "an answer's evidence halves over" in text
    ranked = json.loads(run("route", "--json", "--k", "5",
                            "Why does the VPN keep failing for my team").stdout)["experts"]
    assert ranked[0]["user"] == "owner1"  # the VPN's new owner; its old one has moved on
    assert "owner0" not in [e["user"] for e in ranked[:2]]


def test_route_fits_a_stale_history_before_ranking_and_not_again(run, tmp_path: Path) -> None:
    """An import too small to refit on its own still counts once the history grew by a tenth:
    `route` refits before it ranks (answers captured by the bot count the same way)."""
    history = tmp_path / "team.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in team_history(30)), encoding="utf-8")
    first = run("import", str(history))
    assert "Fitting" not in first.stderr  # 30 answered entries: the defaults, no model needed
    assert json.loads(run("route", "--explain", "--json").stdout)["reason"] == "not fitted yet"
    store = Store.open(tmp_path / "home" / "switchboard.db")
    try:
        store.upsert_entries(drafts(team_history(120)))  # written by another process
    finally:
        store.close()
    ranked = run("route", "--json", "Who approves payroll?")
    assert ranked.exit_code == 0, ranked.output
    assert "Fitting the routing weights (never fitted)" in ranked.stderr
    assert json.loads(ranked.stdout)["experts"][0]["user"] == "ada"
    again = run("route", "--json", "How do I reset the VPN?")
    assert "Fitting" not in again.stderr  # up to date now
    assert json.loads(run("route", "--explain", "--json").stdout)["answered_entries"] == 120


def test_route_says_who_was_left_out_because_they_left(run, tmp_path: Path) -> None:
    history = tmp_path / "team.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in team_history(60)), encoding="utf-8")
    assert run("import", str(history)).exit_code == 0
    store = Store.connect(str(tmp_path / "home" / "switchboard.db"))
    ExpertBook(store).set_deactivated("ada")  # as Slack's user_change would
    store.close()
    payload = json.loads(run("route", "--json", "How do I reset the VPN?").stdout)
    assert payload["left"] == ["ada"] and payload["experts"]
    assert "ada" not in [e["user"] for e in payload["experts"]]
    text = run("route", "How do I reset the VPN?").output
    assert "Not suggested, they left (account deactivated): ada" in text



def test_route_never_suggests_the_asker_and_reads_askers_per_line(
        tmp_path: Path, model_cache: Path) -> None:
    env = {"SWITCHBOARD_HOME": str(tmp_path / "home"), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=stdin,
                                  catch_exceptions=False)

    history = tmp_path / "team.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in team_history(60)), encoding="utf-8")
    assert run("import", str(history)).exit_code == 0
    question = "Who approves payroll?"
    first = json.loads(run("route", "--json", question).stdout)["experts"][0]["user"]
    assert first == "ada"
    mine = json.loads(run("route", "--json", "--asker", "ada", question).stdout)
    assert "ada" not in [e["user"] for e in mine["experts"]] and mine["experts"]
    lines = "\n".join([json.dumps({"question": question, "asker": "ada"}), question, "",
                       json.dumps({"question": question})])
    ranked = run("route", "--json", "--asker", "helper2", stdin=lines)
    assert ranked.exit_code == 0, ranked.output
    users = [[e["user"] for e in json.loads(line)["experts"]]
             for line in ranked.stdout.splitlines()]
    assert len(users) == 3 and "ada" not in users[0]
    assert users[1][0] == users[2][0] == "ada"  # --asker applies where a line names nobody
    assert all("helper2" not in u for u in users[1:])
    bad = run("route", "--json", stdin=f"{question}\n{{\"question\": 3}}\n{{oops\n")
    assert bad.exit_code != 0 and "line 2: a JSON line needs a \"question\"" in bad.output
    assert "experts" not in bad.stdout  # nothing ranked before the bad line was found
