"""HTTP mode: Slack's requests at POST /slack/events, a health check at GET /healthz.

A small threaded server in front of Bolt's `dispatch`: every request's signature is checked by
Bolt (a missing, wrong or stale one gets 401 and touches nothing).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1 << 20  # Slack's payloads are a few KB; refuse anything absurd


class SlackHTTPServer(ThreadingHTTPServer):
    """Serves one Bolt app; `health()` gives the body of /healthz."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App, port: int, health: Callable[[], dict[str, Any]],
                 host: str = "0.0.0.0") -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        self.health = health

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if urlsplit(self.path).path == HEALTH_PATH:
            try:
                body = {"status": "ok", **self.server.health()}
                self._send(200, json.dumps(body).encode(), "application/json")
            except Exception as error:  # the store or index is broken: say so
                log.exception("health check failed")
                body = {"status": "error", "error": str(error)[:200]}
                self._send(503, json.dumps(body).encode(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path != EVENTS_PATH:
            self._send(404, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, b"payload too large", "text/plain")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        response = self.server.app.dispatch(
            BoltRequest(body=body, query=url.query, headers=headers)
        )
        content_type = (response.headers.get("content-type") or ["text/plain"])[0]
        self._send(response.status, (response.body or "").encode("utf-8"), content_type,
                   {k: v for k, v in response.headers.items() if k.lower() != "content-type"
                    and k.lower() != "content-length"})

    def _send(self, status: int, body: bytes, content_type: str,
              extra: dict[str, list[str]] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, values in (extra or {}).items():
            for value in values:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)
