"""Expert ranking, availability and the ladder's claims, on a real SQLite file (no model: the
neighbours a search would find are given directly)."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from knowledge.availability import AvailabilityRules, unavailable_because
from knowledge.escalation import LadderState, Routes, RouteStatus
from knowledge.expert_profiles import ExpertBook, ExpertPrefs
from knowledge.expert_ranking import ExpertRanker, RoutingWeights, question_topics
from knowledge.models import EntryDraft
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.routing_fit import (
    EvidenceFrame,
    Fold,
    HeldOut,
    PastAnswer,
    RoutingFit,
    choose,
    fit_weights,
    fold_frames,
    interval,
    load_fit,
    save_fit,
    within_memory,
)
from knowledge.routing_model import (
    HALF_LIVES,
    PENALTIES,
    HistoryModel,
    fit_choosing,
    fit_model,
    loss,
)
from knowledge.routing_policy import RoutingPolicy
from knowledge.store import Store

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def entries(store: Store, rows: list[tuple[str, str]]) -> list[int]:
    return store.upsert_entries([EntryDraft(question=q, answer="a", answered_by=who)
                                 for who, q in rows]).created


def test_similar_answers_outweigh_popularity_but_popularity_breaks_ties(store: Store) -> None:
    ids = entries(store, [("busy", f"general question {i}") for i in range(20)]
                  + [("specialist", "how to refund twice"), ("specialist", "duplicate charge")])
    ranker = ExpertRanker(store)
    close = [(ids[-1], 0.92), (ids[-2], 0.88)] + [(i, 0.35) for i in ids[:5]]
    ranked = ranker.rank(close)
    assert [e.user for e in ranked] == ["specialist", "busy"]
    assert "answered 2 similar questions" in ranked[0].reasons[0]
    assert "duplicate charge" in ranked[0].reasons[0]
    # with no similar evidence at all, the people who answer most come first
    assert [e.user for e in ranker.rank([])] == ["busy", "specialist"]


def test_the_asker_is_never_suggested(store: Store) -> None:
    ids = entries(store, [("ada", "refunds"), ("ben", "refund policy")])
    ranked = ExpertRanker(store).rank([(ids[0], 0.9), (ids[1], 0.8)], exclude=["ada"])
    assert [e.user for e in ranked] == ["ben"]


def test_people_who_left_are_never_suggested_but_still_count_as_history(store: Store) -> None:
    ids = entries(store, [("ada", "refund twice"), ("ada", "duplicate charge"),
                          ("ben", "refund policy"), ("cy", "vpn"), ("cy", "vpn again")])
    ranker = ExpertRanker(store)
    near = [(ids[0], 0.9), (ids[1], 0.85), (ids[2], 0.6)]
    assert [e.user for e in ranker.rank(near)] == ["ada", "ben", "cy"]
    ExpertBook(store).set_deactivated("ada")
    ranked = ranker.rank_explained(near, k=2)
    assert [e.user for e in ranked.experts] == ["ben", "cy"] and ranked.left == ("ada",)
    assert [e.user for e in ranker.rank(near)] == ["ben", "cy"]
    # her answers still make up the history: "cy answers 2 of 5", not 2 of 3
    assert ranker.rank([])[0].score == pytest.approx(RoutingWeights().popularity * 2 / 5)
    # left out only when she would have ranked; the asker is not "left out"
    assert ranker.rank_explained([(ids[3], 0.9)], k=1).left == ()
    assert ranker.rank_explained(near, k=2, exclude=["ada"]).left == ()
    ExpertBook(store).set_deactivated("ada", False)
    assert ranker.rank(near)[0].user == "ada" and ExpertBook(store).departed() == set()


def test_ratings_and_recency_weigh_evidence(store: Store) -> None:
    ids = entries(store, [("old", "refund question"), ("new", "refund question too")])
    with store.transaction():
        store.db.execute("UPDATE entries SET created_at = ? WHERE id = ?",
                         ["2019-01-01T00:00:00Z", ids[0]])
    near = [(ids[0], 0.9), (ids[1], 0.9)]
    assert ExpertRanker(store).rank(near)[0].user == "new"  # equally similar, more recent
    rated = entries(store, [("liked", "refund q"), ("disliked", "refund q2")])
    with store.transaction():
        store.db.execute("UPDATE entries SET helpful_count = 4 WHERE id = ?", [rated[0]])
        store.db.execute("UPDATE entries SET not_helpful_count = 4 WHERE id = ?", [rated[1]])
    ranked = ExpertRanker(store, RoutingWeights(popularity=0)).rank(
        [(rated[1], 0.9), (rated[0], 0.9)])
    assert [e.user for e in ranked] == ["liked", "disliked"]
    assert "marked helpful 4 times" in ranked[0].reasons


def test_declared_and_group_topics_count(store: Store) -> None:
    ids = entries(store, [("ada", "anything")])
    book = ExpertBook(store)
    book.set_topics("UKIM", ["Billing", " billing ", "VPN"])
    assert book.topics("UKIM") == ["billing", "vpn"]
    book.map_group("S1", "netops", "vpn")
    book.set_group_members("S1", ["ULEE"])
    ranked = ExpertRanker(store).rank([(ids[0], 0.3)], topics=["vpn"])
    users = {e.user: e for e in ranked}
    assert {"UKIM", "ULEE"} <= set(users)
    assert any("knows about vpn" in r for r in users["ULEE"].reasons)


def test_question_topics_from_names_and_neighbours() -> None:
    neighbours = [(("billing", "refunds"), 0.8), (("billing",), 0.7), (("vpn",), 0.3)]
    assert question_topics(neighbours, "my VPN drops", ["vpn"])[:2] == ["vpn", "billing"]
    assert question_topics(neighbours, "a refund", [])[0] == "billing"


@pytest.mark.parametrize(("prefs", "extra", "why"), [
    (ExpertPrefs("U1", deactivated=True), {}, "has left"),
    (ExpertPrefs("U1", away_until=NOW + timedelta(days=2)), {}, "away until 26 Nov"),
    (ExpertPrefs("U1"), {"in_dnd": True}, "Do Not Disturb"),
    (ExpertPrefs("U1", tz_offset=-8 * 3600), {}, "outside working hours (Tue 02:00"),
    (ExpertPrefs("U1", tz_offset=9 * 3600), {}, "outside working hours (Tue 19:00"),
    (ExpertPrefs("U1"), {"open_routes": 3}, "already has 3 open questions"),
    (ExpertPrefs("U1"), {"asked_today": 5}, "today's limit of 5"),
    (ExpertPrefs("U1", daily_cap=1), {"asked_today": 1}, "today's limit of 1"),
])
def test_unavailable_because(prefs: ExpertPrefs, extra: dict, why: str) -> None:
    facts = {"now": NOW, "open_routes": 0, "asked_today": 0, "in_dnd": False,
             "rules": AvailabilityRules(), **extra}
    assert why in unavailable_because(prefs, **facts)


def test_available_when_nothing_stands_in_the_way() -> None:
    prefs = ExpertPrefs("U1", away_until=NOW - timedelta(hours=1), tz_offset=3600)
    assert unavailable_because(prefs, now=NOW, open_routes=2, asked_today=4, in_dnd=False,
                               rules=AvailabilityRules()) is None


def test_expert_prefs_round_trip(store: Store) -> None:
    book = ExpertBook(store)
    book.set_away("U1", NOW)
    book.set_timezone("U1", "Europe/Paris", 3600)
    book.set_daily_cap("U1", 2)
    assert book.prefs("U1") == ExpertPrefs("U1", NOW, 2, "Europe/Paris", 3600, False)
    book.set_deactivated("U1")
    assert book.prefs("U1").deactivated


def question(store: Store) -> int:
    q, _ = QuestionBook(store).receive(AskInput("U9", "why?", QuestionSource.DM))
    return q.id


def test_each_person_is_asked_once_per_question(store: Store) -> None:
    routes = Routes(store)
    qid = question(store)
    assert routes.start(qid, 15) and not routes.start(qid, 15)
    first = routes.add(qid, "U1", 1, 0.5, ["because"])
    assert first is not None and first.reasons == ("because",)
    assert routes.add(qid, "U1", 2, 0.9, []) is None
    assert [r.expert for r in routes.open_for("U1")] == ["U1"]


def test_a_ladder_step_is_claimed_once(store: Store) -> None:
    clock_now = [NOW]
    timed = Store(store.db, clock=lambda: clock_now[0])
    routes = Routes(timed)
    qid = question(timed)
    routes.start(qid, 15)
    assert routes.due() == []
    clock_now[0] += timedelta(minutes=15)
    [due] = routes.due()
    assert routes.advance(due, LadderState.ROUTING, wait_minutes=15)
    assert not routes.advance(due, LadderState.ROUTING, wait_minutes=15)  # a second worker
    assert routes.ladder(qid).round == 2 and routes.due() == []
    assert routes.stop(qid, LadderState.ANSWERED) and not routes.stop(qid, LadderState.ANSWERED)


def test_responses_only_change_open_routes(store: Store) -> None:
    routes = Routes(store)
    qid = question(store)
    a = routes.add(qid, "U1", 1, 0, [])
    b = routes.add(qid, "U2", 1, 0, [])
    assert routes.respond(a.id, RouteStatus.ANSWERED)
    assert not routes.respond(a.id, RouteStatus.PASSED)
    assert [r.expert for r in routes.close_others(qid, a.id)] == ["U2"]
    assert routes.get(b.id).status is RouteStatus.CLOSED


def test_snoozed_routes_wake_up_once(store: Store) -> None:
    routes = Routes(store)
    qid = question(store)
    route = routes.add(qid, "U1", 1, 0, [])
    later = store.clock() + timedelta(hours=1)
    assert routes.respond(route.id, RouteStatus.SNOOZED, snoozed_until=later)
    assert routes.wake_snoozed(later - timedelta(minutes=1)) == []
    [woken] = routes.wake_snoozed(later)
    assert woken.status is RouteStatus.ASKED and routes.wake_snoozed(later) == []


def test_policy_sla_per_topic() -> None:
    policy = RoutingPolicy(sla_minutes=15, topic_sla=(("security", 5.0),))
    assert policy.sla_for("Security") == 5 and policy.sla_for("billing") == 15
    assert policy.sla_for(None) == 15


# -- the blend fitted to each organisation (knowledge/routing_fit.py) ---------------------------

def _history(store: Store, authors: list[str], tags: list[tuple[str, ...]]) -> list[PastAnswer]:
    ids = store.upsert_entries([EntryDraft(question=f"question {i}", answer="a", answered_by=who,
                                           tags=tag) for i, (who, tag) in
                                enumerate(zip(authors, tags, strict=True))]).created
    found = store.get_entries(ids)
    return [PastAnswer(i, found[i].answered_by, found[i].tags, found[i].created_at)
            for i in ids]


def score_grid(past: Sequence[PastAnswer], items: Sequence[HeldOut],
               grid: Sequence[RoutingWeights]) -> np.ndarray:
    """hit@1 + hit@5 (0, 1 or 2) of each weights (rows) on each held-out question (columns),
    as the fit scores them (EvidenceFrame)."""
    hit1, hit5 = EvidenceFrame.build(past, items, grid[0].recent_answers).hits(grid)
    return hit1.astype(np.int8) + hit5.astype(np.int8)


def _random_model(rng: random.Random, n: int = 12) -> HistoryModel:
    """A model of all six shares (12 coefficients), or of the first five (10: as fitted before
    the default blend was a share)."""
    return HistoryModel(tuple(rng.gauss(0, 1) for _ in range(n)),
                        tuple(rng.uniform(-1, 1) for _ in range(n)),
                        tuple(rng.uniform(0.5, 2) for _ in range(n)), 3.0)


def test_the_fit_scores_every_blend_and_model_exactly_as_the_ranker_ranks(store: Store) -> None:
    rng = random.Random(7)
    people = [f"u{i}" for i in range(12)]
    authors = [rng.choice(people[: rng.randint(1, 12)]) for _ in range(150)]
    tags = [tuple(rng.sample(["db", "vpn", "mail", "sso", "hr"], rng.randint(0, 2)))
            for _ in range(150)]
    past = _history(store, authors, tags)
    held = [HeldOut(rng.choice(people), NOW, tuple(sorted(
        ((p.entry_id, rng.uniform(0.1, 0.95)) for p in rng.sample(past, 110)),
        key=lambda n: -n[1])), exclude=(rng.choice(people),)) for _ in range(40)]
    held = [h for h in held if h.answered_by not in h.exclude]
    defaults = RoutingWeights()
    grid = [defaults,
            replace(defaults, similarity=0.0, topic_share=0.0, popularity=1.0),  # the busiest
            replace(defaults, neighbours=20, temperature=0.5, topic_share=0.0, popularity=1e-3),
            replace(defaults, temperature=0.1, topic_share=0.8, popularity=3.0, recent=1.0,
                    half_life_days=90.0),
            *(replace(defaults, model=_random_model(rng, n)) for n in (12, 12, 12, 10))]
    fitted = fit_weights([Fold(past, held)], entries=150, now=NOW)
    assert fitted.weights.model is not None
    grid.append(fitted.weights)
    fast = score_grid(past, held, grid)
    frame = EvidenceFrame.build(past, held, defaults.recent_answers)
    for row, weights in enumerate(grid):
        ranker = ExpertRanker(store, weights)
        history = frame.history(weights)
        for col, h in enumerate(held):
            top = ranker.rank(h.neighbours, exclude=h.exclude, k=5, now=NOW)
            ranked = [e.user for e in top]
            expected = int(ranked[:1] == [h.answered_by]) + int(h.answered_by in ranked)
            assert fast[row, col] == expected, (weights, col)
            for e in top:  # the same scores, not only the same order
                assert e.score == pytest.approx(history[col, frame.people.index(e.user)],
                                                rel=1e-9, abs=1e-12)


def test_the_evidence_shares_summarise_the_coefficients() -> None:
    """A share and its logarithm count together, the two votes as "similar questions"; a
    feature that never varied (here the topics: no tags) says nothing."""
    model = HistoryModel((1.0, -1.0, 5.0, 0.5, 0.0, 2.0, 0.0, 5.0, -1.5, 0.0), (0.0,) * 10,
                         (1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0), 3.0)
    assert model.evidence_shares() == {"similar questions": 4 / 6, "volume": 2 / 6,
                                       "latest answers": 0.0}
    assert "topics" not in model.describe() and model.describe(2) == (
        "log sharp vote +2.00, log volume -1.50")


def test_the_model_recovers_the_organisation_it_was_drawn_from() -> None:
    """Answerers drawn from a known conditional logit: the fitted model predicts new questions
    almost as well as the truth does, and far better than a uniform guess."""
    rng = np.random.default_rng(11)
    truth = HistoryModel(tuple(rng.normal(0, 1, 10)), (0.0,) * 10, (1.0,) * 10, 0.0)

    def draw(items: int, people: int = 8):
        shares = rng.dirichlet(np.ones(people) * 0.5, size=(items, 5)).transpose(0, 2, 1)
        allowed = np.ones((items, people), dtype=bool)
        p = truth.probabilities(shares, allowed)
        answer = np.array([rng.choice(people, p=row) for row in p])
        return shares, allowed, answer

    model = fit_model([draw(300), draw(300), draw(300)])
    assert model is not None and model.questions == 900
    shares, allowed, answer = draw(2000)

    def nll(m: HistoryModel) -> float:
        p = m.probabilities(shares, allowed)
        return float(-np.log(p[np.arange(len(answer)), answer]).mean())

    assert nll(model) < nll(truth) * 1.05
    assert nll(model) < np.log(8) * 0.9
    # the gradient the fit follows is the likelihood's (checked by finite differences)
    w = rng.normal(0, 1, 10)
    block = [(np.concatenate([shares[:50], np.log(shares[:50] + 1e-3)], axis=2),
              allowed[:50], answer[:50])]
    value, grad = loss(w, block, 3.0)
    for k in range(10):
        step = np.zeros(10)
        step[k] = 1e-6
        assert (loss(w + step, block, 3.0)[0] - value) / 1e-6 == pytest.approx(grad[k], abs=1e-4)


def _one_person_answers_most(store: Store) -> tuple[list[PastAnswer], list[HeldOut]]:
    """`boss` answers nine questions in ten, but the most similar old questions are always
    someone else's: the defaults follow similarity, the right answer is popularity."""
    rng = random.Random(3)
    authors = ["boss" if i % 10 else f"helper{i % 3}" for i in range(200)]
    past = _history(store, authors, [()] * 200)
    by_boss = [p for p in past if p.answered_by == "boss"]
    held = []
    for i in range(60):
        helper = f"helper{rng.randrange(3)}"
        near = [(p.entry_id, 0.9) for p in past if p.answered_by == helper][:5]
        near += [(p.entry_id, 0.3) for p in rng.sample(by_boss, 60)]
        held.append(HeldOut("boss" if i % 10 else "helper0", NOW, tuple(near)))
    return past, held


