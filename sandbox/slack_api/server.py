"""A strict local fake of the Slack Web API for end-to-end tests of the bot.

``FakeSlack`` serves ``/api/<method>`` (POST or GET) on 127.0.0.1, ephemeral port, so a real
``slack_sdk.WebClient(base_url=fake.base_url)`` (or Bolt configured with that base URL) can
talk to it.  Every call is recorded in ``fake.calls``; every call a correct client would not
make (see rules.py) is recorded in ``fake.violations`` and answered with ``ok: false``.
Answers come from ``canned.CannedSlack``; faults can be injected per method.
It also serves ``POST /hooks/<name>`` as a response_url (recorded as method "response_url",
and with its name in ``hook_posts``).
"""

from __future__ import annotations

import json
import random
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .canned import BadCall, CannedSlack, Response
from .rules import (
    RESPONSE_URL,
    check_call,
    check_response_url,
    check_trigger,
    decode_json_args,
    load_methods,
)


@dataclass(frozen=True)
class Call:
    """One request the fake received: method, args (JSON args decoded), lower-cased headers."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None = None
    verb: str = "POST"


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    remaining: int
    skip: int = 0  # valid calls to let through before failing


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded in ``fake.calls`` instead of logged."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class FakeSlack(CannedSlack):
    """The fake Slack Web API server; use as a context manager or via start()/stop()."""

    def __init__(self, *, extra_methods: Mapping[str, Mapping[str, Any]] | None = None,
                 accepted_tokens: Iterable[str] | None = None, **workspace: Any) -> None:
        super().__init__(**workspace)
        self._workspace_options = workspace
        self.methods = {**load_methods(), **{k: dict(v) for k, v in (extra_methods or {}).items()}}
        self.accepted_tokens = frozenset(accepted_tokens) if accepted_tokens is not None else None
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._used_triggers: set[str] = set()
        self._storm: tuple[frozenset[str], float, random.Random, int] | None = None
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on an ephemeral port and serve from a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.fake = self
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name="fake-slack", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def lock(self) -> threading.RLock:
        """Held while a request changes the workspace: hold it to change or read it too."""
        return self._cond  # type: ignore[return-value]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What WebClient(base_url=...) / SLACK_API_BASE_URL take: http://127.0.0.1:PORT/api/."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "default") -> str:
        """A response_url served by this fake; posts to it are recorded as "response_url"."""
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def reset(self) -> None:
        """Forget calls, violations, faults and all workspace state (new dict objects)."""
        with self._cond:
            CannedSlack.__init__(self, **self._workspace_options)
            self.calls, self.violations, self.warnings = [], [], []
            self._faults.clear()
            self._used_triggers.clear()

    # -- inspection and fault injection --------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls to one method, oldest first."""
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls to ``method`` were recorded (bot threads call async)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; "
                                     f"calls seen: {seen}; violations: {self.violations}")
            return self.calls_to(method)

    def take_violations(self) -> list[str]:
        """Return and clear the violations (for tests that provoke them on purpose)."""
        with self._cond:
            taken, self.violations = self.violations, []
            return taken

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1,
                  times: int = 1) -> None:
        """Answer the next ``times`` valid calls to ``method`` with HTTP ``status``.

        429 answers carry ``Retry-After: retry_after`` and error ``ratelimited``.
        """
        if status == 429:
            self._add_fault(method, _Fault(status, "ratelimited", retry_after, times))
        else:
            self._add_fault(method, _Fault(status, "internal_error", None, times))

    def error_next(self, method: str, error: str, times: int = 1, after: int = 0) -> None:
        """Answer the next ``times`` valid calls with HTTP 200 ``{"ok": false, "error": error}``
        (after letting ``after`` valid calls through)."""
        self._add_fault(method, _Fault(200, error, None, times, after))

    def storm(self, methods: Iterable[str], rate: float, *, seed: int = 0,
              retry_after: int = 0) -> None:
        """Until ``calm()``, fail each valid call to ``methods`` with probability ``rate``:
        half of those with 429 (``Retry-After: retry_after``), half with 500 (seeded)."""
        with self._cond:
            self._storm = (frozenset(methods), rate, random.Random(seed), retry_after)

    def calm(self) -> None:
        """End a ``storm``."""
        with self._cond:
            self._storm = None

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if method != RESPONSE_URL and method not in self.methods:
            raise ValueError(f"unknown Slack method {method!r}")
        with self._cond:
            self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        if self._storm is not None and method in self._storm[0]:
            _, rate, rng, retry_after = self._storm
            if rng.random() < rate:
                if rng.random() < 0.5:
                    return _Fault(429, "ratelimited", retry_after, 1)
                return _Fault(500, "internal_error", None, 1)
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.skip > 0:
            fault.skip -= 1
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    # -- request handling ------------------------------------------------------------------------
    def _serve(self, req: _Handler) -> None:
        url = urlsplit(req.path)
        hook = ""
        if url.path.startswith("/api/"):
            method = url.path[len("/api/"):]
        elif url.path.startswith("/hooks/"):
            method, hook = RESPONSE_URL, url.path[len("/hooks/"):]
        else:
            self._reply(req, 404, {"ok": False, "error": "not_found"})
            return
        try:
            status, payload, extra = self._process(req, method, url.query, hook)
        except Exception:  # a bug in the fake must fail the test, not reset the connection
            problem = f"{method}: fake Slack crashed:\n{traceback.format_exc()}"
            with self._cond:
                self.violations.append(problem)
            status, payload, extra = 500, {"ok": False, "error": "fatal_error"}, {}
        self._reply(req, status, payload, extra)

    def _process(self, req: _Handler, method: str, query: str,
                 hook: str = "") -> tuple[int, Response, dict[str, str]]:
        headers = {k.lower(): v for k, v in req.headers.items()}
        problems: list[str] = []
        args, is_json = self._parse(req, headers, query, problems)
        decode_json_args(args, problems)
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None and not is_json and args.get("token"):
            token = str(args["token"])
        args.pop("token", None)
        call = Call(method, args, headers, token, req.command)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
            error = self._check(call, problems)
            if error:
                self.violations.extend(f"{method}: {p}" for p in problems)
                messages = [f"[ERROR] {p}" for p in problems]
                return 200, {"ok": False, "error": error,
                             "response_metadata": {"messages": messages}}, {}
            fault = self._take_fault(method)
            if fault is not None:
                extra = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return fault.status, {"ok": False, "error": fault.error}, extra
            if method == RESPONSE_URL:
                self.hook_posts.append((hook, args))
                return 200, {"ok": True}, {}
            handler = self.handler(method)
            try:
                return 200, handler(args) if handler else {"ok": True}, {}
            except BadCall as bad:
                self.violations.append(f"{method}: {bad.detail}")
                return 200, {"ok": False, "error": bad.error}, {}

    @staticmethod
    def _parse(req: _Handler, headers: dict[str, str], query: str,
               problems: list[str]) -> tuple[dict[str, Any], bool]:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        length = int(headers.get("content-length") or 0)
        body = req.rfile.read(length) if length else b""
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if not body:
            return args, ctype == "application/json"
        if ctype == "application/x-www-form-urlencoded":
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                problems.append("body is not valid JSON")
                return args, True
            if isinstance(data, dict):
                args.update(data)
            else:
                problems.append("JSON body must be an object")
            return args, True
        else:
            problems.append(f"unsupported content type {ctype!r}")
        return args, False

    def _check(self, call: Call, problems: list[str]) -> str | None:
        """Append what is wrong with ``call`` to ``problems``; return the Slack error code."""
        if call.method == RESPONSE_URL:
            return check_response_url(call.args, problems)
        spec = self.methods.get(call.method)
        error = check_call(call.method, call.args, call.token, spec, problems, self.warnings)
        if (error is None and self.accepted_tokens is not None and spec and spec.get("token")
                and call.token not in self.accepted_tokens):
            problems.append(f"token {call.token!r} is not accepted")
            error = "invalid_auth"
        if error is None and call.method.startswith("views."):
            error = check_trigger(call.args, self._used_triggers, problems)
        return error

    @staticmethod
    def _reply(req: _Handler, status: int, payload: Response,
               extra: Mapping[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(body)

