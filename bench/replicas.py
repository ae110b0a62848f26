"""Replicas on PostgreSQL against SQLite, in the same run (issue 12): event to post, and questions
per second sustained, by one process on SQLite, one on PostgreSQL, and two PostgreSQL replicas
behind a round-robin of signed requests.

    HF_HUB_OFFLINE=1 python -m bench.replicas [--entries 10000] [--questions 150]
        [--rates 40,50,60,70,80,90,100,110] [--seconds 6]

Everything is real except Slack: three `switchboard run` processes in HTTP mode (one on a SQLite
home, two on one PostgreSQL database, each with its own SWITCHBOARD_HOME and indexes), a
throwaway PostgreSQL cluster (tests/postgres.py), --entries synthetic published entries (bench
.synthetic, real MiniLM-shaped vectors) written to SQLite and copied into PostgreSQL with
`switchboard migrate --to`, real StackExchange titles as questions, the local fake Slack Web API
receiving the answers. Routing is off (SWITCHBOARD_ROUTING=off): what is measured is a question
answered, not an expert ladder.

1. Start-up: each process from launch to /healthz, its indexes built from its database (every
   vector already in it: nothing is embedded).
2. Latency, one question at a time: from the signed POST to the answer's chat.postMessage at the
   fake (p50/p95). The same question goes to each configuration in turn (the order rotating),
   so drift falls on all alike; "two replicas" alternates between them.
3. Throughput: questions sent open-loop at each rate for --seconds; a rate is sustained when
   answers arrive at >= 95% of it, the last lands within a second of the last send (no backlog
   left to drain) and 95% of answers take at most 500 ms. The rates climb together: at each
   rate every configuration still sustaining takes its turn (so drift falls on all alike), and
   a configuration stops at its first rate not sustained.
Ratios are against the SQLite process of the same run. Raw output: bench/out/replicas.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.bot import Arrivals, pct
from bench.common import MODEL_CACHE, onnx_embedder
from bench.synthetic import SyntheticBase, real_questions
from index.entry_index import EntryIndex
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack
from tests.postgres import Cluster, free_port

console = Console()
SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("sqlite", "postgresql", "postgresql_2")
SUSTAINED_SHARE = 0.95
MAX_DRAIN_SECONDS = 1.0
P95_BUDGET_MS = 500.0


@dataclass
class Process:
    """One `switchboard run`."""

    name: str
    popen: subprocess.Popen
    port: int
    launched: float  # perf_counter() at launch
    startup_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def health(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            return json.loads(r.read())

    def wait_healthy(self, timeout: float = 600.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see its log")
            try:
                health = self.health()
            except OSError:
                time.sleep(0.1)
                continue
            self.startup_s = time.perf_counter() - self.launched
            return health
        raise RuntimeError(f"{self.name} never became healthy")


class Front:
    """A load balancer in front of some processes: each request to the next one in turn."""

    def __init__(self, processes: list[Process]) -> None:
        self.processes = processes
        self._next = itertools.cycle(processes)
        self._lock = threading.Lock()

    def url(self) -> str:
        with self._lock:
            return next(self._next).url

    def idle(self) -> None:
        while any(p.health()["in_flight"] for p in self.processes):
            time.sleep(0.01)


def environment(home: Path, fake: FakeSlack, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
    env.update(SWITCHBOARD_HOME=str(home), SWITCHBOARD_MODEL_CACHE=str(MODEL_CACHE),
               HF_HUB_OFFLINE="1", SWITCHBOARD_ROUTING="off", SLACK_BOT_TOKEN="xoxb-bench",
               SLACK_SIGNING_SECRET=SECRET, SLACK_API_BASE_URL=fake.base_url)
    if database_url:
        env["SWITCHBOARD_DATABASE_URL"] = database_url
    return env


def launch(name: str, env: dict[str, str], workdir: Path) -> Process:
    """Start `switchboard run` (its log in `workdir`); not yet waited for."""
    port = free_port()
    with (workdir / f"{name}.log").open("w") as log:
        popen = subprocess.Popen([sys.executable, "-m", "switchboard.cli", "run"],
                                 env={**env, "PORT": str(port)}, cwd=ROOT, stderr=log)
    return Process(name, popen, port, launched=time.perf_counter())


def send(url: str, text: str, channel: str) -> tuple[str, float]:
    """POST a signed app_mention; (its thread ts, when it was sent)."""
    payload = signing.app_mention(text, channel_id=channel)
    sent = time.perf_counter()
    status, _ = payload.post(url, SECRET)
    if status != 200:
        raise RuntimeError(f"the bot answered HTTP {status}")
    return payload.data["event"]["ts"], sent


def latency(fronts: dict[str, Front], arrivals: Arrivals, questions: list[str]) -> dict:
    """One question at a time, to each configuration in turn (the order rotating)."""
    samples: dict[str, list[float]] = {name: [] for name in fronts}
    names = list(fronts)
    for n, text in enumerate(questions):
        for name in names[n % len(names):] + names[: n % len(names)]:
            ts, sent = send(fronts[name].url(), text, f"CLAT{CONFIGS.index(name)}")
            samples[name].append((arrivals.wait(ts) - sent) * 1000)
            fronts[name].idle()
    base = pct(samples["sqlite"], 50)
    return {name: {"p50": pct(v, 50), "p95": pct(v, 95), "ratio_p50": pct(v, 50) / base,
                   "ratio_p95": pct(v, 95) / pct(samples["sqlite"], 95)}
            for name, v in samples.items()}


def flow(front: Front, arrivals: Arrivals, texts: list[str], rate: float,
         channel: str) -> dict:
    """`texts` sent open-loop at `rate` per second through `front`."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    threads = []
    started = time.perf_counter()
    for i, text in enumerate(texts):
        due = started + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.002, due - now))

        def post(url: str = front.url(), text: str = text) -> None:
            ts, at = send(url, text, channel)
            with lock:
                sent[ts] = at

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        threads.append(thread)
    last_send = time.perf_counter()
    for thread in threads:
        thread.join()
    done = {ts: arrivals.wait(ts, timeout=300) for ts in sent}
    finish = max(done.values())
    latencies = [(done[ts] - at) * 1000 for ts, at in sorted(sent.items(), key=lambda x: x[1])]
    half = len(latencies) // 2
    completed = len(texts) / (finish - started)
    drain = finish - last_send
    front.idle()
    return {"rate": rate, "questions": len(texts), "completed_per_s": completed,
            "drain_seconds": drain, "latency_p50_ms": pct(latencies, 50),
            "latency_p95_ms": pct(latencies, 95),
            "first_half_p50_ms": pct(latencies[:half], 50),
            "second_half_p50_ms": pct(latencies[half:], 50),
            "sustained": (completed >= SUSTAINED_SHARE * rate and drain <= MAX_DRAIN_SECONDS
                          and pct(latencies, 95) <= P95_BUDGET_MS)}