def test_where_one_person_answers_everything_the_fit_leans_on_popularity(store: Store) -> None:
    past, held = _one_person_answers_most(store)
    fit = fit_weights([Fold(past, held[:30])], entries=230, now=NOW)
    assert fit.fitted and fit.name == "likelihood", fit.reason
    assert fit.weights.model is not None
    assert fit.score is not None and fit.defaults_score is not None
    assert fit.score.hit1 > fit.defaults_score.hit1
    # and on questions the fit never saw, it beats the defaults too
    later = held[30:]
    fitted, defaults = (score_grid(past, later, [w]).sum() for w in (fit.weights,
                                                                     RoutingWeights()))
    assert fitted > defaults


def test_the_nested_estimate_chooses_on_the_older_folds_and_scores_on_the_newest(
        store: Store) -> None:
    """The older folds say "ask the boss"; in the newest, the helpers answer what they answered
    before. The in-sample figure pools every fold; the honest one is what the older folds'
    pick scores on the newest."""
    past, held = _one_person_answers_most(store)
    by_boss = [h for h in held if h.answered_by == "boss"]
    helpers = [HeldOut(f"helper{i % 3}", NOW, tuple(
        [(p.entry_id, 0.95) for p in past if p.answered_by == f"helper{i % 3}"][:5]
        + [(p.entry_id, 0.3) for p in past if p.answered_by == "boss"][:40])) for i in range(20)]
    newest, older = Fold(past, helpers), [Fold(past, by_boss[:27]), Fold(past, by_boss[27:])]
    fit = fit_weights([newest, *older], entries=260, now=NOW)
    assert fit.fitted and fit.nested is not None and fit.nested_held_out == 20
    alone = fit_weights(older, entries=260, now=NOW)  # the fit on the older folds alone
    assert fit.nested_name == alone.name == "likelihood"
    picked = alone.weights
    expected = score_grid(past, helpers, [picked])[0]
    assert fit.nested.hit1 + fit.nested.hit5 == pytest.approx(expected.mean())
    assert fit.nested.hit1 < 0.2 < fit.score.hit1  # the boss is never first in the newest
    # stored and read back; a fit stored before the estimate existed still reads
    assert RoutingFit.from_json(fit.to_json()) == fit
    old = json.loads(fit.to_json())
    for key in ("nested", "nested_held_out", "nested_name"):
        del old[key]
    assert RoutingFit.from_json(json.dumps(old)) == replace(fit, nested=None, nested_held_out=0,
                                                            nested_name="")
    # one fold only: nothing older to choose on, no estimate
    assert fit_weights([newest, *older][:1], entries=260, now=NOW).nested is None


