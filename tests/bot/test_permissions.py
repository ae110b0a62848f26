"""Adversarial permission suite: restricted knowledge never leaves its scope, and a signed click
naming someone else's question, entry, route or post changes nothing. Each test has a positive
control beside it, so a check that refused everything would fail too."""

from __future__ import annotations

import json

import pytest

from knowledge.escalation import Routes
from knowledge.models import EntryDraft, Visibility
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.bot.routing_world import BILLING, World, answer_via_modal, dm_card, press

STRIKE = "strikethrough text in github markdown"
SECRET_TITLE = "Refund of a duplicate charge for Ada's own account"


def _feedback_rows(bot: Bot) -> int:
    return bot.search.store.query("SELECT count(*) AS n FROM feedback")[0]["n"]


def _dm_card(bot: Bot, user: str = "U123") -> tuple[int, str, dict[str, str]]:
    """Ask in the DM; returns the question id, the card's ts and its buttons."""
    bot.send(signing.message_im(STRIKE, user_id=user))
    bot.settle()
    question = bot.question(asker=user)
    [card] = [c for c in bot.posted(f"D{user}")]
    return question.id, question.reply_ts, button_values(card.args["blocks"])


def test_show_more_naming_another_users_dm_question_updates_nothing(bot: Bot) -> None:
    _, card_ts, buttons = _dm_card(bot)
    value = next(iter(v for k, v in buttons.items() if k == "answer_solved"))
    # Ben forges a "Show more" on a public message, naming Ada's DM question
    forged = signing.block_actions("answer_show_more", value, user_id="U456", channel_id="C123")
    assert bot.send(forged)[0] == 200
    bot.settle()
    assert bot.fake.calls_to("chat.update") == []
    # the same click from Ada's own DM card does update it (positive control)
    real = signing.block_actions("answer_show_more", value, user_id="U123",
                                 channel_id="DU123", message_ts=card_ts)
    assert bot.send(real)[0] == 200
    bot.settle()
    [update] = bot.fake.calls_to("chat.update")
    assert update.args["channel"] == "DU123" and update.args["ts"] == card_ts


def test_a_verdict_on_a_question_from_another_conversation_is_not_recorded(bot: Bot) -> None:
    _, card_ts, buttons = _dm_card(bot)
    forged = signing.block_actions("answer_not_helpful", buttons["answer_not_helpful"],
                                   user_id="U456", channel_id="C123")
    bot.send(forged)
    bot.settle()
    assert _feedback_rows(bot) == 0
    bot.send(signing.block_actions("answer_not_helpful", buttons["answer_not_helpful"],
                                   user_id="U123", channel_id="DU123", message_ts=card_ts))
    bot.settle()
    assert _feedback_rows(bot) == 1


def test_a_verdict_naming_an_entry_the_card_did_not_show_is_ignored(bot: Bot) -> None:
    question_id, card_ts, buttons = _dm_card(bot)
    shown = {int(v.split(":")[1]) for v in buttons.values() if ":" in v and v.split(":")[1] != "0"}
    other = bot.search.store.query(
        f"SELECT id FROM entries WHERE id NOT IN ({','.join(map(str, shown))}) LIMIT 1")[0]["id"]
    bot.send(signing.block_actions("answer_solved", f"{question_id}:{other}", user_id="U123",
                                   channel_id="DU123", message_ts=card_ts))
    bot.settle()
    assert _feedback_rows(bot) == 0


def test_an_ephemeral_card_can_only_be_clicked_by_its_asker(bot: Bot) -> None:
    bot.send(signing.slash_command("/ask", STRIKE, response_url=bot.fake.response_url("cmd")))
    bot.settle()
    [card] = bot.fake.calls_to("response_url")
    value = button_values(card.args["blocks"])["answer_solved"]
    ephemeral = {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C123",
                 "is_ephemeral": True}
    bot.send(signing.block_actions("answer_solved", value, user_id="U456", container=ephemeral,
                                   response_url=bot.fake.response_url("ben")))
    bot.settle()
    assert _feedback_rows(bot) == 0 and len(bot.fake.calls_to("response_url")) == 1
    bot.send(signing.block_actions("answer_solved", value, user_id="U123", container=ephemeral,
                                   response_url=bot.fake.response_url("ada")))
    bot.settle()
    assert _feedback_rows(bot) == 1


