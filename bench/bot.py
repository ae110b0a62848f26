"""The bot's own cost: a signed event in, the answer's chat.postMessage out, against bare search.

    HF_HUB_OFFLINE=1 python -m bench.bot [--entries 10000] [--questions 300] [--rates 10,20,30]

Everything is real except Slack: the Bolt app behind the HTTP server, signed `app_mention`
events sent over HTTP, a real SQLite file with --entries published entries (synthetic text and
vectors around real MiniLM embeddings, see bench.synthetic), the real model embedding each real
question, and the local fake Slack Web API (sandbox/slack_api) receiving the answers.

1. Latency, one question at a time: from sending the signed event to the answer's
   chat.postMessage reaching the fake (p50/p95), against the bare `HybridSearch.search` of the
   same questions measured in the same run. The difference is the bot's overhead (signature
   check, storing the question, the lazy listener hand-off, building the card, recording what
   was shown, and the Web API round trip).
2. Throughput: questions sent open-loop at fixed rates for a while; a rate is sustained when
   the answers keep up (completion rate ~ sending rate, no growing backlog).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import onnx_embedder
from bench.synthetic import SyntheticBase, real_questions
from bot.app import build_app
from bot.server import SlackHTTPServer
from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack

console = Console()
SECRET = "bench-secret"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


class Arrivals:
    """Records when each answer (by its thread) reached the fake Slack."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.times: dict[str, float] = {}
        self._stop = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen = 0
        cond = self.fake._cond  # the fake notifies it on every call
        while not self._stop:
            with cond:
                cond.wait_for(lambda n=seen: len(self.fake.calls) > n or self._stop, timeout=0.5)
                new = self.fake.calls[seen:]
                seen = len(self.fake.calls)
            now = time.perf_counter()
            for call in new:
                if call.method == "chat.postMessage" and call.args.get("thread_ts"):
                    self.times.setdefault(call.args["thread_ts"], now)

    def wait(self, ts: str, timeout: float = 60.0) -> float:
        deadline = time.perf_counter() + timeout
        while ts not in self.times:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no answer for {ts}")
            time.sleep(0.0005)
        return self.times[ts]

    def stop(self) -> None:
        self._stop = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rates", default="10,20,30")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path, default=Path("bench/out/bot.json"))
    args = parser.parse_args()

    embedder = onnx_embedder()
    titles = [q["title"] for q in real_questions()][-(args.questions + 2000):]
    questions = titles[: args.questions]
    flood = titles[args.questions:]
    workdir = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    store = Store.open(workdir / "switchboard.db")
    SyntheticBase(embedder).fill(store, args.entries, embedder.model_name)
    index = EntryIndex.open(store, embedder, workdir / "index")
    search = HybridSearch(store, index, embedder)
    report: dict = {"entries": args.entries, "questions": len(questions)}

    with FakeSlack() as fake:
        bot = build_app(search, token="xoxb-bench", signing_secret=SECRET,
                        base_url=fake.base_url)
        server = SlackHTTPServer(bot.app, 0, lambda: {}, host="127.0.0.1")
        server.start_in_thread()
        url = f"http://127.0.0.1:{server.port}/slack/events"
        arrivals = Arrivals(fake)
        for text in questions[:5]:  # warm-up: model, index, Bolt, connections
            payload = signing.app_mention(text, channel_id="CWARM")
            payload.post(url, SECRET)
            arrivals.wait(payload.data["event"]["ts"])
        bot.executor.wait_idle()

        # 1. latency, one at a time, interleaved with the bare search of the same question
        bare, end_to_end, acks = [], [], []
        for text in questions:
            start = time.perf_counter()
            search.search(text, k=4)
            bare.append((time.perf_counter() - start) * 1000)
            payload = signing.app_mention(text)
            start = time.perf_counter()
            status, _ = payload.post(url, SECRET)
            acks.append((time.perf_counter() - start) * 1000)
            assert status == 200
            arrived = arrivals.wait(payload.data["event"]["ts"])
            end_to_end.append((arrived - start) * 1000)
            bot.executor.wait_idle()
        paired = [e - b for e, b in zip(end_to_end, bare, strict=True)]
        report["latency_ms"] = {
            "bare_search": {"p50": pct(bare, 50), "p95": pct(bare, 95)},
            "event_to_post": {"p50": pct(end_to_end, 50), "p95": pct(end_to_end, 95)},
            "ack": {"p50": pct(acks, 50), "p95": pct(acks, 95)},
            "overhead": {"p50": pct(paired, 50), "p95": pct(paired, 95)},
            "ratio_p50": pct(end_to_end, 50) / pct(bare, 50),
        }

        # 2. throughput: open-loop sending at fixed rates
        report["throughput"] = []
        cursor = 0
        for rate in (float(r) for r in args.rates.split(",")):
            count = int(rate * args.seconds)
            batch = flood[cursor: cursor + count]
            cursor += count
            sent: dict[str, float] = {}
            backlog: list[int] = []
            started = time.perf_counter()
            for i, text in enumerate(batch):
                due = started + i / rate
                while (now := time.perf_counter()) < due:
                    time.sleep(min(0.002, due - now))
                payload = signing.app_mention(text, channel_id="CFLOOD")
                sent[payload.data["event"]["ts"]] = time.perf_counter()
                threading.Thread(target=payload.post, args=(url, SECRET), daemon=True).start()
                backlog.append(bot.executor.in_flight)
            send_seconds = time.perf_counter() - started
            done = [arrivals.wait(ts, timeout=300) for ts in sent]
            finish = max(done)
            latencies = [(arrivals.times[ts] - t) * 1000 for ts, t in sent.items()]
            half = len(backlog) // 2
            report["throughput"].append({
                "rate": rate, "questions": len(batch),
                "completed_per_s": len(batch) / (finish - started),
                "send_seconds": send_seconds,
                "drain_seconds": finish - started - send_seconds,
                "backlog_first_half_mean": statistics.fmean(backlog[:half] or [0]),
                "backlog_second_half_mean": statistics.fmean(backlog[half:] or [0]),
                "latency_p50_ms": pct(latencies, 50), "latency_p95_ms": pct(latencies, 95),
            })
            bot.executor.wait_idle()
        arrivals.stop()
        server.shutdown()
        bot.drain()
        violations = fake.take_violations()
    report["fake_slack_violations"] = len(violations)
    store.close()
    show(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


def show(report: dict) -> None:
    lat = report["latency_ms"]
    table = Table(title=f"Event to answer at {report['entries']:,} entries "
                  f"({report['questions']} questions, ms)")
    for column in ("", "p50", "p95"):
        table.add_column(column)
    for name in ("bare_search", "event_to_post", "overhead", "ack"):
        table.add_row(name, f"{lat[name]['p50']:.1f}", f"{lat[name]['p95']:.1f}")
    console.print(table)
    console.print(f"event-to-post / bare search at p50: {lat['ratio_p50']:.2f}x")
    flow = Table(title="Open-loop flow")
    for column in ("rate/s", "done/s", "drain s", "backlog 1st half", "backlog 2nd half",
                   "p50 ms", "p95 ms"):
        flow.add_column(column)
    for row in report["throughput"]:
        flow.add_row(f"{row['rate']:.0f}", f"{row['completed_per_s']:.1f}",
                     f"{row['drain_seconds']:.2f}", f"{row['backlog_first_half_mean']:.1f}",
                     f"{row['backlog_second_half_mean']:.1f}", f"{row['latency_p50_ms']:.0f}",
                     f"{row['latency_p95_ms']:.0f}")
    console.print(flow)
    console.print(f"fake Slack violations: {report['fake_slack_violations']}")


if __name__ == "__main__":
    main()
