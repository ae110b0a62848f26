"""Analytics on a fixture database whose every figure is known."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from knowledge.analytics import ANSWERED_BY, Analytics, percentile
from knowledge.escalation import ANSWERED_BEFORE, FALLBACK_ANSWER, Routes
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.store import Store
from tests.clock import ManualClock
from tests.report_fixture import END, build


@pytest.fixture
def report(tmp_path: Path):
    store, _ = build(tmp_path / "fixture.db")
    yield Analytics(store).report(days=7, now=END)
    store.close()


def test_outcomes_and_shares(report) -> None:
    assert report.total == 10
    assert report.outcomes == {"self_serve": 4, "expert": 3, "suggested": 1, "unanswered": 2}
    assert report.share("self_serve") == pytest.approx(0.4)
    assert report.share("expert") == pytest.approx(0.3)


def test_questions_per_day(report) -> None:
    assert len(report.per_day) == 7 and sum(n for _, n in report.per_day) == 10
    assert report.per_day[-1][0] == END.date()


def test_times(report) -> None:
    # first answer: 3 confident bot answers at 2 s; 3 expert answers 10, 30 and 20 minutes
    # after the bot's "not found" reply (2 s after asking)
    assert report.first_answer.count == 6
    assert report.first_answer.p50 == pytest.approx((2 + 602) / 2)
    assert report.first_answer.p90 == pytest.approx(1202 + 0.5 * 600)
    # resolution: the solved suggestion (2 s) and the three expert answers
    assert report.resolution.count == 4
    assert report.resolution.p50 == pytest.approx((602 + 1202) / 2)


def test_expert_load(report) -> None:
    loads = {e.expert: e for e in report.experts}
    assert (loads["UERIN"].asked, loads["UERIN"].answered) == (2, 2)
    assert (loads["UOMAR"].asked, loads["UOMAR"].answered, loads["UOMAR"].passed) == (2, 1, 1)
    assert loads["UERIN"].response_p50 == pytest.approx(1200)


def test_routing_in_the_fixture(report) -> None:
    # three routed questions, each answered by the first person asked (Erin's 0.5 before
    # Omar's 0.4 in the one where Omar passed)
    assert report.routing.routed == 3
    assert report.routing.answered_by == {**dict.fromkeys(ANSWERED_BY, 0), "first": 3}
    assert report.routing.share("first") == 1.0


def test_who_answered_routed_questions_by_their_place_in_the_asking_order(
        tmp_path: Path) -> None:
    clock = ManualClock(END - timedelta(days=1))
    store = Store.open(tmp_path / "routing.db", clock=clock)
    book, routes = QuestionBook(store), Routes(store)

    def routed(asked: list[tuple], answerer: str | None) -> None:
        clock.now += timedelta(minutes=30)
        q, _ = book.receive(AskInput("UASK", f"question {clock.now}", QuestionSource.DM,
                                     channel="D1", message_ts=f"{clock.now.timestamp():.6f}"))
        routes.start(q.id, 15)
        for expert, round_, score, suggested_by, *why in asked:
            routes.add(q.id, expert, round_, score, why or ["x"], suggested_by=suggested_by)
        if answerer:
            book.record_expert_answer(q.id, answerer, "the answer")

    first_round = [("UA", 1, 0.3, None), ("UB", 1, 0.6, None)]  # UB is the top choice
    routed(first_round, "UB")  # first (asked in the same round, but the higher score)
    routed(first_round, "UA")  # another person of the first round
    routed([*first_round, ("UC", 2, 0.2, None)], "UC")  # the ladder's second round
    routed([*first_round, ("UD", 2, 0.1, "UA")], "UD")  # suggested by UA, who passed
    routed(first_round, "UZ")  # answered from the fallback channel, never asked
    # the bot records a route for someone who answers from the fallback channel (the
    # ladder's round), and one in round 0 when someone who answered without a route is asked
    # for more: neither was asked before the answer
    routed([*first_round, ("UY", 1, 0.0, None, FALLBACK_ANSWER)], "UY")
    routed([*first_round, ("UX", 0, 0.0, None, ANSWERED_BEFORE)], "UX")
    routed(first_round, None)  # nobody answered yet
    routed([("UE", 1, 0.9, None)], "UE")
    clock.now += timedelta(minutes=1)
    withdrawn, _ = book.receive(AskInput("UASK", "never mind", QuestionSource.DM,
                                         channel="D1", message_ts="1.000001"))
    routes.start(withdrawn.id, 15)
    routes.add(withdrawn.id, "UA", 1, 0.5, ["x"])
    book.withdraw(withdrawn.id)

    found = Analytics(store).report(days=7, now=clock.now).routing
    assert found.routed == 9  # the withdrawn question is left out, as everywhere
    assert found.answered == 8
    assert found.answered_by == {"first": 2, "first_round": 1, "later": 1, "suggested": 1,
                                 "not_asked": 3}
    assert found.share("first") == pytest.approx(2 / 8)
    # a period before any of them has none
    assert Analytics(store).report(days=7, now=END - timedelta(days=2)).routing.routed == 0
    store.close()


def test_entries_and_gaps(report) -> None:
    assert report.most_used[0].question == "How do refunds work?"
    assert report.most_used[0].used == 2
    assert [e.question for e in report.least_helpful] == ["VPN drops hourly"]
    assert sorted(u.text for u in report.unanswered) == [
        "parking at the Lisbon office", "where can I park my car in Lisbon office"]


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([0.0, 10.0], 90) == 9.0