def test_ask_an_expert_never_shows_the_expert_entries_outside_their_scope(world: World) -> None:
    bot = world.bot
    bot.fake.add_channel("CDEAL", "deal-desk", is_private=True, members=["U123"])
    world.store.upsert_entries([
        EntryDraft(question=SECRET_TITLE, answer="Refund it from Ada's private billing page.",
                   external_id="ada-only", visibility=Visibility.parse("users:U123")),
        EntryDraft(question="Deal desk: refund a duplicate charge on an enterprise invoice",
                   answer="Deal desk only: credit note first.", external_id="deal-desk",
                   visibility=Visibility.parse("channel:CDEAL")),
        EntryDraft(question="How to refund a duplicate charge on an invoice (public)",
                   answer="Refund the second payment from the invoice.", external_id="public"),
    ])
    bot.send(signing.slash_command("/ask", BILLING, response_url=bot.fake.response_url("cmd")))
    bot.settle()
    [card] = bot.fake.calls_to("response_url")
    shown = blocks_text(card.args["blocks"])
    assert "Deal desk" in shown or "Ada's own" in shown  # Ada may see them (control)
    bot.send(signing.block_actions(
        "answer_ask_expert", button_values(card.args["blocks"])["answer_ask_expert"],
        user_id="U123", response_url=bot.fake.response_url("click"),
        container={"type": "message", "message_ts": "1700000000.000001", "channel_id": "C123",
                   "is_ephemeral": True}))
    bot.settle()
    experts = [r.expert for r in Routes(world.store).for_question(bot.question(asker="U123").id)]
    assert experts
    for expert in experts:
        text = blocks_text(dm_card(bot, expert)["blocks"])
        assert "I found these" in text and "(public)" in text  # what they may see is there
        assert "Ada's own account" not in text and "Deal desk" not in text


def test_fallback_answer_only_from_the_fallback_channel(world: World) -> None:
    bot = world.bot
    bot.send(signing.app_mention("What is the parking policy at the Lisbon office?"))
    bot.settle()
    question_id = bot.question(channel="C123").id
    trigger = press(bot, "U456", "fallback_answer", str(question_id), "C123",
                    "1700000000.000001")
    assert not [c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger]


@pytest.mark.parametrize("event", [
    {"subtype": {"nested": True}},
    {"ts": ["1700000000.000100"]},
    {"thread_ts": "0"},
    {"thread_ts": "abc"},
    {"user": None},
    {"channel": {"id": "C123"}},
    {"text": "refund \ud800 twice"},
])
def test_odd_but_signed_events_are_acknowledged_and_change_nothing_else(
        bot: Bot, event: dict) -> None:
    base = signing.app_mention(STRIKE)
    data = json.loads(base.body)
    data["event"].update(event)
    payload = signing._json(data)
    status, _ = bot.send(payload)
    assert status in (200, 400)  # acknowledged, or refused at the edge as malformed
    bot.settle()
    stored = bot.search.store.query("SELECT text FROM questions")
    if "text" in event:  # Slack does send lone surrogates: the question is kept and answered
        assert [r["text"] for r in stored] == ["refund \ufffd twice"]
        assert bot.posted("C123")
    else:
        assert stored == [] and bot.posted() == []
    assert all("thread_ts" not in c.args or c.args["thread_ts"] not in ("0", "abc")
               for c in bot.fake.calls_to("chat.postMessage"))


@pytest.mark.parametrize("body", [
    {"type": "block_actions", "actions": [{"action_id": "admin_approve", "value": "1"}]},
    {"type": "block_actions", "user": "U123", "actions": [{"action_id": "answer_solved",
                                                           "value": "1:1"}]},
    {"type": "message_action", "callback_id": "ask_switchboard", "user": {"id": "U123"},
     "channel": "C123", "trigger_id": "1.2.3", "message": {"ts": "1700000000.000100",
                                                           "text": "hi"}},
    {"type": "view_submission", "user": {"id": "U123"}, "view": {"id": "V1", "callback_id":
                                                                  "expert_answer_modal",
                                                                  "state": []}},
])
def test_odd_but_signed_interactions_get_a_response_and_change_nothing(
        bot: Bot, body: dict) -> None:
    status, _ = bot.send(signing._interaction(body))
    assert status in (200, 400)  # acknowledged, or refused at the edge as malformed
    bot.settle()
    assert bot.search.store.query("SELECT count(*) AS n FROM questions")[0]["n"] == 0
    assert _feedback_rows(bot) == 0


def test_an_answer_to_a_private_channel_question_stays_in_that_channel(world: World) -> None:
    # Slack's app_mention events say nothing of the channel's type, and private channels have
    # C… ids: the bot must ask Slack rather than take the channel for a public one.
    bot = world.bot
    bot.fake.add_channel("CPRIV", "deal-desk", is_private=True, members=["U123", "UERIN"])
    mention = signing.app_mention(BILLING, channel_id="CPRIV")
    bot.send(mention)
    bot.settle()
    question = bot.question(message_ts=mention.data["event"]["ts"])
    assert question.channel_kind == "private"
    if question.tier != "none":
        card = bot.posted("CPRIV")[-1]
        press(bot, "U123", "answer_ask_expert",
              button_values(card.args["blocks"])["answer_ask_expert"], "CPRIV",
              question.reply_ts)
    answer_via_modal(bot, "UERIN", "Refund the second charge from the invoice's Payments tab.")
    entry_id = bot.questions.expert_answer(question.id).entry_id
    assert bot.search.store.get_entry(entry_id).visibility == Visibility.parse("channel:CPRIV")
