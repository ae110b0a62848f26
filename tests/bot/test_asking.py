"""Every way to ask, end to end: signed request in, answer card out through the fake Slack."""

from __future__ import annotations

from knowledge.questions import QuestionStatus
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values, wait_until

STRIKE = "strikethrough text in github markdown"
LOOSE = "how do I cross out text on github?"  # found, but not confidently


def test_mention_is_answered_in_its_thread(bot: Bot) -> None:
    payload = signing.app_mention(STRIKE)
    status, _ = bot.send(payload)
    assert status == 200
    bot.settle()
    event = payload.data["event"]
    [call] = bot.posted("C123")
    assert call.args["thread_ts"] == event["ts"]
    text = blocks_text(call.args["blocks"])
    assert "Strikethrough with GitHub Markdown" in text
    assert "~~tildes" in text
    question = bot.question(channel="C123", message_ts=event["ts"])
    assert question.asker == "U123" and question.text == STRIKE
    assert question.status is QuestionStatus.ANSWERED
    assert question.reply_ts == bot.fake.history["C123"][-1]["ts"]
    buttons = button_values(call.args["blocks"])
    assert set(buttons) == {"answer_solved", "answer_not_helpful", "answer_ask_expert"}


def test_question_is_stored_before_slack_gets_its_200(bot: Bot) -> None:
    bot.fake.fail_next("chat.postMessage", status=500, times=10)  # Slack down for the reply
    payload = signing.app_mention("what is the shortcut to paste plain text in gmail?")
    status, _ = bot.send(payload)
    assert status == 200
    # Stored synchronously, whatever happens to the reply afterwards.
    rows = bot.search.store.query("SELECT text FROM questions")
    assert [r["text"] for r in rows] == ["what is the shortcut to paste plain text in gmail?"]
    bot.settle()
    question = bot.question(message_ts=payload.data["event"]["ts"])
    # a passing outage: still waiting for its answer, queued for a retry (test_storms.py)
    assert question.status is QuestionStatus.RECEIVED
    assert bot.app.deps.answerer.deliveries.get(f"reply:{question.id}") is not None


def test_dm_is_answered_in_the_dm(bot: Bot) -> None:
    payload = signing.message_im(STRIKE)
    bot.send(payload)
    bot.settle()
    [call] = bot.posted("DU123")
    assert "thread_ts" not in call.args or call.args["thread_ts"] is None
    assert "Strikethrough" in blocks_text(call.args["blocks"])
    assert bot.question(channel="DU123").source.value == "dm"


def test_a_loose_match_is_offered_as_a_suggestion(bot: Bot) -> None:
    bot.send(signing.app_mention(LOOSE))
    bot.settle()
    [call] = bot.posted("C123")
    text = blocks_text(call.args["blocks"])
    assert "might help" in text and "Strikethrough" in text
    assert bot.question(channel="C123").status is QuestionStatus.SUGGESTED


def test_nothing_found_says_so_and_offers_an_expert(bot: Bot) -> None:
    bot.send(signing.app_mention("what is the parking policy at the Lisbon office?"))
    bot.settle()
    [call] = bot.posted("C123")
    text = blocks_text(call.args["blocks"])
    assert "couldn't find" in text
    assert set(button_values(call.args["blocks"])) == {"answer_ask_expert"}
    assert bot.question(channel="C123").status is QuestionStatus.UNANSWERED


def test_slash_command_answers_privately(bot: Bot) -> None:
    hook = bot.fake.response_url("ask")
    status, body = bot.send(signing.slash_command("/ask", STRIKE, response_url=hook))
    assert status == 200 and body in (b"", b"null")
    bot.settle()
    [reply] = bot.fake.calls_to("response_url")
    assert reply.args["response_type"] == "ephemeral"
    text = blocks_text(reply.args["blocks"])
    assert "Strikethrough" in text and "You asked" in text
    assert not bot.posted()  # nothing visible in the channel
    assert bot.question(source="command").status is QuestionStatus.ANSWERED


def test_slash_command_without_a_question_explains_how(bot: Bot) -> None:
    status, body = bot.send(signing.slash_command("/ask", "   "))
    assert status == 200
    assert b"Type your question after the command" in body
    bot.settle()
    assert bot.search.store.query("SELECT count(*) AS n FROM questions")[0]["n"] == 0


def test_message_shortcut_answers_in_a_dm_with_a_link_back(bot: Bot) -> None:
    message = bot.fake.add_message("C123", {"user": "U456", "text": STRIKE})
    payload = signing.message_shortcut("ask_switchboard", message, user_id="U123")
    status, _ = bot.send(payload)
    assert status == 200
    bot.settle()
    [call] = bot.posted("DU123")
    text = blocks_text(call.args["blocks"])
    assert "Strikethrough" in text
    link = f"https://example.slack.com/archives/C123/p{message['ts'].replace('.', '')}"
    assert f"<{link}|this message>" in text
    question = bot.question(source="shortcut")
    assert question.asker == "U123" and question.source_link == link


