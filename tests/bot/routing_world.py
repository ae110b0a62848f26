"""A routing world for bot tests: experts with a history, a controlled clock, a fallback channel,
and the clicks and modals an expert uses. Registered as a pytest plugin (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.entry_index import EntryIndex
from index.lexical_index import LexicalIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.models import EntryDraft
from knowledge.questions import Question
from knowledge.routing_policy import RoutingPolicy
from knowledge.store import Store
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.clock import ManualClock

FIXTURES = Path(__file__).parents[1] / "fixtures"
BILLING = "Customer was charged twice for the same invoice, how do we refund the duplicate?"
PARKING = "What is the parking policy at the Lisbon office?"
EXPERTS = {"UERIN": "erin", "UOMAR": "omar", "ULEE": "lee", "UKIM": "kim"}
HISTORY = [
    ("UERIN", "Why was the customer charged twice this month?",
     "A retried card payment can create a duplicate charge; refund the second one in Billing."),
    ("UERIN", "How do I refund a duplicate payment on an invoice?",
     "Open the invoice, pick the duplicate payment and choose Refund."),
    ("UERIN", "Customer billed twice after upgrading their plan",
     "Upgrades prorate; if both charges went through, refund the older one."),
    ("UOMAR", "How do I refund a monthly subscription?",
     "Refund from the subscription page; monthly plans refund pro rata."),
    ("UOMAR", "Can I change the billing date of an invoice?",
     "Yes, from the invoice settings, before it is finalised."),
    ("ULEE", "How do I reset the router admin password?",
     "Hold the reset button for ten seconds, then log in with the default password."),
    ("ULEE", "The VPN connection drops every hour",
     "Raise the idle timeout in the VPN profile to 8 hours."),
    ("UKIM", "Where do I book a meeting room?", "Use the Rooms app in the calendar."),
]


@dataclass
class World:
    bot: Bot
    clock: ManualClock
    store: Store
    make: Callable[..., Bot]
    policy: RoutingPolicy
    folder: Path
    database_url: str

    @property
    def router(self):
        return self.bot.app.router

    def restart(self) -> Bot:
        """A new process on the same database: a new store, index, search and app."""
        self.bot.server.shutdown()
        self.bot.app.drain()
        self.bot.search.entries.checkpoint()
        store = Store.connect(self.database_url, clock=self.clock)
        self.bot = self.make(searching(store, self.bot.search.embedder, self.folder), self.policy)
        return self.bot


def searching(store: Store, embedder, folder: Path) -> HybridSearch:
    """Search as the bot does it: the vector index and tantivy's, saved in `folder`."""
    index = EntryIndex.open(store, embedder, folder / "index")
    lexical = LexicalIndex.open(store, folder / "index" / "lexical", store.phrasings.texts_by_entry)
    index.companions.append(lexical)
    return HybridSearch(store, index, embedder, lexical=lexical)


@pytest.fixture
def world(make_bot, embedder, tmp_path: Path, database_url: str) -> World:
    """The routing world on each store: a SQLite file, and PostgreSQL (the ladder's claims and
    the expert loop must hold on both)."""
    clock = ManualClock()
    store = Store.connect(database_url, clock=clock)
    store.upsert_entries(read_entries(FIXTURES / "stackfaq_sample.jsonl").drafts)
    store.upsert_entries([EntryDraft(question=q, answer=a, answered_by=who, tags=("billing",)
                                     if who in ("UERIN", "UOMAR") else ())
                          for who, q, a in HISTORY])
    search = searching(store, embedder, tmp_path)
    policy = RoutingPolicy(route_to=2, sla_minutes=15, fallback_channel="CFALL",
                           publish_captured=True)
    bot = make_bot(search, routing=policy)
    for user, name in EXPERTS.items():
        bot.fake.add_user(user, name, name.title(), tz="Europe/London", tz_offset=0)
    bot.fake.add_channel("CFALL", "help-desk")
    yield World(bot, clock, store, make_bot, policy, tmp_path, database_url)
    store.close()


def dm_card(bot: Bot, user: str) -> dict:
    """The latest request DM to `user` (as the fake Slack stores it)."""
    messages = [m for m in bot.fake.history.get(f"D{user}", [])
                if " asked" in blocks_text(m.get("blocks"))]
    assert messages, f"no request DM to {user}"
    return messages[-1]


def press(bot: Bot, user: str, action_id: str, value: str, channel: str, ts: str,
          hook: str | None = None) -> str:
    trigger = signing.new_trigger_id()
    status, _ = bot.send(signing.block_actions(action_id, value, user_id=user, channel_id=channel,
                                               message_ts=ts, trigger_id=trigger,
                                               response_url=hook))
    assert status == 200
    bot.settle()
    return trigger


def open_modal(bot: Bot, user: str, action_id: str) -> str:
    """Press `action_id` on `user`'s latest request DM; the private metadata of the modal the
    bot opened for that click."""
    card = dm_card(bot, user)
    trigger = press(bot, user, action_id, button_values(card["blocks"])[action_id],
                    f"D{user}", card["ts"])
    opened = next(c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger)
    return opened.args["view"]["private_metadata"]


def answer_via_modal(bot: Bot, user: str, text: str, replay: bool = False) -> None:
    submit = signing.view_submission(
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": text}},
        user_id=user, private_metadata=open_modal(bot, user, "expert_answer"))
    assert bot.send(submit)[0] == 200
    if replay:
        assert bot.send(submit)[0] == 200
    bot.settle()


def mention(world: World, text: str = BILLING) -> tuple[dict, Question]:
    """Ask `text` by @mention in C123 and let the bot answer; the event and its question."""
    bot = world.bot
    payload = signing.app_mention(text)
    bot.send(payload)
    bot.settle()
    event = payload.data["event"]
    return event, bot.question(message_ts=event["ts"])


def ask_and_request_expert(world: World, text: str = BILLING) -> tuple[dict, int]:
    bot = world.bot
    event, question = mention(world, text)
    card = bot.posted("C123")[-1]
    if question.tier != "none":
        buttons = button_values(card.args["blocks"])
        press(bot, "U123", "answer_ask_expert", buttons["answer_ask_expert"], "C123",
              question.reply_ts)
    return event, question.id


def thread_texts(bot: Bot, ts: str) -> list[str]:
    return [blocks_text(c.args.get("blocks")) or c.args.get("text", "")
            for c in bot.posted("C123") if c.args.get("thread_ts") == ts]
