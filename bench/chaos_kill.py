"""Mentions while the bot is killed with SIGKILL in the middle of answering, again and again,
and restarted on the same home each time: how many questions are lost or answered twice.

    HF_HUB_OFFLINE=1 python -m bench.chaos_kill [--quick]

The real bot runs as a process (tests/bot/crashing_bot.py: `switchboard run` with a fault hook
that SIGKILLs it when a chosen question reaches a chosen point, in turn "claimed",
"before_post" and "sent" (Slack has the card, the database does not yet)), over HTTP against
the local fake Slack. Mentions are sent from four threads
(about ten a second); a mention that gets no 200 (the process was dead) is sent again once it
is back, as Slack retries. A process also dies when a question it recovers reaches the point.
After the last kill the bot runs on until every question is answered or 90 s pass.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = "bench-secret"
POINTS = ("claimed", "before_post", "sent")
# The reply claim's lease in the bot processes: far shorter than the bot's default (120 s) so
# that the run takes a minute, long enough that answering under load never outlasts it.
LEASE_SECONDS = 15


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bot:
    """The bot process, started again after each kill."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, point: str, spare: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bot.crashing_bot", point, str(spare),
             str(LEASE_SECONDS)], env=self.env,
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.starts += 1
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the bot exited during start-up")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the bot never became healthy")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run(quick: bool = False) -> dict:
    """Run the kills; a flat dict of figures."""
    n_mentions, kills = (30, 2) if quick else (200, 5)
    rng = random.Random(14)
    texts = [json.loads(line)["text"] for line in
             (FIXTURES / "stackfaq_sample_queries.jsonl").open(encoding="utf-8")]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, FakeSlack() as fake:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
        env.update(SWITCHBOARD_HOME=folder, HF_HUB_OFFLINE="1", SLACK_BOT_TOKEN="xoxb-bench",
                   SLACK_SIGNING_SECRET=SECRET, SLACK_API_BASE_URL=fake.base_url,
                   PORT=str(port), SWITCHBOARD_LOG_LEVEL="WARNING",
                   # only answers are counted in the threads (crashing_bot routes when asked to)
                   SWITCHBOARD_ROUTING="off")
        if "SWITCHBOARD_MODEL_CACHE" in os.environ:
            env["SWITCHBOARD_MODEL_CACHE"] = os.environ["SWITCHBOARD_MODEL_CACHE"]
        subprocess.run([sys.executable, "-m", "switchboard.cli", "import",
                        str(FIXTURES / "stackfaq_sample.jsonl")], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        mentions = [signing.app_mention(f"{texts[n % len(texts)]} ({n})")
                    for n in range(n_mentions)]
        todo: queue.Queue = queue.Queue()
        for payload in mentions:
            todo.put(payload)
        bot = Bot(env, port)
        url = f"http://127.0.0.1:{port}/slack/events"
        resent = Counter()
        killed = 0
        try:
            while killed < kills:
                bot.start(POINTS[killed % 2], rng.randint(3, max(4, n_mentions // (kills + 2))))
                _send_until_dead(todo, url, bot, resent)
                try:
                    bot.process.wait(timeout=60)  # it dies at the fault point
                except subprocess.TimeoutExpired:  # nothing left to answer: no more kills
                    bot.stop()
                    break
                killed += 1
            bot.start("none", 0)
            _send_until_dead(todo, url, bot, resent)
            answered = _wait_answered(fake, mentions, timeout=90)
            figures = _figures(fake, mentions, answered, killed, bot.starts, resent)
        finally:
            bot.stop()
        figures["violations"] = len(fake.take_violations())
        figures["seconds"] = round(time.perf_counter() - started, 1)
        return figures


def _send_until_dead(todo: queue.Queue, url: str, bot: Bot, resent: Counter) -> None:
    """Send mentions from four threads until all are sent or the bot dies; a mention that got
    no 200 goes back in the queue (Slack retries it)."""

    def worker() -> None:
        while bot.process is not None and bot.process.poll() is None:
            try:
                payload = todo.get_nowait()
            except queue.Empty:
                return
            try:
                status, _ = signing.signed_post(url, payload.body, payload.content_type, SECRET,
                                                timeout=10)
            except OSError:
                status = 0
            if status != 200:
                resent[payload.data["event"]["ts"]] += 1
                todo.put(payload)
                time.sleep(0.05)
            else:
                time.sleep(0.4)  # about ten mentions a second from the four threads

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _answers(fake: FakeSlack) -> Counter:
    own = [m for m in fake.history.get("C123", []) if m.get("bot_id") == fake.bot_id]
    return Counter(m.get("thread_ts") for m in own)


def _wait_answered(fake: FakeSlack, mentions: list, timeout: float) -> Counter:
    asked = {p.data["event"]["ts"] for p in mentions}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = _answers(fake)
        if asked <= set(answered):
            time.sleep(LEASE_SECONDS + 2.0)  # a lease and more ticks, to catch a second answer
            return _answers(fake)
        time.sleep(0.2)
    return _answers(fake)


def _figures(fake: FakeSlack, mentions: list, answered: Counter, kills: int, starts: int,
             resent: Counter) -> dict:
    asked = {p.data["event"]["ts"] for p in mentions}
    return {
        "mentions": len(mentions),
        "kills": kills,
        "starts": starts,
        "resent_by_slack": sum(resent.values()),
        "answered": sum(1 for ts in asked if answered[ts] >= 1),
        "lost": sum(1 for ts in asked if answered[ts] == 0),
        "duplicates": sum(n - 1 for ts, n in answered.items() if ts in asked and n > 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