def test_the_one_standard_error_rule_keeps_the_simplest_unless_clearly_beaten() -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 3, 200)
    noisy = np.clip(base + rng.choice([-1, 0, 1], 200, p=[0.2, 0.5, 0.3]), 0, 2)  # not clearly
    much = np.minimum(base + 1, 2)  # better on most questions
    terms = [3, 1, 4]  # the defaults, a one-term reference, a four-term blend
    assert choose(np.stack([base, base, noisy]), terms) == (1, 2)  # tied: the simplest
    assert choose(np.stack([base, base - (base > 0), noisy]), terms) == (0, 2)  # then defaults
    assert choose(np.stack([base, base, much]), terms) == (2, 2)  # clearly better: kept
    # among tied candidates as simple as each other, the rows named first win, in order
    four = np.stack([base, base, noisy, base])
    assert choose(four, [3, 1, 4, 1]) == (1, 2)  # otherwise the better mean, then the row
    assert choose(four, [3, 1, 4, 1], first=[3, 0]) == (3, 2)  # "the similar vote" first
    assert choose(np.stack([base, much, much - (much > 0)]), [3, 1, 1], first=[2, 0]) == (1, 1)


def test_the_penalty_follows_the_evidence_noise_is_shrunk_a_strong_signal_is_not() -> None:
    """The penalty is chosen by how well fits on older folds predict newer ones: where who
    answers has nothing to do with the evidence, the strongest wins; where it follows the
    evidence closely, a weak one."""
    rng = np.random.default_rng(5)
    strong = HistoryModel((0.0,) * 5 + (3.0, 0.0, 0.0, 2.0, 0.0), (0.0,) * 10, (1.0,) * 10, 0.0)

    def fold(items: int, signal: bool):
        shares = rng.dirichlet(np.ones(6) * 0.5, size=(items, 5)).transpose(0, 2, 1)
        allowed = np.ones((items, 6), dtype=bool)
        p = strong.probabilities(shares, allowed) if signal else np.full((items, 6), 1 / 6)
        return shares, allowed, np.array([rng.choice(6, p=row) for row in p])

    noise = fit_model([fold(40, False) for _ in range(3)])
    signal = fit_model([fold(300, True) for _ in range(3)])
    assert noise is not None and signal is not None
    assert noise.penalty == max(PENALTIES) and signal.penalty < max(PENALTIES)
    assert max(abs(c) for c in noise.coefficients) < max(abs(c) for c in signal.coefficients)


