"""Starts the bot: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT.

The model and index are loaded before Slack traffic is accepted, so the first question is as
quick as any other. SIGTERM or Ctrl-C stop taking new requests, let the answers in progress
finish, save the index and close the database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import BotApp, build_app
from bot.scheduler import Scheduler
from bot.server import SlackHTTPServer
from bot.slack_client import web_client
from index.search import HybridSearch
from knowledge.errors import SwitchboardError

log = logging.getLogger(__name__)


class StartupError(SwitchboardError):
    """Slack refused the bot's credentials, or the port is taken."""


def start_app(search: HybridSearch, *, token: str, signing_secret: str | None,
              base_url: str | None, socket_mode: bool, **options: Any) -> BotApp:
    client = web_client(token, base_url)
    try:
        client.auth_test()  # fails here with Slack's own reason (invalid_auth, ...)
        return build_app(search, token=token, signing_secret=signing_secret, client=client,
                         socket_mode=socket_mode, **options)
    except (BoltError, SlackApiError, SlackClientError, OSError) as error:
        raise StartupError(
            f"Slack did not accept SLACK_BOT_TOKEN ({_reason(error)}): check the token, or "
            "SLACK_API_BASE_URL if you set it."
        ) from error


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def run(search: HybridSearch, *, mode: str, token: str, app_token: str | None,
        signing_secret: str | None, base_url: str | None, port: int,
        health: Callable[[], dict[str, Any]], stop: threading.Event | None = None,
        **options: Any) -> None:
    """Serve until `stop` is set (by SIGTERM/SIGINT when run from the main thread).

    `options` go to build_app (routing, admins, admin_group, staleness)."""
    stop = stop or threading.Event()
    started = time.perf_counter()
    search.search("warm up", k=1)  # load the model and the index now, not on the first question
    bot = start_app(search, token=token, signing_secret=signing_secret, base_url=base_url,
                    socket_mode=mode == "socket", **options)
    scheduler = Scheduler(bot.router, bot.tick_seconds, hourly=bot.hourly, recover=bot.recover,
                          background=bot.background).start()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    if mode == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(bot.app, app_token)
        handler.connect()
        log.info("ready", extra={"mode": "socket", "startup_s": round(time.perf_counter()
                                                                       - started, 2)})
        stop.wait()
        handler.close()
    else:
        try:
            server = SlackHTTPServer(
                bot.app, port, lambda: {**health(), "in_flight": bot.executor.in_flight}
            )
        except OSError as error:
            raise StartupError(f"Cannot listen on PORT={port} ({error.strerror}): pick a free "
                               "port with PORT=...") from error
        server.start_in_thread()
        log.info("ready", extra={"mode": "http", "port": server.port, "path": "/slack/events",
                                 "startup_s": round(time.perf_counter() - started, 2)})
        stop.wait()
        server.shutdown()
        server.server_close()
    log.info("stopping: finishing the answers in progress")
    scheduler.stop()
    bot.drain()
    log.info("stopped")
