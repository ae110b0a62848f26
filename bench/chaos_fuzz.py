"""Fuzzing the HTTP front: ~2,000 hostile requests against a real bot, then a normal question.

    HF_HUB_OFFLINE=1 python -m bench.chaos_fuzz [--quick] [--requests 2000] [--seed 14]

The bot is real (Bolt app, SQLite file with the StackFAQ sample, the real model) behind
`bot.server.SlackHTTPServer` with its default limits, talking to the local fake Slack. Requests
come from 16 client threads, seeded, in these families:

    shapes      signed Slack payloads of every kind (events, commands, clicks on every known and
                some unknown action, modal submissions, shortcuts) with random fields replaced
                by values of random types, removed, or given odd text (lone surrogates escaped
                in JSON, NUL, bidi marks, 20,000 characters)
    odd text    well-formed questions whose text is odd
    bodies      signed but malformed bodies (invalid JSON, arrays, 50,000-deep, UTF-16, bad
                UTF-8, huge numbers, empty, wrong content types, over 1 MiB)
    signatures  missing, wrong, stale, non-numeric, tampered
    sockets     raw-socket oddities: bad or lying Content-Length, header floods, broken request
                lines, pipelining, bad chunking, and (a few) stalls: a body shorter than its
                Content-Length and slowloris headers, which must be cut off by the deadlines
    routes      wrong methods and paths

Figures: requests, no_response (an answer was due but the socket closed or timed out), status_5xx,
slow_over_3s (answers due at once that took longer), stalls and how they ended, by_status, the
first 20 signed payloads that got a 5xx (`examples_5xx`, for the listener owners), errors the
bot logged with a traceback, calls the fake Slack refused, and whether a normal question was
still answered at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import socket
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bench.common import onnx_embedder
from bot import ids
from bot.app import build_app
from bot.server import SlackHTTPServer
from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack

SECRET = "chaos-secret"
FAQ = Path(__file__).parents[1] / "tests" / "fixtures" / "stackfaq_sample.jsonl"
STRIKE = "strikethrough text in github markdown"
CLIENT_WAIT_S = 25.0  # longer than every server deadline: a wait this long is a hang
ODD_TEXT = ["\ud800", "a\udfffb", "\x00", "\u202e\u2066gnp.exe", "🙂" * 500, "x" * 20_000, "",
            " ", "\r\n\t", "<@U123> <!channel> <#C123>", "' OR 1=1 --", "\\u0000", "ﷺ" * 300,
            "\ufeff", "null", "🏳️‍🌈" * 50, "a\u0301" * 400]
ACTIONS = [v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)]


@dataclass
class Case:
    """One request: its family, what to send, and whether an answer is due at once."""

    family: str
    send: Callable[[int], tuple[int | None, float]]
    answer_due: bool = True
    signed_body: bytes | None = None


def odd_value(rng: random.Random) -> Any:
    """A value of a random type, sometimes odd text."""
    kind = rng.randrange(10)
    return [None, rng.randint(-2**63, 2**63), rng.random() * 1e300, rng.choice([True, False]),
            [rng.choice(ODD_TEXT)], {"id": rng.choice(ODD_TEXT)}, rng.choice(ODD_TEXT),
            "9" * rng.choice([20, 400]), rng.choice(["0", "abc", "-1", "1.2.3", "1e9"]),
            [[[]]]][kind]


def mutate(data: Any, rng: random.Random, rate: float) -> Any:
    """A copy of `data` with some leaves and keys replaced by odd values or removed."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            roll = rng.random()
            if roll < rate / 3:
                continue
            out[key] = odd_value(rng) if roll < rate else mutate(value, rng, rate)
        if rng.random() < rate / 3:
            out[rng.choice(["extra", "type", "subtype", "user", "channel", "ts"])] = odd_value(rng)
        return out
    if isinstance(data, list):
        return [mutate(item, rng, rate) for item in data]
    return data


