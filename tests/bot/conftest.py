"""The bot under test: real model, real SQLite file, real Bolt app served over HTTP, talking to
the local fake Slack. Requests are signed with the real v0 scheme."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp, build_app
from bot.server import SlackHTTPServer
from index.search import HybridSearch
from knowledge.questions import Question, QuestionBook
from knowledge.routing_policy import RoutingPolicy
from sandbox.slack_api.blockkit import blocks_text, button_values  # noqa: F401 (re-exported)
from sandbox.slack_api.server import Call, FakeSlack
from sandbox.slack_api.signing import Payload
from tests.sandbox.pytest_plugin import BOT_TOKEN


@dataclass
class Bot:
    """A running bot and the handles a test needs."""

    fake: FakeSlack
    server: SlackHTTPServer
    app: BotApp
    search: HybridSearch
    secret: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    @property
    def questions(self) -> QuestionBook:
        return self.app.deps.questions

    def send(self, payload: Payload, *, secret: str | None = None, timestamp: int | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """POST a payload signed as Slack signs it; returns (status, body)."""
        import urllib.error
        import urllib.request

        all_headers = {"Content-Type": payload.content_type,
                       **payload.headers(secret or self.secret, timestamp), **(headers or {})}
        request = urllib.request.Request(self.url, data=payload.body, headers=all_headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every lazy listener started so far has finished."""
        assert self.app.executor.wait_idle(timeout), "the bot's workers did not finish in time"

    def posted(self, channel: str | None = None) -> list[Call]:
        calls = self.fake.calls_to("chat.postMessage")
        return [c for c in calls if channel is None or c.args.get("channel") == channel]

    def question(self, **where: Any) -> Question:
        clauses = " AND ".join(f"{k} = ?" for k in where)
        rows = self.search.store.query(f"SELECT id FROM questions WHERE {clauses}",
                                       list(where.values()))
        assert len(rows) == 1, f"expected one question where {where}, found {len(rows)}"
        return self.questions.get(rows[0]["id"])


@pytest.fixture
def make_bot(fake_slack: FakeSlack, faq_search: HybridSearch,
             slack_signing_secret: str) -> Iterator[Callable[..., Bot]]:
    started: list[Bot] = []

    def make(search: HybridSearch | None = None, routing: RoutingPolicy | None = None,
             **options: Any) -> Bot:
        search = search or faq_search
        fake_slack.add_user("U123", "asker", "Ada Asker")
        fake_slack.add_user("U456", "bystander", "Ben Bystander")
        fake_slack.add_channel("C123", "support", members=["U123", "U456"])
        app = build_app(search, token=BOT_TOKEN, signing_secret=slack_signing_secret,
                        base_url=fake_slack.base_url, routing=routing, **options)
        server = SlackHTTPServer(app.app, 0, lambda: {"indexed": len(search.entries.vectors)},
                                 host="127.0.0.1")
        server.start_in_thread()
        bot = Bot(fake_slack, server, app, search, slack_signing_secret)
        started.append(bot)
        return bot

    yield make
    for bot in started:
        bot.server.shutdown()
        bot.server.server_close()
        bot.app.drain()


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


def wait_until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def faq_path() -> Path:
    return Path(__file__).parents[1] / "fixtures" / "stackfaq_sample.jsonl"