def test_message_shortcut_on_a_message_without_text(bot: Bot) -> None:
    message = bot.fake.add_message("C123", {"user": "U456", "text": ""})
    hook = bot.fake.response_url("shortcut")
    bot.send(signing.message_shortcut("ask_switchboard", message, response_url=hook))
    bot.settle()
    [reply] = bot.fake.calls_to("response_url")
    assert "no text" in reply.args["text"]
    assert not bot.posted()


def test_app_home_shows_recent_questions_and_the_ask_modal_answers_in_a_dm(bot: Bot) -> None:
    bot.send(signing.app_mention(STRIKE))
    bot.settle()
    bot.send(signing.app_home_opened("U123"))
    bot.settle()
    home = bot.fake.home_views["U123"]
    assert STRIKE in blocks_text(home["blocks"])
    assert "answered" in blocks_text(home["blocks"])

    trigger = signing.new_trigger_id()
    bot.send(signing.block_actions("home_ask", view=home, trigger_id=trigger))
    bot.settle()
    [opened] = bot.fake.calls_to("views.open")
    assert opened.args["trigger_id"] == trigger
    assert opened.args["view"]["callback_id"] == "ask_modal"

    submit = signing.view_submission(
        "ask_modal", {"ask_question": {"ask_question_text": "paste without formatting in gmail"}})
    status, _ = bot.send(submit)
    assert status == 200
    bot.settle()
    [call] = bot.posted("DU123")
    assert "Paste just the text" in blocks_text(call.args["blocks"])
    assert bot.question(source="home").asker == "U123"


def test_empty_modal_is_refused_inline(bot: Bot) -> None:
    submit = signing.view_submission("ask_modal", {"ask_question": {"ask_question_text": "  "}})
    status, body = bot.send(submit)
    assert status == 200
    assert b'"response_action": "errors"' in body or b'"response_action":"errors"' in body
    bot.settle()
    assert not bot.posted()


def test_follow_up_in_the_thread_continues_the_same_question(bot: Bot) -> None:
    first = signing.app_mention("how do I paste in gmail?")
    bot.send(first)
    bot.settle()
    ts = first.data["event"]["ts"]
    follow = signing._message_event("message", "I mean without the formatting, in Firefox",
                                    "U123", "C123", None, ts, "T1")
    follow["channel_type"] = "channel"
    bot.send(signing.event_callback(follow))
    bot.settle()
    calls = bot.posted("C123")
    assert len(calls) == 2
    assert all(c.args["thread_ts"] == ts for c in calls)
    assert "Paste just the text" in blocks_text(calls[1].args["blocks"])
    rows = bot.search.store.query("SELECT id, context FROM questions")
    assert len(rows) == 1
    assert "without the formatting" in rows[0]["context"]


def test_someone_else_in_the_thread_is_not_a_follow_up(bot: Bot) -> None:
    first = signing.app_mention(STRIKE)
    bot.send(first)
    bot.settle()
    chatter = signing._message_event("message", "I had the same problem", "U456", "C123", None,
                                     first.data["event"]["ts"], "T1")
    bot.send(signing.event_callback(chatter))
    bot.settle()
    assert len(bot.posted("C123")) == 1
    assert bot.search.store.query("SELECT context FROM questions")[0]["context"] == ""


def test_only_a_mention_gets_help(bot: Bot) -> None:
    bot.send(signing.app_mention("<@UBOT>"))
    bot.settle()
    [call] = bot.posted("C123")
    assert "Ask me a question" in call.args["text"]
    assert bot.search.store.query("SELECT count(*) AS n FROM questions")[0]["n"] == 0


def test_mention_and_message_events_for_one_message_answer_once(bot: Bot) -> None:
    mention = signing.app_mention(STRIKE)
    event = dict(mention.data["event"], type="message", channel_type="channel")
    bot.send(mention)
    bot.send(signing.event_callback(event))
    bot.settle()
    assert len(bot.posted("C123")) == 1


def test_health_endpoint(bot: Bot) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/healthz") as response:
        body = json.loads(response.read())
    assert response.status == 200 and body["status"] == "ok" and body["indexed"] == 24


def test_home_opened_waits_for_nothing(bot: Bot) -> None:
    status, _ = bot.send(signing.app_home_opened("U456"))
    assert status == 200
    wait_until(lambda: "U456" in bot.fake.home_views)
    assert "Nothing asked yet" in blocks_text(bot.fake.home_views["U456"]["blocks"])