def base_payload(rng: random.Random) -> signing.Payload:
    text = rng.choice([STRIKE, "how do I paste plain text?", rng.choice(ODD_TEXT)])
    form_safe = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    action = rng.choice([*ACTIONS, "unknown_action", ""])
    value = rng.choice(["1:1", "1", "999999:1", "abc", "keep:fold", "", "-1:-1", "1" * 400])
    builders: list[Callable[[], signing.Payload]] = [
        lambda: signing.app_mention(text, thread_ts=rng.choice([None, "0", "abc", "1.2"])),
        lambda: signing.message_im(text),
        lambda: signing.app_home_opened(rng.choice(["U123", "U456", "UNOBODY"])),
        lambda: signing.slash_command(rng.choice(["/ask", "/switchboard", "/nope"]), form_safe),
        lambda: signing.block_actions(action, value),
        lambda: signing.block_actions(action, value, view={"id": "V1", "type": "home",
                                                           "blocks": []}),
        lambda: signing.view_submission(rng.choice([*ACTIONS, "nope"]),
                                        {ids.ASK_MODAL_BLOCK: {ids.ASK_MODAL_INPUT: text}},
                                        private_metadata=rng.choice(["", "{}", "1", "[", value])),
        lambda: signing.message_shortcut(rng.choice([ids.ASK_SHORTCUT, ids.SAVE_AS_ANSWER, "x"]),
                                         {"ts": rng.choice(["1.000001", "0", "x"]),
                                          "text": text, "user": "U456"}),
    ]
    return rng.choice(builders)()


def reshape(payload: signing.Payload, rng: random.Random, rate: float) -> bytes:
    data = mutate(payload.data, rng, rate)
    if payload.content_type == signing.JSON_TYPE:
        return json.dumps(data).encode()  # ensure_ascii: lone surrogates travel as \\ud800
    if "payload=" in payload.body.decode():
        return urlencode({"payload": json.dumps(data)}).encode()
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()},
                     errors="surrogatepass").encode()  # a lone surrogate as %ED%A0%80


class Client:
    """Sends requests to one server and times them."""

    def __init__(self, port: int) -> None:
        self.port = port

    def exchange(self, data: bytes) -> tuple[int | None, float]:
        """Send raw bytes; the status of the first answer (None if none came) and the time."""
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_WAIT_S) as sock:
                # refused before it was all sent: the answer may be waiting all the same
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    sock.sendall(data)
                reply = sock.recv(65536)
                while reply.startswith(b"HTTP/1.1 100 ") and b"\r\n\r\n" in reply:
                    reply = reply.split(b"\r\n\r\n", 1)[1] or sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            reply = b""
        took = time.perf_counter() - started
        try:
            return int(reply.split(b" ", 2)[1]), took
        except (IndexError, ValueError):
            return None, took

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int | None, float]:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return self.exchange(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n"
                             + head.encode("latin-1", "replace")
                             + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def trickle(self, parts: list[bytes], gap: float) -> tuple[int | None, float]:
        """Slowloris: send `parts` `gap` seconds apart, until the server hangs up."""
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_WAIT_S) as sock:
            try:
                for part in parts:
                    sock.sendall(part)
                    time.sleep(gap)
                reply = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                reply = b""
        return (int(reply.split(b" ", 2)[1]) if reply else None), time.perf_counter() - started


def signed_case(client: Client, family: str, body: bytes, content_type: str) -> Case:
    def send(_: int) -> tuple[int | None, float]:
        return client.post(body, {"Content-Type": content_type,
                                  **signing.signed_headers(body, SECRET)})
    return Case(family, send, signed_body=body)