def _topics_change_hands(store: Store, dated: bool) -> list[Fold]:
    """Four topics; whoever answered topic k 8 months ago (u{k}) now answers topic k + 1, so
    everyone is as busy, lately and overall, and a question's similar entries are half the old
    owner's, half the new one's. Only their age tells who answers now: the new owner. Without
    dates every entry is of one day. Three folds of newer questions, newest first."""
    rng = random.Random(11)
    rows = []
    for k in range(4):
        for _ in range(15):
            rows.append((f"u{k}", k, NOW - timedelta(days=220 + rng.randrange(40))))
            rows.append((f"u{(k - 1) % 4}", k, NOW - timedelta(days=100 + rng.randrange(40))))
    ids = store.upsert_entries([EntryDraft(
        question=f"topic {k} question {i}", answer="a", answered_by=who, tags=(f"t{k}",),
        created_at=when if dated else NOW - timedelta(days=400))
        for i, (who, k, when) in enumerate(rows)]).created
    found = store.get_entries(ids)
    past = [PastAnswer(i, found[i].answered_by, found[i].tags, found[i].created_at)
            for i in ids]
    folds = []
    for f in range(3):
        held = []
        for _ in range(40):
            k = rng.randrange(4)
            near = sorted(((p.entry_id, rng.uniform(0.5, 0.95)) for p in past
                           if p.tags == (f"t{k}",)), key=lambda n: -n[1])
            held.append(HeldOut(f"u{(k - 1) % 4}",
                                NOW - timedelta(days=30 * f + rng.randrange(30)), tuple(near)))
        folds.append(Fold(past, held))
    return folds


