"""Render the HTML report of the test fixture database and screenshot it for docs/.

    HF_HUB_OFFLINE=1 python -m bench.report_screenshot [--out docs/report.png]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import onnx_embedder
from index.gaps import knowledge_gaps
from knowledge.analytics import Analytics
from switchboard.report import FullReport, html_report
from tests.report_fixture import END, build


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/report.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    store, _ = build(folder / "fixture.db")
    figures = Analytics(store).report(days=7, now=END)
    full = FullReport(figures, knowledge_gaps(onnx_embedder(), figures.unanswered),
                      datetime(2026, 11, 20, 17, 5, tzinfo=UTC))
    page_path = folder / "report.html"
    page_path.write_text(html_report(full), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(page_path.as_uri())
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