def make_cases(client: Client, rng: random.Random, total: int, stalls: int) -> list[Case]:
    cases: list[Case] = []
    post = "POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
    bad_bodies = [b"{not json", b"[1]", b'"s"', b"[" * 50_000, b'{"a":' * 50_000,
                  '{"type":"x"}'.encode("utf-16"), b'{"t":"\xff"}', b'{"n":' + b"9" * 5000 + b"}",
                  b"", b"payload=%5B1%5D", b"payload=%7B", b"{" + b" " * (1 << 20) + b"}"]
    raw = [post + "Content-Length: -1\r\n\r\n", post + "Content-Length: x\r\n\r\n",
           post + "Content-Length: 10\r\nContent-Length: 11\r\n\r\n0123456789",
           post + "Content-Length: 99999999999\r\n\r\n", post + "X: y\r\n" * 4000 + "\r\n",
           post + "X-Big: " + "a" * 70_000 + "\r\n\r\n", "GARBAGE\r\n\r\n", "\r\n\r\n\r\n",
           "GET /" + "a" * 100_000 + " HTTP/1.1\r\nHost: b\r\n\r\n", "GET /healthz\r\n\r\n",
           post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
           post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
           post + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
           "GET /healthz HTTP/1.1\r\nHost: b\r\n\r\nGET /healthz HTTP/1.1\r\nHost: b\r\n\r\n",
           "POST http://evil/slack/events HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n",
           "GET /h\u00e9althz HTTP/1.1\r\nHost: b\r\n\r\n", "GET /healthz HTTP/1.1\nHost: b\n\n",
           "GET /healthz HTTP/1.1\r\nHost: b\r\nX\x00: 1\r\n\r\n", "GET /healthz HTTP/2.0\r\n\r\n"]
    routes = [f"{m} {p} HTTP/1.1\r\nHost: b\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
              for m in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "POST")
              for p in ("/slack/events", "/", "/healthz", "/slack/events/", "/.env")]
    for _ in range(total - stalls):
        roll = rng.random()
        if roll < 0.45:
            payload = base_payload(rng)
            body = reshape(payload, rng, rng.choice([0.0, 0.05, 0.2, 0.5]))
            cases.append(signed_case(client, "shapes", body, payload.content_type))
        elif roll < 0.55:
            payload = signing.app_mention(rng.choice(ODD_TEXT) + " " + rng.choice(ODD_TEXT))
            cases.append(signed_case(client, "odd text", payload.body, payload.content_type))
        elif roll < 0.68:
            cases.append(signed_case(client, "bodies", rng.choice(bad_bodies), rng.choice(
                [signing.JSON_TYPE, signing.FORM_TYPE, "text/plain", "application/json; x=y"])))
        elif roll < 0.80:
            body = signing.app_mention(STRIKE).body
            headers = rng.choice([
                {}, signing.signed_headers(body, "wrong-secret"),
                signing.signed_headers(body, SECRET, int(time.time()) - 400),
                {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=abc"},
                {**signing.signed_headers(body, SECRET), "X-Slack-Request-Timestamp": "1e3"},
                signing.signed_headers(body + b" ", SECRET)])
            cases.append(Case("signatures", lambda _, b=body, h=headers: client.post(
                b, {"Content-Type": signing.JSON_TYPE, **h})))
        elif roll < 0.93:
            data = rng.choice(raw).encode("utf-8", "surrogateescape")
            cases.append(Case("sockets", lambda _, d=data: client.exchange(d)))
        else:
            data = rng.choice(routes).encode()
            cases.append(Case("routes", lambda _, d=data: client.exchange(d)))
    for i in range(stalls):  # deadlines: 408 for a short body, a hang-up for slow headers
        if i % 2:
            data = (post + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
            data = data.encode()
            cases.append(Case("stall body", lambda _, d=data: client.exchange(d)))
        else:
            parts = [part.encode() for part in (post + "X-A: 1\r\n" * 60)]
            cases.append(Case("stall headers", lambda _, p=parts: client.trickle(p, 0.5),
                              answer_due=False))
    rng.shuffle(cases)
    return cases


class ErrorLog(logging.Handler):
    """Counts what the bot logged with a traceback, keeping a few distinct examples."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.examples: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.count += 1
            error = record.exc_info[1]
            frame = traceback.extract_tb(record.exc_info[2])[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
            self.examples[f"{where}: {type(error).__name__}: {str(error)[:120]}"] += 1


def start_bot(workdir: Path, fake: FakeSlack) -> tuple[Any, SlackHTTPServer]:
    embedder = onnx_embedder()
    store = Store.open(workdir / "fuzz.db")
    store.upsert_entries(read_entries(FAQ).drafts)
    search = HybridSearch(store, EntryIndex.open(store, embedder, workdir / "index"), embedder)
    fake.add_user("U123", "asker", "Ada Asker")
    fake.add_user("U456", "bystander", "Ben Bystander")
    fake.add_channel("C123", "support", members=["U123", "U456"])
    bot = build_app(search, token="xoxb-chaos", signing_secret=SECRET, base_url=fake.base_url)
    server = SlackHTTPServer(bot.app, 0, lambda: {"ok": True}, host="127.0.0.1")
    server.start_in_thread()
    return bot, server


def normal_question(client: Client, fake: FakeSlack) -> bool:
    payload = signing.app_mention(STRIKE)
    status, _ = client.post(payload.body, {"Content-Type": payload.content_type,
                                           **signing.signed_headers(payload.body, SECRET)})
    thread = payload.data["event"]["ts"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(c.args.get("thread_ts") == thread and "Strikethrough" in json.dumps(c.args)
               for c in fake.calls_to("chat.postMessage")):
            return status == 200
        time.sleep(0.05)
    return False


def readable(body: bytes, limit: int = 1500) -> str:
    """A signed body as its JSON text (a form's `payload` unquoted), cut to `limit`."""
    text = body.decode("utf-8", "replace")
    if text.startswith("payload="):
        text = dict(parse_qsl(text)).get("payload", text)
    return text[:limit]


def run(quick: bool = False, requests: int = 2000, seed: int = 14) -> dict:
    """Fuzz a running bot; figures as a flat dict (see the module docstring)."""
    total = 150 if quick else requests
    stalls = 2 if quick else 40
    errors = ErrorLog()
    root = logging.getLogger()
    level = root.level
    root.addHandler(errors)
    root.setLevel(min(level, logging.ERROR))
    try:
        with tempfile.TemporaryDirectory(prefix="chaos-fuzz-") as folder, FakeSlack() as fake:
            bot, server = start_bot(Path(folder), fake)
            client = Client(server.port)
            cases = make_cases(client, random.Random(seed), total, stalls)
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                results = list(pool.map(lambda c: (c, *c.send(0)), cases))
            answered = normal_question(client, fake)
            seconds = time.perf_counter() - started
            server.shutdown()
            server.server_close()
            bot.drain()
            violations = fake.take_violations()
    finally:
        root.removeHandler(errors)
        root.setLevel(level)
    due = [(c, s, t) for c, s, t in results if c.answer_due]
    by_status = Counter(str(s) for _, s, _ in results)
    examples = [{"family": c.family, "status": s, "payload": readable(c.signed_body)}
                for c, s, _ in results if s and s >= 500 and c.signed_body is not None]
    stalled = [(s, t) for c, s, t in results if c.family.startswith("stall")]
    return {
        "requests": len(results), "seconds": round(seconds, 1),
        "no_response": sum(s is None for _, s, _ in due),
        "status_5xx": sum(1 for _, s, _ in results if s and s >= 500 and s != 503),
        "status_503": by_status.get("503", 0),
        "slow_over_3s": sum(t > 3 for c, _, t in due if not c.family.startswith("stall")),
        "stalls": len(stalled), "stalls_max_s": round(max((t for _, t in stalled), default=0), 1),
        "stalls_unended": sum(t >= CLIENT_WAIT_S for _, t in stalled),
        "normal_question_answered": answered,
        "by_status": dict(sorted(by_status.items())),
        "by_family": dict(Counter(c.family for c, _, _ in results)),
        "examples_5xx": examples[:20],
        "logged_tracebacks": errors.count,
        "traceback_examples": [text for text, _ in errors.examples.most_common(20)],
        "slack_violations": len(violations), "slack_violation_examples": violations[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # counted by ErrorLog, not printed
    print(json.dumps(run(args.quick, args.requests, args.seed), indent=2))


if __name__ == "__main__":
    main()