def test_with_dates_the_fit_chooses_how_fast_an_answers_evidence_fades(store: Store) -> None:
    """Who answers a topic changes hands: with dates, the fit tries each evidence half-life
    beside the penalties and keeps the one whose fits on older folds predict newer ones best, a
    short one here; the ranker ranks with it (the fit's scores are the ranker's)."""
    folds = _topics_change_hands(store, dated=True)
    fit = fit_weights(folds, entries=120, now=NOW)
    assert fit.fitted and fit.weights.model is not None
    assert fit.weights.half_life_days in HALF_LIVES and fit.weights.half_life_days <= 180
    assert "chosen among 45, 90, 180, 365, 730, 1460" in fit.reason
    assert fit.score is not None and fit.defaults_score is not None
    assert fit.score.hit1 > 0.9 > 0.8 > fit.defaults_score.hit1  # the defaults: 730 days
    slow = replace(fit.weights, half_life_days=1460.0)
    newest = folds[0]
    fast_hits, slow_hits = (score_grid(newest.past, newest.held_out, [w]).sum()
                            for w in (fit.weights, slow))
    assert fast_hits > slow_hits
    for h in newest.held_out[:10]:  # the ranker ranks with the half-life chosen
        ranked = ExpertRanker(store, fit.weights).rank(h.neighbours, k=1, now=h.asked_at)
        assert ranked[0].user == h.answered_by
    assert RoutingFit.from_json(fit.to_json()).weights == fit.weights  # stored as chosen


