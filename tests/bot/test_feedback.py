"""The answer card's buttons: feedback stored once, the card updated in place."""

from __future__ import annotations

from knowledge.questions import QuestionStatus
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values

STRIKE = "strikethrough text in github markdown"


def ask(bot: Bot, text: str = STRIKE) -> tuple[str, dict[str, str]]:
    """Ask by mention; returns the card's ts and its button values."""
    bot.send(signing.app_mention(text))
    bot.settle()
    call = bot.posted("C123")[-1]
    return bot.fake.history["C123"][-1]["ts"], button_values(call.args["blocks"])


def click(bot: Bot, action_id: str, value: str, card_ts: str, user: str = "U123",
          hook: str | None = None) -> signing.Payload:
    payload = signing.block_actions(action_id, value, user_id=user, message_ts=card_ts,
                                    block_id="answer_feedback", response_url=hook)
    status, _ = bot.send(payload)
    assert status == 200
    bot.settle()
    return payload


def entry_counts(bot: Bot) -> dict:
    return bot.search.store.query(
        "SELECT helpful_count, not_helpful_count, usage_count FROM entries "
        "WHERE question = 'Strikethrough with GitHub Markdown'")[0]


def test_solved_is_recorded_once_and_the_card_shows_it(bot: Bot) -> None:
    ts, buttons = ask(bot)
    payload = click(bot, "answer_solved", buttons["answer_solved"], ts)
    [update] = bot.fake.calls_to("chat.update")
    assert update.args["ts"] == ts and update.args["channel"] == "C123"
    text = blocks_text(update.args["blocks"])
    assert "Marked as solved by asker" in text
    assert button_values(update.args["blocks"]) == {}  # buttons replaced by the verdict

    bot.send(payload)  # the same click, replayed
    click(bot, "answer_solved", buttons["answer_solved"], ts)  # a double click
    bot.settle()
    assert len(bot.fake.calls_to("chat.update")) == 1
    assert entry_counts(bot)["helpful_count"] == 1
    assert bot.search.store.query("SELECT count(*) AS n FROM feedback")[0]["n"] == 1
    assert bot.question(channel="C123").status is QuestionStatus.SOLVED


def test_not_helpful_keeps_ask_an_expert(bot: Bot) -> None:
    ts, buttons = ask(bot)
    click(bot, "answer_not_helpful", buttons["answer_not_helpful"], ts)
    [update] = bot.fake.calls_to("chat.update")
    assert "not helpful" in blocks_text(update.args["blocks"])
    assert set(button_values(update.args["blocks"])) == {"answer_ask_expert"}
    assert entry_counts(bot)["not_helpful_count"] == 1


def test_ask_an_expert_is_recorded_and_honest_about_routing(bot: Bot) -> None:
    ts, buttons = ask(bot)
    click(bot, "answer_ask_expert", buttons["answer_ask_expert"], ts)
    [update] = bot.fake.calls_to("chat.update")
    assert "isn't switched on yet" in blocks_text(update.args["blocks"])
    assert bot.question(channel="C123").status is QuestionStatus.EXPERT_REQUESTED


def test_a_bystanders_click_is_counted_but_leaves_the_askers_card(bot: Bot) -> None:
    ts, buttons = ask(bot)
    hook = bot.fake.response_url("bystander")
    click(bot, "answer_solved", buttons["answer_solved"], ts, user="U456", hook=hook)
    assert bot.fake.calls_to("chat.update") == []
    [thanks] = bot.fake.calls_to("response_url")
    assert thanks.args["response_type"] == "ephemeral" and "Thanks" in thanks.args["text"]
    assert entry_counts(bot)["helpful_count"] == 1
    assert bot.question(channel="C123").status is QuestionStatus.ANSWERED


def test_show_more_expands_a_long_answer_in_place(bot: Bot, store) -> None:
    from knowledge.models import EntryDraft

    long_answer = " ".join(f"Step {i}: check the refund window and the plan type." for i in
                           range(120))
    bot.search.store.upsert_entries([EntryDraft(question="How do refunds for annual plans work?",
                                                answer=long_answer, external_id="refunds")])
    ts, buttons = ask(bot, "how do refunds for annual plans work")
    assert "answer_show_more" in buttons
    card = bot.posted("C123")[-1].args["blocks"]
    assert "Step 119" not in blocks_text(card)
    click(bot, "answer_show_more", buttons["answer_show_more"], ts)
    [update] = bot.fake.calls_to("chat.update")
    assert "Step 119" in blocks_text(update.args["blocks"])
    sure = [t for t in blocks_text(card).splitlines() if "% sure" in t]  # how sure, kept
    assert sure and sure[0] in blocks_text(update.args["blocks"])
    assert "answer_solved" in button_values(update.args["blocks"])  # still there to click


def test_buttons_on_an_ephemeral_card_update_it_through_response_url(bot: Bot) -> None:
    bot.send(signing.slash_command("/ask", STRIKE, response_url=bot.fake.response_url("cmd")))
    bot.settle()
    [card] = bot.fake.calls_to("response_url")
    buttons = button_values(card.args["blocks"])
    hook = bot.fake.response_url("click")
    payload = signing.block_actions(
        "answer_solved", buttons["answer_solved"], block_id="answer_feedback",
        container={"type": "message", "message_ts": "1", "channel_id": "C123",
                   "is_ephemeral": True}, response_url=hook)
    bot.send(payload)
    bot.settle()
    replaced = bot.fake.calls_to("response_url")[-1]
    assert replaced.args["replace_original"] in (True, "true")
    assert "Marked as solved" in blocks_text(replaced.args["blocks"])
    assert "You asked" in blocks_text(replaced.args["blocks"])
    assert bot.fake.calls_to("chat.update") == []
