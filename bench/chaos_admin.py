"""Admin load: many long unanswered questions, then admin Home opens and admin clicks.

    HF_HUB_OFFLINE=1 python -m bench.chaos_admin [--quick]

A real bot (Bolt behind the HTTP server, signed requests, the real model, a real SQLite file)
talks to the local fake Slack. Anyone can fill the unanswered list with long questions; before
issue 14 every admin Home open re-embedded up to 200 of them and scanned 2,000 entries. Now a
background pass (what the scheduler runs) embeds each question once and caches the groups and
duplicate pairs; Homes only read the cache. Reported:
- texts embedded by the background pass, and during the Home opens and clicks (must be 0);
- resident memory (VmRSS) before, after the pass, after the opens, and after a few Homes built
  the old way (embedding the 200 most recent unanswered questions, scanning for duplicates);
- Home build time p50/p99, against the old way measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import onnx_embedder
from bot.app import build_app
from bot.server import SlackHTTPServer
from index.duplicates import near_duplicates
from index.entry_index import EntryIndex
from index.gaps import group_gaps
from index.search import HybridSearch
from knowledge.analytics import Analytics
from knowledge.importing import read_entries
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack

SECRET = "bench-secret"
ADMIN = "UADMIN"
FAQ = Path(__file__).parents[1] / "tests" / "fixtures" / "stackfaq_sample.jsonl"
TOPICS = ("park my car at the office", "expense a train ticket", "unlock my laptop",
          "book a meeting room", "get a second monitor", "change my bank details for payroll",
          "join the on-call rota", "order business cards")
WORDS = ("please", "urgent", "today", "because", "the", "team", "manager", "said", "again",
         "policy", "form", "portal", "broken", "since", "Monday", "thanks", "customer", "VPN")


class Counting:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self.count = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.count += len(texts)
        return self.inner.embed(texts)


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def long_question(rng: random.Random, i: int, chars: int) -> str:
    head = f"How do I {TOPICS[i % len(TOPICS)]} (ticket {i})? "
    filler = " ".join(rng.choice(WORDS) for _ in range(chars // 6))
    return (head + filler)[:chars]


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def old_admin_home(search: HybridSearch) -> None:
    """What building an admin Home cost before (the code as it was): the report, the 200
    newest unanswered questions embedded afresh in one call, a duplicate scan."""
    report = Analytics(search.store).report(days=7, top=3)
    if report.unanswered:
        sample = report.unanswered[-200:]
        group_gaps(sample, search.embedder.embed([q.text[:2000] for q in sample]), top=3)
    near_duplicates(search.entries, limit=3, scan=2_000)


def run(quick: bool = False) -> dict:
    questions, chars = (40, 20_000) if quick else (300, 40_000)
    opens, old_opens = (10, 1) if quick else (50, 3)
    embedder = Counting(onnx_embedder())
    workdir = Path(tempfile.mkdtemp(prefix="chaos-admin-"))
    store = Store.open(workdir / "switchboard.db")
    fake = FakeSlack().start()
    server = bot = None
    try:
        store.upsert_entries(read_entries(FAQ).drafts)
        search = HybridSearch(store, EntryIndex.open(store, embedder, workdir / "index"),
                              embedder)
        book, rng = QuestionBook(store), random.Random(14)
        for i in range(questions):
            book.receive(AskInput(f"U{i:04d}", long_question(rng, i, chars), QuestionSource.DM,
                                  channel=f"D{i:04d}", message_ts=f"{1_700_000_000 + i}.0"))
        fake.add_user(ADMIN, "alex", "Alex Admin")
        bot = build_app(search, token="xoxb-bench", signing_secret=SECRET,
                        base_url=fake.base_url, admins=frozenset({ADMIN}))
        server = SlackHTTPServer(bot.app, 0, lambda: {}, host="127.0.0.1")
        server.start_in_thread()
        url = f"http://127.0.0.1:{server.port}/slack/events"
        entry_id = store.searchable_ids()[0]
        figures: dict = {"questions": questions, "question_chars": chars,
                         "rss_mb_before": round(rss_mb(), 1)}

        started, passes = time.perf_counter(), 0
        before = embedder.count
        while True:  # the scheduler's background passes, until caught up
            bot.home.refresh_insights(force=True)
            passes += 1
            if bot.home.insights.last_pass.embedded == 0:
                break
        figures.update(background_passes=passes,
                       background_embedded=embedder.count - before,
                       background_s=round(time.perf_counter() - started, 2),
                       rss_mb_after_background=round(rss_mb(), 1))
        print(f"background: {figures['background_embedded']} texts in "
              f"{figures['background_s']} s", file=sys.stderr)

        before, builds, statuses = embedder.count, [], []
        for _ in range(opens):
            start = time.perf_counter()
            bot.home.view(ADMIN)
            builds.append((time.perf_counter() - start) * 1000)
            statuses.append(signing.app_home_opened(ADMIN).post(url, SECRET)[0])
            click = signing.block_actions("admin_verify", str(entry_id), user_id=ADMIN,
                                          trigger_id=signing.new_trigger_id(),
                                          response_url=fake.response_url(ADMIN))
            statuses.append(click.post(url, SECRET)[0])
        bot.executor.wait_idle(120)
        figures.update(home_opens=opens, admin_clicks=opens,
                       not_200=sum(s != 200 for s in statuses),
                       homes_published=len(fake.calls_to("views.publish")),
                       embedded_during_opens=embedder.count - before,
                       home_build_ms_p50=pct(builds, 50), home_build_ms_p99=pct(builds, 99),
                       rss_mb_after_opens=round(rss_mb(), 1))
        print(f"opens: p50 {figures['home_build_ms_p50']} ms", file=sys.stderr)

        before, old = embedder.count, []
        for _ in range(old_opens):
            start = time.perf_counter()
            old_admin_home(search)
            old.append((time.perf_counter() - start) * 1000)
        figures.update(old_way_opens=old_opens,
                       old_way_embedded_per_open=(embedder.count - before) // old_opens,
                       old_way_build_ms_p50=pct(old, 50),
                       rss_mb_after_old_way=round(rss_mb(), 1),
                       fake_slack_violations=len(fake.take_violations()))
        return figures
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if bot is not None:
            bot.drain()
        fake.stop()
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    print(json.dumps(run(quick=parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