def test_without_dates_the_evidence_half_life_stays_the_default(store: Store) -> None:
    fit = fit_weights(_topics_change_hands(store, dated=False), entries=120, now=NOW)
    assert fit.fitted and fit.weights.half_life_days == RoutingWeights().half_life_days
    assert "the history's answers are all of one date" in fit.reason


def test_choosing_among_variants_keeps_the_one_that_predicts_newer_folds() -> None:
    """fit_choosing: of two ways to compute the same questions' shares, the one the answerers
    follow wins wherever it is listed, and each variant is built only when needed."""
    rng = np.random.default_rng(9)
    strong = HistoryModel((0.0,) * 5 + (3.0, 0.0, 0.0, 2.0, 0.0), (0.0,) * 10, (1.0,) * 10, 0.0)
    informative, noise = [], []
    for _ in range(3):
        shares = rng.dirichlet(np.ones(6) * 0.5, size=(200, 5)).transpose(0, 2, 1)
        allowed = np.ones((200, 6), dtype=bool)
        p = strong.probabilities(shares, allowed)
        truth = np.array([rng.choice(6, p=row) for row in p])
        informative.append((shares, allowed, truth))
        noise.append((rng.permuted(shares, axis=1), allowed, truth))
    built: list[str] = []

    def variant(name: str, blocks):
        return lambda: built.append(name) or blocks

    for order in (["noise", "informative"], ["informative", "noise"]):
        built.clear()
        blocks = {"noise": noise, "informative": informative}
        chosen = fit_choosing([variant(name, blocks[name]) for name in order])
        assert chosen is not None and order[chosen[0]] == "informative"
        assert built == [*order, "informative"]  # each scored once, the winner built again
    assert fit_choosing([lambda: [(np.zeros((0, 6, 5)), np.zeros((0, 6), dtype=bool),
                                   np.zeros(0, dtype=int))]]) is None


