"""The sandbox's world: a home of its own, the demo knowledge base, the local Slack Web API with
the demo workspace in it, and the real bot in HTTP mode talking to it.

Nothing about the bot is simulated: `bot.app.build_app` builds the same Bolt app as in
production, with a signing secret made at start; every Web API call it makes goes (through the
base URL, as SLACK_API_BASE_URL does) to `sandbox.slack_api.FakeSlack`, which keeps the
workspace's state and records every call real Slack would reject. The bot's clock is injected
(`SandboxClock`), so "skip ahead 15 minutes" moves the escalation ladder without waiting.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import BotApp, build_app
from bot.scheduler import Scheduler
from bot.server import SlackHTTPServer
from index.embedder import Embedder
from index.entry_index import EntryIndex
from index.lexical_index import LexicalIndex
from index.search import HybridSearch
from knowledge.curation import StalenessRules
from knowledge.importing import read_entries
from knowledge.routing_policy import RoutingPolicy
from knowledge.store import Store
from sandbox.demo_vectors import seed as seed_demo_vectors
from sandbox.slack_api import FakeSlack

log = logging.getLogger(__name__)
DEMO = Path(__file__).parent / "demo"
BOT_TOKEN = "xoxb-sandbox"
TICK_SECONDS = 5.0  # the sandbox's scheduler: quick, so skipping ahead shows at once


class SandboxClock:
    """The bot's clock: real time plus an offset that "skip ahead" grows.

    The sandbox's day starts at 10:00 UTC on a working day (the next one, from now), so that
    the demo's experts are at work in their time zones, whatever day someone tries it."""

    def __init__(self) -> None:
        real = datetime.now(UTC)
        self._offset = start_of_demo_day(real) - real
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def skip(self, minutes: float) -> datetime:
        with self._lock:
            self._offset += timedelta(minutes=minutes)
        return self()


def start_of_demo_day(now: datetime) -> datetime:
    """10:00 UTC on the first working day (Monday to Friday) at or after `now`."""
    day = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if day < now:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    title: str
    role: str  # employee, expert or admin
    tz: str
    tz_offset: int
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    private: bool
    members: tuple[str, ...]
    purpose: str = ""


@dataclass
class SandboxWorld:
    """Everything that runs in the sandbox; `stop()` ends it all."""

    home: Path
    clock: SandboxClock
    store: Store
    search: HybridSearch
    fake: FakeSlack
    bot: BotApp
    server: SlackHTTPServer
    secret: str
    people: list[Person]
    channels: list[Channel]
    company: str
    fallback_channel: str
    scheduler: Scheduler | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = False

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    @property
    def bot_user_id(self) -> str:
        return self.fake.bot_user_id

    def person(self, user_id: str) -> Person:
        for person in self.people:
            if person.id == user_id:
                return person
        raise KeyError(user_id)

    def tick(self) -> None:
        """One pass of what the scheduler does: recovery, the ladder, the admin's insights."""
        with self._lock:
            self.bot.recover()
            if self.bot.router is not None:
                self.bot.router.tick()
            if self.bot.home is not None:
                self.bot.home.refresh_insights()

    def skip(self, minutes: float = 15) -> datetime:
        """Move the bot's clock on and run the scheduler once, so escalations happen now."""
        now = self.clock.skip(minutes)
        self.tick()
        return now

    def stop(self) -> None:
        """Stop everything (a second call does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        if self.scheduler is not None:
            self.scheduler.stop(timeout=10)
        self.server.shutdown()
        self.server.server_close()
        self.bot.drain()
        self.search.entries.checkpoint()  # and the lexical index, its companion
        if isinstance(self.search.lexical, LexicalIndex):
            self.search.lexical.close()
        self.fake.stop()
        self.store.close()


def load_people(path: Path = DEMO / "people.json") -> tuple[str, list[Person], list[Channel]]:
    """The demo company's name, people and channels."""
    data = json.loads(path.read_text())
    people = [Person(p["id"], p["name"], p["real_name"], p.get("title", ""), p["role"], p["tz"],
                     int(p["tz_offset"]), tuple(p.get("topics", ()))) for p in data["people"]]
    channels = [Channel(c["id"], c["name"], bool(c.get("private")),
                        tuple(c.get("members") or [p.id for p in people]), c.get("purpose", ""))
                for c in data["channels"]]
    return data.get("company", "Northwind Cloud"), people, channels


def build_world(home: Path, embedder: Embedder, *, reset: bool = False,
                scheduler: bool = True) -> SandboxWorld:
    """Start the sandbox in `home` (its own database and index; `reset` starts afresh)."""
    if reset and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    clock = SandboxClock()
    store = Store.open(home / "switchboard.db", clock=clock)
    if not any(True for _ in store.iter_entries()):
        store.upsert_entries(read_entries(DEMO / "knowledge.jsonl").drafts, actor="sandbox")
        seed_demo_vectors(store, embedder.model_name)  # a first start need not embed them
    entries = EntryIndex.open(store, embedder, home / "index")
    lexical = LexicalIndex.open(store, home / "index" / "lexical", store.phrasings.texts_by_entry)
    entries.companions.append(lexical)  # saved (and the change log pruned) with the vectors
    search = HybridSearch(store, entries, embedder, lexical=lexical)
    company, people, channels = load_people()
    fake = _workspace(people, channels).start()
    fallback = next((c.id for c in channels if c.name == "help-desk"), channels[-1].id)
    secret = secrets.token_hex(16)
    admins = frozenset(p.id for p in people if p.role == "admin")
    bot = build_app(search, token=BOT_TOKEN, signing_secret=secret, base_url=fake.base_url,
                    routing=RoutingPolicy(fallback_channel=fallback), admins=admins,
                    staleness=StalenessRules(), tick_seconds=TICK_SECONDS)
    server = SlackHTTPServer(bot.app, 0, lambda: _health(search), host="127.0.0.1",
                             signing_secret=secret)
    server.start_in_thread()
    world = SandboxWorld(home, clock, store, search, fake, bot, server, secret, people,
                         channels, company, fallback)
    if scheduler:
        world.scheduler = Scheduler(None, interval_seconds=TICK_SECONDS, recover=world.tick)
        world.scheduler.start()
    return world


def _workspace(people: list[Person], channels: list[Channel]) -> FakeSlack:
    fake = FakeSlack(accepted_tokens=[BOT_TOKEN])
    for person in people:
        fake.add_user(person.id, person.name, person.real_name, tz=person.tz,
                      tz_offset=person.tz_offset)
    for channel in channels:
        fake.add_channel(channel.id, channel.name, is_private=channel.private,
                         members=list(channel.members))
    return fake


def _health(search: HybridSearch) -> dict[str, Any]:
    return {"indexed": len(search.entries.vectors)}
