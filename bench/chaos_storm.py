"""Questions and Home opens while 80% of chat.postMessage / views.publish calls fail, then Slack
recovers: how many questions are lost, answered twice, marked failed or given the wrong advice,
and how many Home tabs are published in the end.

    HF_HUB_OFFLINE=1 python -m bench.chaos_storm [--quick]

Real: the Bolt app over HTTP with signed events, the Web API client with its own retries
(429 with Retry-After: 1, 5xx), SQLite, the model; Slack is sandbox/slack_api in storm mode
(seeded; --quick: Retry-After 0 and quicker client retries). The store's clock is moved by
hand between recovery ticks (2 simulated minutes each; the storm lasts three of them), so the
backoff schedule is exercised without waiting for it; `sim_minutes_until_all_delivered` is
how long, on that clock, the queue took to empty.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bench.common import load_jsonl, onnx_embedder
from bot.app import build_app
from bot.server import SlackHTTPServer
from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack
from tests.clock import ManualClock

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = "bench-secret"
TOKEN = "xoxb-bench"


def run(quick: bool = False) -> dict:
    """Run the storm; a flat dict of figures."""
    n_questions, n_homes, rate = (10, 5, 0.8) if quick else (50, 20, 0.8)
    queries = [q["text"] for q in load_jsonl(FIXTURES / "stackfaq_sample_queries.jsonl")]
    clock = ManualClock(datetime.now(UTC))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, FakeSlack() as fake:
        store = Store.open(Path(folder) / "storm.db", clock=clock)
        embedder = onnx_embedder()
        store.upsert_entries(read_entries(FIXTURES / "stackfaq_sample.jsonl").drafts)
        search = HybridSearch(store, EntryIndex.open(store, embedder, Path(folder) / "index"),
                              embedder)
        fake.add_user("U123", "asker")
        fake.add_channel("C123", "support", members=["U123"])
        homes = [f"UH{n:03d}" for n in range(n_homes)]
        for user in homes:
            fake.add_user(user, user.lower())
        client = _quick_client(fake) if quick else None
        bot = build_app(search, token=TOKEN, signing_secret=SECRET, base_url=fake.base_url,
                        client=client)
        server = SlackHTTPServer(bot.app, 0, dict, host="127.0.0.1")
        server.start_in_thread()
        url = f"http://127.0.0.1:{server.port}/slack/events"
        try:
            fake.storm(["chat.postMessage", "views.publish"], rate=rate, seed=14,
                       retry_after=0 if quick else 1)
            mentions = [signing.app_mention(f"{queries[n % len(queries)]} ({n})")
                        for n in range(n_questions)]
            statuses = Counter()
            for payload in [*mentions, *(signing.app_home_opened(u) for u in homes)]:
                statuses[payload.post(url, SECRET)[0]] += 1
            bot.executor.wait_idle(600)
            queued_in_storm = bot.deps.answerer.deliveries.waiting()
            ticks = 0
            while bot.deps.answerer.deliveries.waiting() and ticks < 60:
                if ticks == 3:  # the storm goes on for six more minutes, then Slack recovers
                    fake.calm()
                clock.now += timedelta(minutes=2)
                bot.recover()
                ticks += 1
            fake.calm()
            return _figures(fake, store, mentions, homes, statuses, queued_in_storm, ticks,
                            time.perf_counter() - started)
        finally:
            server.shutdown()
            server.server_close()
            bot.drain()
            store.close()


def _quick_client(fake: FakeSlack) -> WebClient:
    """A client whose own retries are quick (one retry of a 5xx, none of a 429)."""
    return WebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[
        ServerErrorRetryHandler(max_retry_count=1,
                                interval_calculator=FixedValueRetryIntervalCalculator(0.01))])


def _figures(fake: FakeSlack, store: Store, mentions: list, homes: list[str],
             statuses: Counter, queued: int, ticks: int, seconds: float) -> dict:
    own = [m for messages in fake.history.values() for m in messages
           if m.get("bot_id") == fake.bot_id]
    per_thread = Counter(m.get("thread_ts") for m in own if m.get("thread_ts"))
    asked = {p.data["event"]["ts"] for p in mentions}
    rows = store.query("SELECT status FROM questions")
    return {
        "questions": len(mentions),
        "storm_rate": 0.8,
        "http_non_200": sum(n for status, n in statuses.items() if status != 200),
        "queued_during_storm": queued,
        "lost": sum(1 for ts in asked if per_thread[ts] == 0),
        "duplicates": sum(n - 1 for ts, n in per_thread.items() if ts in asked and n > 1),
        "failed": sum(1 for r in rows if r["status"] == "failed"),
        "still_received": sum(1 for r in rows if r["status"] == "received"),
        "wrong_advice": sum(1 for m in own if "/invite" in json.dumps(m.get("blocks", ""))),
        "homes_published": sum(1 for u in homes if u in fake.home_views),
        "homes": len(homes),
        "sim_minutes_until_all_delivered": ticks * 2,
        "violations": len(fake.take_violations()),
        "seconds": round(seconds, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
