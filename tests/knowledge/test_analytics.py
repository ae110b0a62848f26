"""Analytics on a fixture database whose every figure is known."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.analytics import Analytics, percentile
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