def test_the_penalty_shrinks_the_model_towards_the_defaults_ranking(store: Store) -> None:
    """The default blend is a share whose logarithm the penalty spares: under a penalty strong
    enough to silence every other coefficient, the fitted ranker ranks as the defaults do (not
    everyone alike); under a weak one, the history moves it away."""
    rng = random.Random(21)
    people = [f"u{i}" for i in range(6)]
    past = _history(store, [rng.choice(people) for _ in range(80)],
                    [tuple(rng.sample(["db", "vpn", "mail"], 1)) for _ in range(80)])

    def held(n: int) -> list[HeldOut]:  # u0 answers whatever the evidence says
        return [HeldOut("u0", NOW, tuple(sorted(
            ((p.entry_id, rng.uniform(0.3, 0.9)) for p in rng.sample(past, 40)),
            key=lambda x: -x[1]))) for _ in range(n)]

    frames = fold_frames([Fold(past, held(20)) for _ in range(3)], RoutingWeights())

    def ranking(penalty: float) -> list[list[str]]:
        model = fit_model([f.block(RoutingWeights()) for f in frames], penalties=(penalty,))
        assert model is not None and model.names[-1] == "log default blend"
        weights = replace(RoutingWeights(), model=model)
        return [[e.user for e in ExpertRanker(store, weights).rank(h.neighbours, now=NOW)]
                for h in later]

    later = held(20)
    defaults = [[e.user for e in ExpertRanker(store, RoutingWeights()).rank(h.neighbours,
                                                                             now=NOW)]
                for h in later]
    assert ranking(1e9) == defaults
    weak = ranking(0.01)
    assert weak != defaults and all(r[0] == "u0" for r in weak)


