"""HTTP mode: Slack's requests at POST /slack/events, a health check at GET /healthz.

Starlette served by uvicorn (its pure-Python h11 protocol) on a background thread with its own
event loop. A request to /slack/events passes these gates in order; the first refusal answers
at once with a short plain-text reason, and nothing reaches Bolt:

    size        Content-Length over `max_body_bytes` -> 413 (a chunked body is counted as it
                arrives); Content-Length -1 or garbage -> 400 (h11 refuses it)
    arrival     the whole body within `body_timeout_s` of the headers, else 408
    signature   Slack's v0 HMAC over the raw bytes, timestamp within 5 minutes -> else 401
    shape       not UTF-8 (UTF-16 included), NUL bytes, unknown content type, invalid JSON,
                JSON that is not an object, nesting deeper than MAX_JSON_DEPTH, a form
                `payload` that is not a JSON object, an ENVELOPE field Bolt routes on with a
                type Slack never sends -> 400 or 415 (the checks: bot/slack_requests.py)
    Bolt        `App.dispatch` on a bounded thread pool (Bolt checks the signature again; with
                process_before_response the ack runs before the response)

Every error response closes the connection. Sockets are bounded too: request headers must arrive
within `header_timeout_s` of the connection (or of the previous response), idle keep-alive
connections close after `keep_alive_s`, headers over 16 KiB get 400 (h11), and beyond
`max_connections` open connections uvicorn answers 503. `shutdown()` stops accepting, lets the
requests in flight finish (up to `graceful_s`), then stops the loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from slack_bolt import App, BoltResponse
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.slack_requests import RequestRefused, to_bolt_request
from knowledge.errors import SwitchboardError

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
_CLOSE = {"connection": "close"}


class HTTPServerError(SwitchboardError):
    """The HTTP front could not be configured or could not start listening."""


@dataclass(frozen=True)
class HTTPLimits:
    """How much any one client may hold: bytes, seconds, connections, threads."""

    max_body_bytes: int = 1 << 20  # Slack's payloads are a few KB
    body_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    keep_alive_s: int = 5
    max_connections: int = 100
    dispatch_threads: int = 16
    graceful_s: float = 30.0
    max_header_bytes: int = 16 * 1024


def slack_routes(app: App, health: Callable[[], dict[str, Any]], pool: ThreadPoolExecutor,
                 limits: HTTPLimits, signing_secret: str) -> list[Route]:
    """Starlette routes for POST /slack/events (Bolt behind the gates) and GET /healthz."""

    async def events(request: Request) -> Response:
        try:
            _check_header_size(request, limits)
            raw = await _read_body(request, limits)
            headers = _bolt_headers(request)
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(pool, _dispatch, app, signing_secret, raw,
                                                  headers,
                                                  request.url.query)
        except RequestRefused as refused:
            log.info("refused a request", extra={"status": refused.status,
                                                 "reason": refused.reason})
            return PlainTextResponse(refused.reason, refused.status, headers=_CLOSE)
        return _from_bolt(response)

    async def healthz(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(pool, health)
        except Exception as error:  # the store or index is broken: say so, keep the trace
            log.exception("health check failed")
            return JSONResponse({"status": "error", "error": str(error)[:200]}, 503)
        return JSONResponse({"status": "ok", **body})

    return [Route(EVENTS_PATH, events, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"])]


def _check_header_size(request: Request, limits: HTTPLimits) -> None:
    # h11 bounds headers that arrive in pieces; this bounds those that arrive in one read.
    size = sum(len(name) + len(value) + 4 for name, value in request.scope["headers"])
    if size > limits.max_header_bytes:
        raise RequestRefused(431, f"the request headers are over {limits.max_header_bytes} bytes")


async def _read_body(request: Request, limits: HTTPLimits) -> bytes:
    declared = request.headers.get("content-length")  # h11 has checked it is all digits
    if declared is not None and (len(declared) > 15 or int(declared) > limits.max_body_bytes):
        raise RequestRefused(413, f"the body is over {limits.max_body_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise RequestRefused(413, f"the body is over {limits.max_body_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestRefused(408, "the body did not arrive in time") from None
    except ClientDisconnect:
        raise RequestRefused(400, "the client went away mid-body") from None
    return b"".join(chunks)


def _bolt_headers(request: Request) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        if not name.startswith("x-slack-bolt-"):  # Bolt's internal lazy-listener switches
            headers.setdefault(name, []).append(value)
    return headers


def _dispatch(app: App, secret: str, raw: bytes, headers: dict[str, list[str]],
              query: str) -> BoltResponse:
    return app.dispatch(to_bolt_request(raw, headers, query, secret))


def _from_bolt(bolt: BoltResponse) -> Response:
    response = Response((bolt.body or "").encode("utf-8"), bolt.status)
    for name, values in bolt.headers.items():
        if name.lower() != "content-length":
            for value in values if isinstance(values, list | tuple) else [values]:
                response.raw_headers.append((name.lower().encode("latin-1"),
                                             str(value).encode("latin-1")))
    return response


class _DeadlineH11(H11Protocol):
    """h11 with a deadline for request headers, so a slow or silent client cannot hold on."""

    header_timeout_s = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests and not self.transport.is_closing():
            if self.conn.our_state is not h11.ERROR:
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


class SlackHTTPServer:
    """Serves one Bolt app over HTTP; `health()` gives the body of /healthz.

    Binds in the constructor (OSError if the port is taken); `port` is the real port."""

    def __init__(self, app: App, port: int, health: Callable[[], dict[str, Any]],
                 host: str = "0.0.0.0", *, limits: HTTPLimits | None = None,
                 signing_secret: str | None = None) -> None:
        self.limits = limits or HTTPLimits()
        # Bolt keeps the secret it verifies with but offers no accessor for it.
        secret = signing_secret or getattr(app, "_signing_secret", "")
        if not secret:
            raise HTTPServerError("HTTP mode needs SLACK_SIGNING_SECRET: set it to the app's "
                                  "Signing Secret (Basic Information page).")
        self.pool = ThreadPoolExecutor(self.limits.dispatch_threads,
                                       thread_name_prefix="http-dispatch")
        self.asgi = Starlette(routes=slack_routes(app, health, self.pool, self.limits, secret))
        self._socket = socket.create_server((host, port), backlog=128)
        self._port: int = self._socket.getsockname()[1]
        protocol = type("DeadlineH11", (_DeadlineH11,),
                        {"header_timeout_s": self.limits.header_timeout_s})
        config = uvicorn.Config(
            self.asgi, http=protocol, loop="asyncio", lifespan="off", log_config=None,
            access_log=False, proxy_headers=False, server_header=False,
            limit_concurrency=self.limits.max_connections,
            timeout_keep_alive=self.limits.keep_alive_s,
            timeout_graceful_shutdown=int(self.limits.graceful_s),
            h11_max_incomplete_event_size=self.limits.max_header_bytes,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    def start_in_thread(self, timeout: float = 10.0) -> threading.Thread:
        """Serve on a background thread; returns once the socket accepts requests."""
        thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                  name="http", daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise HTTPServerError(f"the HTTP server did not start on port {self.port}")
            time.sleep(0.005)
        return thread

    def shutdown(self) -> None:
        """Stop accepting, let the requests in flight finish, stop the loop (idempotent)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self.limits.graceful_s + 5)

    def server_close(self) -> None:
        """Release the socket and the dispatch threads."""
        self.shutdown()
        self._socket.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
