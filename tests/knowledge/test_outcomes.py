"""What routed questions teach the ranker (knowledge/outcomes.py), on a real SQLite file with a
hand-moved clock: each response's signal, the snooze count kept by the migration's trigger,
similarity weighting, decay with age, and the ranking moving the expected way."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from knowledge.escalation import LadderState, Routes, RouteStatus
from knowledge.expert_ranking import ExpertRanker, RoutingWeights
from knowledge.models import EntryDraft
from knowledge.outcomes import Outcomes
from knowledge.questions import AskInput, QuestionBook, QuestionSource, Verdict
from knowledge.store import Store
from tests.clock import ManualClock


@pytest.fixture
def timed(open_store) -> Store:
    return open_store(ManualClock())


def routed(store: Store, responses: dict[str, str], answer_minutes: float = 5.0,
           solved: bool = False) -> int:
    """A routed question where each person responded as given (answered, passed, snoozed,
    silent); the one who answered did so after `answer_minutes`."""
    book, routes = QuestionBook(store), Routes(store)
    question, _ = book.receive(AskInput("UASK", "how do refunds work?", QuestionSource.DM))
    routes.start(question.id, 15)
    made = {who: routes.add(question.id, who, 1, 0.0, ()) for who in responses}
    for who, how in responses.items():
        if how == "passed":
            routes.respond(made[who].id, RouteStatus.PASSED)
        elif how == "snoozed":
            routes.respond(made[who].id, RouteStatus.SNOOZED,
                           snoozed_until=store.clock() + timedelta(hours=1))
    store.clock.advance(answer_minutes)
    for who, how in responses.items():
        if how == "answered":
            book.record_expert_answer(question.id, who, "Like this.")
            routes.respond(made[who].id, RouteStatus.ANSWERED)
            routes.close_others(question.id, made[who].id)
            routes.stop(question.id, LadderState.ANSWERED)
            if solved:
                book.record_feedback(question.id, "UASK", Verdict.SOLVED)
    return question.id


DEFAULTS = RoutingWeights()


def evidence(store: Store, similar, weights: RoutingWeights = DEFAULTS):
    return Outcomes(store).evidence(similar, now=store.clock(), weight=weights.outcomes,
                                    temperature=weights.outcome_temperature,
                                    half_life_days=weights.outcome_half_life_days)


def test_each_response_says_something(timed: Store) -> None:
    qid = routed(timed, {"UFAST": "answered", "UPASS": "passed", "USNOOZE": "snoozed",
                         "USILENT": "silent"}, solved=True)
    [outcomes] = Outcomes(timed).of([qid]).values()
    kinds = {o.expert: o.kind for o in outcomes}
    assert kinds == {"UFAST": "answered", "UPASS": "passed", "USNOOZE": "snoozed",
                     "USILENT": "silent"}
    fast = next(o for o in outcomes if o.expert == "UFAST")
    assert fast.solved and fast.minutes == pytest.approx(5.0)
    terms = {u: e.term for u, e in evidence(timed, [(qid, 0.95)]).items()}
    assert terms["UFAST"] > 0 > terms["USILENT"] == terms["USNOOZE"] > terms["UPASS"]
    # a question still waiting says nothing yet about those asked
    waiting = routed(timed, {"UWAIT": "silent"})
    assert Outcomes(timed).of([waiting]) == {}


def test_faster_and_solved_answers_count_more(timed: Store) -> None:
    slow = routed(timed, {"U1": "answered"}, answer_minutes=600)
    quick = routed(timed, {"U1": "answered"}, answer_minutes=2)
    solved = routed(timed, {"U1": "answered"}, answer_minutes=600, solved=True)
    term = {q: evidence(timed, [(q, 0.9)])["U1"].term for q in (slow, quick, solved)}
    assert term[solved] > term[quick] > term[slow] > 0


def test_a_woken_snooze_is_still_counted(timed: Store) -> None:
    qid = routed(timed, {"USNOOZE": "snoozed", "UOTHER": "silent"})
    routes = Routes(timed)
    assert [r.expert for r in routes.wake_snoozed(timed.clock() + timedelta(hours=2))] == [
        "USNOOZE"]
    route = routes.find(qid, "USNOOZE")
    assert route.status is RouteStatus.ASKED  # woken: it reads "asked" again
    assert routes.respond(route.id, RouteStatus.SNOOZED)  # and snoozed a second time
    [snooze] = [o for o in Outcomes(timed).of([qid])[qid] if o.expert == "USNOOZE"]
    assert snooze.kind == "snoozed" and snooze.snoozes == 2


def test_evidence_weighs_similarity_and_decays_with_age(timed: Store) -> None:
    qid = routed(timed, {"U1": "answered", "U2": "passed"})
    close, near, far = (evidence(timed, [(qid, s)])["U1"].term for s in (0.95, 0.6, 0.2))
    assert close > near > far > 0
    sharp = replace(DEFAULTS, outcome_temperature=0.1)  # a sharper kernel: far counts ~nothing
    close, far = (evidence(timed, [(qid, s)], sharp)["U1"].term for s in (0.95, 0.5))
    assert close > 10 * far > 0
    now = evidence(timed, [(qid, 0.95)])
    half_life = RoutingWeights().outcome_half_life_days
    timed.clock.advance(days=half_life)
    later = evidence(timed, [(qid, 0.95)])
    assert 0 < later["U1"].term < now["U1"].term and now["U2"].term < later["U2"].term < 0
    timed.clock.advance(days=20 * half_life)
    assert abs(evidence(timed, [(qid, 0.95)])["U1"].term) < 1e-4
    assert evidence(timed, [(qid, 0.95)], RoutingWeights(outcomes=0.0)) == {}


def test_the_ranker_lifts_who_answers_and_sinks_who_passes(timed: Store) -> None:
    ids = timed.upsert_entries([
        EntryDraft(question=f"refund question {i}", answer="a", answered_by=who)
        for i, who in enumerate(["UPASS", "UPASS", "UANSWER"])]).created
    neighbours = [(ids[0], 0.8), (ids[1], 0.78), (ids[2], 0.7)]
    ranker = ExpertRanker(timed, cache_seconds=0)
    before = [e.user for e in ranker.rank(neighbours)]
    assert before == ["UPASS", "UANSWER"]
    asked = [routed(timed, {"UPASS": "passed", "UANSWER": "answered"}) for _ in range(3)]
    after = ranker.rank(neighbours, routed=[(q, 0.9) for q in asked])
    assert [e.user for e in after] == ["UANSWER", "UPASS"]
    assert any("answered 3 similar routed questions" in r for r in after[0].reasons)
    assert any("passed on 3 similar routed questions" in r for r in after[1].reasons)
    # evidence on less similar questions moves people less
    lift = {e.user: e.score for e in after}
    for cosine in (0.5, 0.1):
        weaker = {e.user: e.score for e in ranker.rank(neighbours,
                                                       routed=[(q, cosine) for q in asked])}
        assert lift["UANSWER"] > weaker["UANSWER"] and lift["UPASS"] < weaker["UPASS"]
        lift = weaker


def test_one_whose_passes_outweigh_their_history_sinks_last_but_stays_listed(
        timed: Store) -> None:
    """On a small team the ladder may still need them: below everyone, never gone."""
    ids = timed.upsert_entries([
        EntryDraft(question=f"refund question {i}", answer="a", answered_by=who)
        for i, who in enumerate(["UANSWER", "UANSWER", "UOTHER", "UPASS"])]).created
    neighbours = [(ids[0], 0.8), (ids[1], 0.78), (ids[2], 0.7), (ids[3], 0.5)]
    ranker = ExpertRanker(timed, cache_seconds=0)
    asked = [routed(timed, {"UPASS": "passed", "UANSWER": "answered"}) for _ in range(5)]
    after = ranker.rank(neighbours, routed=[(q, 0.95) for q in asked])
    assert [e.user for e in after] == ["UANSWER", "UOTHER", "UPASS"]
    assert after[-1].score < 0
    assert any("passed on 5 similar routed questions" in r for r in after[-1].reasons)
    # someone nothing speaks for is still not listed
    assert "UNOBODY" not in [e.user for e in after]
