"""The world the leak storm runs in: a real bot with restricted knowledge, and an observer that
reads every Web API call the bot makes and says who could read it.

Real: the Bolt app behind bot.server.SlackHTTPServer, signed requests, the model, a SQLite file
in a temporary folder, expert routing with a fallback channel. Slack is sandbox/slack_api.

Each restricted entry carries a unique marker in its title and its answer. Whether a marker in
a call is a leak is decided here, from the call's readers, independently of the bot's own
rules (knowledge/visibility.py): a channel's readers are its members (everyone in the
workspace for a public channel), a DM's its one person, an ephemeral reply's or a modal's the
person who clicked or typed. A marker is allowed only where every reader may see its entry.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import onnx_embedder
from bot.app import BotApp, build_app
from bot.server import SlackHTTPServer
from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.models import EntryDraft, Visibility
from knowledge.routing_policy import RoutingPolicy
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import Call, FakeSlack
from tests.clock import ManualClock

FAQ = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stackfaq_sample.jsonl"
SECRET = "bench-leaks-secret"
TOKEN = "xoxb-bench-leaks"
ADA, BEN, CAT = "UADA", "UBEN", "UCAT"  # Ada: owner of her entries, in #deal-desk; Ben: neither
PUBLIC, PRIVATE, FALLBACK = "CPUB01", "CPRIV01", "CFALL01"
EXPERTS = {"UERIN": "erin", "UOMAR": "omar", "ULEE": "lee", "UKIM": "kim", "UPAT": "pat"}
PRIVATE_MEMBERS = (ADA, CAT, "UOMAR")
# (marker, visibility, title, answer): each marker names one restricted entry
RESTRICTED = [
    ("SECRETDEAL1", f"channel:{PRIVATE}",
     "Deal desk: refund a duplicate charge on an enterprise invoice",
     "Deal desk only: issue a credit note first, then refund the duplicate."),
    ("SECRETDEAL2", f"channel:{PRIVATE}",
     "Deal desk: what discount can we approve on an enterprise renewal?",
     "Up to 18% without the CFO; above that, the deal desk escalates."),
    ("SECRETADA1", f"users:{ADA}",
     "Refund of a duplicate charge on Ada's own account",
     "Refund it from Ada's private billing page."),
    ("SECRETADA2", f"users:{ADA}",
     "When is Ada's salary review and who decides her raise?",
     "Ada's salary review is on 1 March; her director decides the raise."),
    ("SECRETPAIR1", f"users:{ADA},{CAT}",
     "Severance terms agreed for the office closure in Porto",
     "Three months' pay plus one week per year of service."),
]
PUBLIC_ENTRIES = [
    ("How to refund a duplicate charge on an invoice",
     "Refund the second payment from the invoice page."),
    ("What discount can sales give on a renewal?", "Up to 10% with the manager's approval."),
    ("When do salary reviews happen?", "Salary reviews happen once a year, in spring."),
]
HISTORY = [
    ("UERIN", "Why was the customer charged twice this month?",
     "A retried card payment can create a duplicate charge; refund the second one in Billing."),
    ("UERIN", "How do I refund a duplicate payment on an invoice?",
     "Open the invoice, pick the duplicate payment and choose Refund."),
    ("UOMAR", "How do I refund a monthly subscription?",
     "Refund from the subscription page; monthly plans refund pro rata."),
    ("ULEE", "How do I reset the router admin password?",
     "Hold the reset button for ten seconds, then log in with the default password."),
    ("UKIM", "Where do I book a meeting room?", "Use the Rooms app in the calendar."),
    ("UKIM", "Who has the keys to the Lisbon office?", "Reception keeps them; ask Kim."),
    ("UPAT", "How do I get a visitor badge for the Lisbon office?",
     "Ask reception a day ahead with the visitor's name."),
]
CALLS_READ_BY_PEOPLE = ("chat.postMessage", "chat.update", "chat.postEphemeral",
                        "chat.scheduleMessage", "views.open", "views.push", "views.update",
                        "views.publish", "response_url")


@dataclass(frozen=True)
class Exposure:
    """A marker found in one call, who could read that call, and whether that was allowed."""

    marker: str
    method: str
    readers: frozenset[str]
    allowed: bool

    def describe(self, attempt: str) -> str:
        who = ",".join(sorted(self.readers)) if len(self.readers) <= 4 else \
            f"{len(self.readers)} people"
        return f"{attempt}: {self.marker} via {self.method} to {who}"


@dataclass
class LeakWorld:
    """A running bot over restricted knowledge, the fake Slack it talks to, and the rules for
    who may read what (see the module docstring)."""

    fake: FakeSlack
    store: Store
    bot: BotApp
    server: SlackHTTPServer
    clock: ManualClock
    folder: tempfile.TemporaryDirectory
    entitled: dict[str, frozenset[str]] = field(default_factory=dict)  # marker -> readers
    _viewers: dict[str, str] = field(default_factory=dict)  # trigger id -> who clicked

    @classmethod
    def start(cls) -> LeakWorld:
        """Build the knowledge base, the workspace and the bot; serve it on 127.0.0.1."""
        folder = tempfile.TemporaryDirectory(prefix="switchboard-leaks-")
        fake = FakeSlack().start()
        clock = ManualClock()
        store = Store.open(Path(folder.name) / "leaks.db", clock=clock)
        store.upsert_entries(read_entries(FAQ).drafts)
        store.upsert_entries(
            [EntryDraft(question=f"{title} {marker}", answer=f"{marker}: {answer}",
                        external_id=marker.lower(), visibility=Visibility.parse(visibility))
             for marker, visibility, title, answer in RESTRICTED]
            + [EntryDraft(question=q, answer=a, external_id=f"public-{n}")
               for n, (q, a) in enumerate(PUBLIC_ENTRIES)]
            + [EntryDraft(question=q, answer=a, answered_by=who,
                          tags=("billing",) if who in ("UERIN", "UOMAR") else ())
               for who, q, a in HISTORY])
        embedder = onnx_embedder()
        search = HybridSearch(store, EntryIndex.open(store, embedder, Path(folder.name) / "ix"),
                              embedder)
        for user, name in [(ADA, "ada"), (BEN, "ben"), (CAT, "cat"), *EXPERTS.items()]:
            fake.add_user(user, name, name.title(), tz="Europe/London", tz_offset=0)
        everyone = [u for u in fake.users if u != fake.bot_user_id]
        fake.add_channel(PUBLIC, "support", members=everyone)
        fake.add_channel(PRIVATE, "deal-desk", is_private=True, members=list(PRIVATE_MEMBERS))
        fake.add_channel(FALLBACK, "help-desk", members=everyone)
        policy = RoutingPolicy(route_to=2, sla_minutes=15, fallback_channel=FALLBACK,
                               publish_captured=True)
        bot = build_app(search, token=TOKEN, signing_secret=SECRET, base_url=fake.base_url,
                        routing=policy)
        server = SlackHTTPServer(bot.app, 0, dict, host="127.0.0.1")
        server.start_in_thread()
        world = cls(fake, store, bot, server, clock, folder)
        for marker, visibility, _, _ in RESTRICTED:
            world.entitled[marker] = world._entitled(Visibility.parse(visibility))
        return world

    def close(self) -> None:
        """Stop the server, the workers and the fake; remove the temporary folder."""
        self.server.shutdown()
        self.server.server_close()
        self.bot.drain()
        self.store.close()
        self.fake.stop()
        self.folder.cleanup()

    # -- driving the bot -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    def send(self, payload: signing.Payload) -> int:
        """POST a signed payload and wait for the work it started; returns the HTTP status."""
        status, _ = payload.post(self.url, SECRET)
        self.settle()
        return status

    def settle(self) -> None:
        if not self.bot.executor.wait_idle(60):
            raise RuntimeError("the bot's workers did not finish within 60 s")

    def hook(self, who: str, where: str | None, public: bool = False) -> str:
        """A response_url for `who`, clicked or typed in `where` (`public`: on a message every
        reader of `where` sees, so replacing it is a post to them all)."""
        query = urlencode({"who": who, "where": where or "", "public": int(public)})
        return f"{self.fake.response_url(who.lower())}?{query}"

    def trigger(self, who: str) -> str:
        """A fresh trigger_id, remembered as `who`'s (a modal it opens is read by them)."""
        trigger = signing.new_trigger_id()
        self._viewers[trigger] = who
        return trigger

    def mark(self) -> int:
        """Where the call log is now (see `calls_since`)."""
        with self.fake._cond:
            return len(self.fake.calls)

    def calls_since(self, mark: int) -> list[Call]:
        with self.fake._cond:
            return list(self.fake.calls[mark:])

    def question_id(self, **where: Any) -> int:
        """The id of the one question matching `where` (column = value)."""
        clauses = " AND ".join(f"{k} = ?" for k in where)
        rows = self.store.query(f"SELECT id FROM questions WHERE {clauses} ORDER BY id",
                                list(where.values()))
        if not rows:
            raise LookupError(f"no question where {where}")
        return rows[-1]["id"]

    # -- who reads what ---------------------------------------------------------------------------
    def allow(self, marker: str, readers: Iterable[str]) -> None:
        """A marker the bench planted itself (e.g. in an expert's answer) and who may read it."""
        self.entitled[marker] = frozenset(readers)

    def scan(self, calls: Iterable[Call], actor: str) -> list[Exposure]:
        """Every marker in `calls`, with its readers and whether they all may see it."""
        found: list[Exposure] = []
        for call in calls:
            text = json.dumps(call.args, ensure_ascii=False)
            markers = [m for m in self.entitled if m in text]
            if not markers:
                continue
            readers = self.readers(call, actor)
            for marker in markers:
                allowed = bool(readers) and readers <= self.entitled[marker]
                found.append(Exposure(marker, call.method, readers, allowed))
        return found

    def self_check(self) -> bool:
        """Whether the judge itself works: a marker posted to the public channel or to the
        wrong person's DM is a leak, the same marker in its owner's DM or ephemeral is not."""
        def allowed(method: str, **args: Any) -> bool:
            [exposure] = self.scan([Call(method, {**args, "text": "SECRETADA1"}, {})], BEN)
            return exposure.allowed
        return (not allowed("chat.postMessage", channel=PUBLIC)
                and not allowed("chat.postMessage", channel=f"D{BEN}")
                and not allowed("response_url", who=ADA, where=PUBLIC, public="1",
                                replace_original=True)
                and allowed("chat.postMessage", channel=f"D{ADA}")
                and allowed("response_url", who=ADA, where=PUBLIC, public="0"))

    def readers(self, call: Call, actor: str) -> frozenset[str]:
        """Who can read what `call` shows (everyone, when that cannot be told)."""
        args = call.args
        if call.method == "views.publish":
            return frozenset([str(args.get("user_id"))])
        if call.method in ("views.open", "views.push", "views.update"):
            return frozenset([self._viewers.get(str(args.get("trigger_id")), actor)])
        if call.method == "chat.postEphemeral":
            return frozenset([str(args.get("user"))])
        if call.method == "response_url":
            who, where = str(args.get("who", actor)), str(args.get("where") or "")
            replaces_public = args.get("public") == "1" and args.get("replace_original") in (
                True, "true")
            if args.get("response_type") == "in_channel" or replaces_public:
                return self.channel_readers(where)
            return frozenset([who])
        if call.method in CALLS_READ_BY_PEOPLE:
            return self.channel_readers(str(args.get("channel") or ""))
        return self.everyone()

    def channel_readers(self, channel: str) -> frozenset[str]:
        if channel[:1] in ("U", "W"):
            return frozenset([channel])
        dm_user = next((u for u, c in self.fake.dm_channels.items() if c == channel), None)
        if dm_user is None and channel.startswith("D") and channel[1:] in self.fake.users:
            dm_user = channel[1:]
        if dm_user is not None:
            return frozenset([dm_user])
        info = self.fake.channels.get(channel)
        if info is not None and info.get("is_private"):
            return frozenset(info.get("members", []))
        return self.everyone()  # a public channel (anyone may join) or one we do not know

    def everyone(self) -> frozenset[str]:
        return frozenset(u for u in self.fake.users if u != self.fake.bot_user_id)

    def _entitled(self, visibility: Visibility) -> frozenset[str]:
        if visibility.scope == "users":
            return frozenset(visibility.members)
        if visibility.scope == "channel":
            return self.channel_readers(visibility.members[0])
        return self.everyone()