def measure(report: dict, processes: list[Process], fake: FakeSlack, questions: list[str],
            flood: Iterator[str], rates: list[float], seconds: float) -> None:
    """Latency, then each configuration's climb through the rates (into `report`)."""
    sqlite, a, b = processes
    fronts = {"sqlite": Front([sqlite]), "postgresql": Front([a]), "postgresql_2": Front([a, b])}
    arrivals = Arrivals(fake)
    try:
        for front in fronts.values():  # warm-up: model, index, connections
            for text in [next(flood) for _ in range(6)]:
                arrivals.wait(send(front.url(), text, "CWARM")[0])
            front.idle()
        report["latency_ms"] = latency(fronts, arrivals, questions)
        report["throughput"] = {name: [] for name in fronts}
        names = list(fronts)
        for turn, rate in enumerate(rates):
            for name in names[turn % 3:] + names[: turn % 3]:  # the order rotating
                front, steps = fronts[name], report["throughput"][name]
                if steps and not steps[-1]["sustained"]:
                    continue
                texts = [next(flood) for _ in range(int(rate * seconds))]
                steps.append(flow(front, arrivals, texts, rate, f"CFLOW{CONFIGS.index(name)}"))
                console.print(f"{name} at {rate:.0f}/s: {steps[-1]['completed_per_s']:.1f}/s "
                              f"done, drain {steps[-1]['drain_seconds']:.2f} s, p95 "
                              f"{steps[-1]['latency_p95_ms']:.0f} ms")
    finally:
        arrivals.stop()
    best = {name: max([s["rate"] for s in steps if s["sustained"]], default=0.0)
            for name, steps in report["throughput"].items()}
    report["sustained_per_s"] = best
    report["sustained_ratio"] = {name: (v / best["sqlite"] if best["sqlite"] else None)
                                 for name, v in best.items()}
    report["answers_per_thread_max"] = max(
        (sum(1 for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts)
         for ts in arrivals.times), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--rates", default="40,50,60,70,80,90,100,110")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--json", type=Path, default=Path("bench/out/replicas.json"))
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    pool = [q["title"] for q in real_questions()]
    random.Random(12).shuffle(pool)
    # after the latency questions, the rest in a loop (the bot keeps no cache of query texts)
    questions, flood = pool[: args.questions], itertools.cycle(pool[args.questions:])
    workdir = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    report: dict = {"entries": args.entries, "questions": len(questions), "cores": os.cpu_count(),
                    "seconds_per_rate": args.seconds, "routing": "off"}
    store = Store.open(workdir / "sqlite" / "switchboard.db")
    embedder = onnx_embedder()
    SyntheticBase(embedder).fill(store, args.entries, embedder.model_name)
    # indexed once here, so the database holds every vector a start needs (the questions alone
    # too): each process's start-up is its indexes built from the database, nothing embedded
    EntryIndex.open(store, embedder, None)
    store.close()

    with Cluster() as cluster, FakeSlack() as fake:
        url = cluster.database("bench")
        copied = time.perf_counter()
        migrate = subprocess.run(
            [sys.executable, "-m", "switchboard.cli", "migrate", "--to", url],
            env=environment(workdir / "sqlite", fake), cwd=ROOT, capture_output=True, text=True)
        if migrate.returncode != 0:
            raise RuntimeError(migrate.stdout + migrate.stderr)
        report["migrate_seconds"] = time.perf_counter() - copied
        processes: list[Process] = []
        try:
            for name, database in (("sqlite", None), ("pg_a", url), ("pg_b", url)):
                processes.append(launch(name, environment(workdir / name, fake, database),
                                        workdir))
                processes[-1].wait_healthy()  # one at a time: each start-up timed alone
            report["startup_s"] = {p.name: p.startup_s for p in processes}
            report["indexed"] = {p.name: p.health()["indexed"] for p in processes}
            measure(report, processes, fake, questions, flood, rates, args.seconds)
        finally:
            for process in processes:
                process.popen.terminate()
                process.popen.wait(timeout=120)
            report["exit_codes"] = {p.name: p.popen.returncode for p in processes}
            report["fake_slack_violations"] = len(fake.take_violations())
    show(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    shutil.rmtree(workdir)  # kept (with the processes' logs) only when the run failed


def show(report: dict) -> None:
    console.print(f"migrate --to: {report['migrate_seconds']:.1f} s; start-up (s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in report["startup_s"].items()))
    table = Table(title=f"Event to post at {report['entries']:,} entries "
                  f"({report['questions']} questions, ms)")
    for column in ("", "p50", "p95", "p50 / SQLite", "p95 / SQLite"):
        table.add_column(column)
    for name, row in report["latency_ms"].items():
        table.add_row(name, f"{row['p50']:.1f}", f"{row['p95']:.1f}", f"{row['ratio_p50']:.2f}x",
                      f"{row['ratio_p95']:.2f}x")
    console.print(table)
    steps = Table(title=f"Open loop, {report['seconds_per_rate']:g} s a rate")
    for column in ("", "sent/s", "done/s", "drain s", "p50 ms", "p95 ms", "sustained"):
        steps.add_column(column)
    for name, rows in report["throughput"].items():
        for row in rows:
            steps.add_row(name, f"{row['rate']:.0f}", f"{row['completed_per_s']:.1f}",
                          f"{row['drain_seconds']:.2f}", f"{row['latency_p50_ms']:.0f}",
                          f"{row['latency_p95_ms']:.0f}", "yes" if row["sustained"] else "no")
    console.print(steps)
    console.print("sustained per s: " + ", ".join(
        f"{k} {v:.0f} ({report['sustained_ratio'][k]:.2f}x)" for k, v in
        report["sustained_per_s"].items()))
    console.print(f"most answers in one thread: {report['answers_per_thread_max']}; fake Slack "
                  f"violations: {report['fake_slack_violations']}; exit codes: "
                  f"{report['exit_codes']}")


if __name__ == "__main__":
    main()
