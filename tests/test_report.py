"""`switchboard report` on the fixture database: the terminal tables and the HTML report, which
is opened in headless Chromium (no console errors, charts drawn) and screenshotted."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from switchboard.cli import main
from switchboard.report import volume_buckets
from tests.report_fixture import build

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def home(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    store, _ = build(tmp_path / "home" / "switchboard.db")
    store.close()
    return {"SWITCHBOARD_HOME": str(tmp_path / "home"),
            "SWITCHBOARD_MODEL_CACHE": str(model_cache), "COLUMNS": "140"}


def test_terminal_report(home: dict[str, str]) -> None:
    done = CliRunner().invoke(main, ["report", "--days", "3650"], env=home)
    assert done.exit_code == 0, done.output
    out = done.output
    assert "10 questions" in out
    assert re.search(r"Self-serve \(bot alone\)\s+│\s+4\s+│\s+40%", out)
    assert re.search(r"Answered by an expert\s+│\s+3\s+│\s+30%", out)
    assert re.search(r"time to first answer\s+│\s+6\s+│\s+5.0 min", out)
    assert re.search(r"UOMAR\s+│\s+2\s+│\s+1\s+│\s+1\s+│\s+0", out)
    # the three routed questions were all answered by the first person asked
    assert re.search(r"the first person asked\s+│\s+3\s+│\s+100%", out)
    assert re.search(r"someone the escalation ladder asked later\s+│\s+0\s+│\s+0%", out)
    assert "3 questions routed, 3 answered by a person" in out
    # ten years: questions per year, not 3,650 rows of days
    assert "Questions per year" in out and re.search(r"2026\s+│\s+10\s+│", out)
    assert "Thu 19 Nov" not in out
    # the two parking questions are one gap
    assert re.search(r"│\s+2\s+│ (parking at the Lisbon office|where can I park)", out)


def test_html_report_opens_in_headless_chromium(home: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    target = tmp_path / "report.html"
    done = CliRunner().invoke(main, ["report", "--days", "3650", "--html", str(target)],
                              env=home)
    assert done.exit_code == 0, done.output
    html = target.read_text()
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?https?:""", html)  # self-contained
    assert "<script" not in html and html.count("<svg") == 3
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.goto(target.as_uri())
        assert page.title().startswith("Switchboard report")
        assert page.locator("h2", has_text="Questions per year").count() == 1
        assert page.locator("#total").inner_text() == "10"
        assert page.locator("svg").count() == 3
        box = page.locator("svg").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100
        assert "parking" in page.locator("body").inner_text()
        first = page.locator("#routed tbody tr").first.locator("td")
        assert first.all_inner_texts() == ["the first person asked", "3", "100%"]
        assert page.locator("#routed tbody tr").count() == 5
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_question_volume_reads_per_day_week_month_or_year_by_the_period() -> None:
    end = date(2026, 11, 20)  # a Friday

    def period(days: int) -> list[tuple[date, int]]:
        return [(end - timedelta(days=days - 1 - i), i % 3) for i in range(days)]

    for days, unit, buckets in ((7, "day", 7), (31, "day", 31), (32, "week", 5),
                                (183, "week", 27), (184, "month", 7), (1096, "month", 37),
                                (3650, "year", 11)):
        found, rows = volume_buckets(period(days))
        assert (found, len(rows)) == (unit, buckets), days
        assert sum(n for _, _, n in rows) == sum(n for _, n in period(days))  # nothing lost
    _, weeks = volume_buckets(period(60))
    assert weeks[-1][0] == "week of 16 Nov 2026"  # weeks start on Monday
    _, months = volume_buckets(period(400))
    assert [label for label, _, _ in months[-2:]] == ["Oct 2026", "Nov 2026"]


def test_the_terminal_lists_the_25_most_asked_experts_and_sums_the_rest(tmp_path: Path) -> None:
    from dataclasses import replace

    from rich.console import Console

    from knowledge.analytics import Analytics, ExpertLoad
    from switchboard.report import FullReport, print_report
    from tests.report_fixture import END

    store, _ = build(tmp_path / "many.db")
    report = Analytics(store).report(days=7, now=END)
    store.close()
    loads = [ExpertLoad(f"U{i:03d}", 40 - i, 1, 2, 1, 60.0) for i in range(30)]
    console = Console(record=True, width=140)
    print_report(FullReport(replace(report, experts=loads), [], END), console)
    text = console.export_text()
    assert "U024" in text and "U025" not in text
    # the five left out: asked 15 + 14 + 13 + 12 + 11, each answered 1, passed 2, open 1
    assert re.search(r"… 5 more \(--html lists everyone\)\s+│\s+65\s+│\s+5\s+│\s+10\s+│\s+5",
                     text)
