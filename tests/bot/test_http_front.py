"""The HTTP front under hostile input: raw sockets against a real running server.

Every malformed request gets its 4xx and touches nothing; a client that stalls mid-body or
mid-headers is cut off by a deadline while others are served; a normal signed question is still
answered afterwards."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.server import HTTPLimits, SlackHTTPServer
from bot.slack_requests import json_depth, v0_signature
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text

STRIKE = "strikethrough text in github markdown"
JSON, FORM = signing.JSON_TYPE, signing.FORM_TYPE
WAIT_S = 8.0  # a socket read that takes longer than this fails the test as a hang
QUICK = HTTPLimits(body_timeout_s=1.0, header_timeout_s=1.0, keep_alive_s=1, graceful_s=5.0)


@pytest.fixture
def quick_server(bot: Bot) -> Iterator[Callable[..., SlackHTTPServer]]:
    """Another server in front of the same bot, with short deadlines (and chosen health)."""
    started: list[SlackHTTPServer] = []

    def start(limits: HTTPLimits = QUICK,
              health: Callable[[], dict[str, Any]] = lambda: {}) -> SlackHTTPServer:
        server = SlackHTTPServer(bot.app.app, 0, health, host="127.0.0.1", limits=limits)
        server.start_in_thread()
        started.append(server)
        return server

    yield start
    for server in started:
        server.server_close()


def post(bot: Bot, body: bytes, headers: dict[str, str], path: str = "/slack/events",
         port: int | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port or bot.server.port, timeout=WAIT_S)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def signed(bot: Bot, body: bytes, content_type: str | None = JSON) -> dict[str, str]:
    headers = signing.signed_headers(body, bot.secret)
    return {**headers, "Content-Type": content_type} if content_type else headers


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send `data` on a fresh socket; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(data)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def assert_untouched(bot: Bot) -> None:
    bot.settle()
    assert bot.search.store.query("SELECT count(*) AS n FROM questions")[0]["n"] == 0
    assert [c.method for c in bot.fake.calls if c.method != "auth.test"] == []


def quote(data: bytes) -> bytes:
    return quote_from_bytes(data).encode()


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


MENTION = signing.app_mention(STRIKE).body
BAD_BODIES: dict[str, tuple[bytes, str | None, int]] = {
    "invalid JSON": (b"{not json", JSON, 400),
    "JSON array": (b"[1, 2]", JSON, 400),
    "JSON string": (b'"hello"', JSON, 400),
    "50,000-deep array": (b"[" * 50_000 + b"]" * 50_000, JSON, 400),
    "50,000-deep object": (nested(50_000), JSON, 400),
    "deep inside a form payload": (b"payload=" + nested(5_000), FORM, 400),
    "form payload not an object": (b"payload=%5B1%5D", FORM, 400),
    "form payload not JSON": (b"payload=%7Bnope", FORM, 400),
    "form body that looks like JSON": (b"{broken", FORM, 400),
    "UTF-16 with BOM": ('{"type": "event_callback"}'.encode("utf-16"), JSON, 400),
    "UTF-16 without BOM": ('{"type": "event_callback"}'.encode("utf-16-le"), JSON, 400),
    "invalid UTF-8": (b'{"type": "\xff\xfe"}', JSON, 400),
    "UTF-8-encoded surrogate": (b'{"text": "\xed\xa0\x80"}', JSON, 400),
    "5,000-digit number": (b'{"n": ' + b"9" * 5000 + b"}", JSON, 400),
    "empty body": (b"", JSON, 400),
    "text/plain": (MENTION, "text/plain", 415),
    "no content type": (MENTION, None, 415),
    "authorizations a number": (b'{"type": "event_callback", "authorizations": 7}', JSON, 400),
    "event null": (b'{"type": "event_callback", "event": null}', JSON, 400),
    "subtype an object": (b'{"type": "event_callback", "event": {"type": "message", '
                          b'"subtype": {"a": 1}}}', JSON, 400),
    "view without type": (b"payload=" + quote(b'{"type": "view_submission", "view": '
                                              b'{"callback_id": "x"}}'), FORM, 400),
    "view a string": (b"payload=" + quote(b'{"type": "view_submission", "view": "V1"}'), FORM,
                      400),
    "action without action_id": (b"payload=" + quote(b'{"type": "block_actions", '
                                                     b'"actions": [{"value": "1"}]}'), FORM, 400),
    "actions an object": (b"payload=" + quote(b'{"type": "block_actions", "actions": {}}'), FORM,
                          400),
}


def test_signed_malformed_bodies_get_a_4xx_and_touch_nothing(bot: Bot) -> None:
    answers = {case: post(bot, body, signed(bot, body, content_type))
               for case, (body, content_type, _) in BAD_BODIES.items()}
    assert {case: status for case, (status, _) in answers.items()} == {
        case: expected for case, (_, _, expected) in BAD_BODIES.items()}
    for _, reason in answers.values():  # one short plain line, never a trace
        assert reason and len(reason) < 200 and b"\n" not in reason
    assert_untouched(bot)


def test_bad_signature_headers_get_401_before_the_body_is_parsed(bot: Bot) -> None:
    now, zeros = str(int(time.time())), "v0=" + "0" * 64
    forged = {
        "missing": {},
        "no timestamp": {"X-Slack-Signature": zeros},
        "non-numeric": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": zeros},
        "exponent": {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": zeros},
        "400 digits": {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": zeros},
        "non-ASCII": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=é"},
        "v1 scheme": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v1=" + "0" * 64},
        "wrong": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": zeros},
    }
    for body in (MENTION, b"{not json", b"[" * 50_000, b"\xff\xfe"):  # never parsed unsigned
        statuses = {case: post(bot, body, {"Content-Type": JSON, **headers})[0]
                    for case, headers in forged.items()}
        assert statuses == dict.fromkeys(forged, 401)
    assert_untouched(bot)


def test_our_signature_check_agrees_with_slack_sdk(bot: Bot) -> None:
    now = str(int(time.time()))
    verifier = SignatureVerifier(bot.secret)
    for body in (MENTION, "é ✓ 🙂 \u2028".encode(), b""):
        assert v0_signature(bot.secret, now, body) == verifier.generate_signature(
            timestamp=now, body=body)


def test_stale_but_correctly_signed_request_gets_401(bot: Bot) -> None:
    headers = signing.signed_headers(b"{not json", bot.secret, int(time.time()) - 301)
    assert post(bot, b"{not json", {"Content-Type": JSON, **headers})[0] == 401


POST = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
CHUNK = b"%x\r\n" % (1 << 19) + b"a" * (1 << 19) + b"\r\n"
RAW_REQUESTS: dict[str, tuple[bytes, set[int]]] = {
    "Content-Length -1": (POST + b"Content-Length: -1\r\n\r\n", {400}),
    "Content-Length abc": (POST + b"Content-Length: abc\r\n\r\n", {400}),
    "Content-Length 1, 2": (POST + b"Content-Length: 1, 2\r\n\r\nab", {400}),
    "Content-Length 40 digits": (POST + b"Content-Length: " + b"9" * 40 + b"\r\n\r\n",
                                 {400, 413}),
    "Content-Length 5000 digits": (POST + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n",
                                   {400}),
    "Content-Length 2 MB": (POST + b"Content-Length: 2000000\r\n\r\n", {413}),
    "chunked 1.5 MB": (POST + b"Transfer-Encoding: chunked\r\n\r\n" + CHUNK * 3, {413}),
    "40 KB header": (POST + b"X-Flood: " + b"a" * 40_000 + b"\r\n\r\n", {400, 431}),
    "3,000 headers": (POST + b"X-A: b\r\n" * 3_000 + b"\r\n", {400, 431}),
    "garbage": (b"GARBAGE\r\n\r\n", {400}),
    "HTTP/0.9": (b"GET /healthz\r\n\r\n", {400}),
    "GET events": (b"GET /slack/events HTTP/1.1\r\nHost: x\r\n\r\n", {405}),
    "POST elsewhere": (b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                       {404}),
}


def test_malformed_http_gets_a_4xx_and_the_socket_is_released(bot: Bot) -> None:
    statuses = {}
    for case, (data, _) in RAW_REQUESTS.items():
        with socket.create_connection(("127.0.0.1", bot.server.port), timeout=WAIT_S) as sock:
            with contextlib.suppress(ConnectionResetError):  # refused before all was sent
                sock.sendall(data)
            statuses[case] = status_of(sock.recv(65536))
    assert {case: statuses[case] in allowed for case, (_, allowed) in RAW_REQUESTS.items()} == \
        dict.fromkeys(RAW_REQUESTS, True), statuses
    assert_untouched(bot)


def test_a_short_body_times_out_while_others_are_served(
        bot: Bot, quick_server: Callable[..., SlackHTTPServer]) -> None:
    server = quick_server()
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    stalled.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    b"\r\nContent-Length: 100\r\n\r\n{\"type\":")
    reply = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                      b"Connection: close\r\n\r\n")  # served meanwhile
    assert status_of(reply) == 200
    reply = read_all(stalled)  # 408 then closed, within the 1 s body deadline
    stalled.close()
    assert status_of(reply) == 408 and b"connection: close" in reply.lower()
    payload = signing.app_mention(STRIKE)
    assert post(bot, payload.body, payload.headers(bot.secret), port=server.port)[0] == 200
    bot.settle()
    [call] = bot.posted("C123")
    assert "Strikethrough with GitHub Markdown" in blocks_text(call.args["blocks"])


@pytest.mark.parametrize("partial", [b"", b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"])
def test_a_silent_or_slow_header_client_is_cut_off(
        quick_server: Callable[..., SlackHTTPServer], partial: bytes) -> None:
    server = quick_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as sock:
        sock.sendall(partial)
        assert read_all(sock) == b""  # closed by the 1 s header deadline, not by WAIT_S


def test_beyond_the_connection_limit_requests_get_503(
        quick_server: Callable[..., SlackHTTPServer]) -> None:
    server = quick_server(HTTPLimits(max_connections=3, header_timeout_s=5.0))
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        time.sleep(0.2)  # let the server accept them
        reply = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(reply) == 503
    finally:
        for sock in idle:
            sock.close()


def test_health_reports_ok_or_503(quick_server: Callable[..., SlackHTTPServer]) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("disk I/O error")

    good = quick_server(health=lambda: {"indexed": 24})
    bad = quick_server(health=broken)
    for server, status, expected in ((good, 200, "ok"), (bad, 503, "error")):
        reply = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                          b"Connection: close\r\n\r\n")
        assert status_of(reply) == status
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["status"] == expected


def test_shutdown_lets_the_request_in_flight_finish(
        quick_server: Callable[..., SlackHTTPServer]) -> None:
    entered = threading.Event()

    def slow_health() -> dict[str, Any]:
        entered.set()
        time.sleep(0.5)
        return {"slow": True}

    server = quick_server(health=slow_health)
    replies: list[bytes] = []
    client = threading.Thread(target=lambda: replies.append(raw_exchange(
        server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")))
    client.start()
    assert entered.wait(WAIT_S)
    server.shutdown()
    client.join(WAIT_S)
    assert status_of(replies[0]) == 200 and b'"slow":true' in replies[0]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)


def test_json_depth_is_exact_on_valid_json() -> None:
    assert json_depth('{"a": [1, {"b": "[[[{{{"}], "c": {}}') == 3
    assert json_depth('"\\"[[[\\""') == 0
    assert json_depth("[" * 70 + "]" * 70) == 70