def test_a_large_organisation_fits_on_its_newest_questions_within_the_memory_bound(
        store: Store) -> None:
    """Each (question, person) pair costs memory during a fit: past the bound, every fold
    keeps its newest questions only, and the record says how many were scored."""
    past, held = _one_person_answers_most(store)  # 4 people answered before
    whole = fit_weights([Fold(past, held)], entries=260, now=NOW)
    assert whole.held_out == 60
    bounded = fit_weights([Fold(past, held)], entries=260, now=NOW, max_cells=100)
    assert bounded.fitted and bounded.held_out == 25 and bounded.weights.model.questions == 25
    assert bounded == fit_weights([Fold(past, held[-25:])], entries=260, now=NOW)
    two = within_memory([Fold(past, held[:30]), Fold(past, held[30:])], max_cells=100)
    assert [list(f.held_out) for f in two] == [held[18:30], held[48:]]  # 100 // (2 x 4) = 12


def test_a_small_history_keeps_the_defaults_and_says_why(store: Store) -> None:
    past, held = _one_person_answers_most(store)
    fit = fit_weights([Fold(past[:30], held)], entries=40, now=NOW)
    assert not fit.fitted and fit.weights == RoutingWeights()
    assert "only 40 answered entries" in fit.reason
    few = fit_weights([Fold(past, held[:3]), Fold(past, held[3:6])], entries=206, now=NOW)
    assert not few.fitted and "only 6 newer questions" in few.reason


def test_a_fit_changes_rankings_only_once_stored(store: Store) -> None:
    past, held = _one_person_answers_most(store)
    ranker = ExpertRanker(store, cache_seconds=0)
    question = held[0].neighbours
    before = [e.user for e in ranker.rank(question)]
    assert before[0] != "boss" and not ranker.fit.fitted
    fit = fit_weights([Fold(past, held)], entries=260, now=NOW)
    assert [e.user for e in ranker.rank(question)] == before  # fitted, not stored
    save_fit(store, fit)
    assert ranker.fit == fit and load_fit(store) == fit
    assert ranker.rank(question)[0].user == "boss"


def test_a_hit_rates_interval_is_wilsons_and_narrows_with_more_questions() -> None:
    """The honest estimate is shown with how far chance alone may move it (Wilson, 95%)."""
    lo, hi = interval(0.5, 100)
    assert abs(lo - 0.4038) < 1e-3 and abs(hi - 0.5962) < 1e-3
    assert interval(0.0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))  # never below 0
    assert interval(1.0, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)  # nor above 1
    assert interval(0.3, 0) == (0.0, 1.0)  # no questions: nothing is known
    small, large = interval(0.3, 20), interval(0.3, 2000)
    assert small[0] < large[0] < 0.3 < large[1] < small[1]
