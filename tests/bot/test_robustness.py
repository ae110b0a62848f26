"""What goes wrong in real workspaces: forged and replayed requests, Slack retries, rate limits,
outages, missing permissions, restricted knowledge, loops, edits, deletions, odd input."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.slack_text import mentions_someone
from knowledge.models import EntryDraft, Visibility
from knowledge.questions import QuestionStatus
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text

STRIKE = "strikethrough text in github markdown"


def question_count(bot: Bot) -> int:
    return bot.search.store.query("SELECT count(*) AS n FROM questions")[0]["n"]


@pytest.mark.parametrize("forgery", ["wrong secret", "no signature", "stale", "tampered"])
def test_unsigned_or_forged_requests_get_401_and_touch_nothing(bot: Bot, forgery: str) -> None:
    payload = signing.app_mention(STRIKE)
    if forgery == "wrong secret":
        status, _ = bot.send(payload, secret="not-the-secret")
    elif forgery == "no signature":
        import urllib.error
        import urllib.request

        request = urllib.request.Request(bot.url, data=payload.body, method="POST",
                                         headers={"Content-Type": payload.content_type})
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
    elif forgery == "stale":  # a captured request replayed after Slack's 5 minutes
        status, _ = bot.send(payload, timestamp=int(time.time()) - 6 * 60)
    else:  # signed, then the body changed on the way
        headers = payload.headers(bot.secret)
        tampered = payload.body.replace(b"strikethrough", b"STRIKETHROUGH")
        import urllib.error
        import urllib.request

        request = urllib.request.Request(bot.url, data=tampered, method="POST",
                                         headers={"Content-Type": payload.content_type,
                                                  **headers})
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
    assert status == 401
    bot.settle()
    assert question_count(bot) == 0
    assert [c.method for c in bot.fake.calls if c.method != "auth.test"] == []


def test_slack_retries_of_an_event_answer_once(bot: Bot) -> None:
    payload = signing.app_mention(STRIKE)
    bot.send(payload)
    for attempt in (1, 2):
        status, _ = bot.send(payload, headers={"X-Slack-Retry-Num": str(attempt),
                                               "X-Slack-Retry-Reason": "http_timeout"})
        assert status == 200
    bot.settle()
    assert len(bot.posted("C123")) == 1
    assert question_count(bot) == 1


def test_a_replayed_slash_command_answers_once(bot: Bot) -> None:
    payload = signing.slash_command("/ask", STRIKE, response_url=bot.fake.response_url("c"))
    bot.send(payload)
    bot.send(payload)
    bot.settle()
    assert len(bot.fake.calls_to("response_url")) == 1
    assert question_count(bot) == 1


def test_parallel_deliveries_of_one_question_answer_once(bot: Bot) -> None:
    payload = signing.app_mention(STRIKE)
    threads = [threading.Thread(target=bot.send, args=(payload,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bot.settle()
    assert len(bot.posted("C123")) == 1


def test_rate_limits_and_server_errors_are_retried(bot: Bot) -> None:
    bot.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    bot.fake.fail_next("chat.postMessage", status=503)
    bot.send(signing.app_mention(STRIKE))
    bot.settle()
    attempts = bot.posted("C123")
    assert len(attempts) == 3  # 429, 503, then delivered
    assert len(bot.fake.history["C123"]) == 1
    assert bot.question(channel="C123").status is QuestionStatus.ANSWERED


def test_not_in_channel_tells_the_asker_privately(bot: Bot,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    bot.fake.error_next("chat.postMessage", "not_in_channel")
    payload = signing.app_mention(STRIKE, channel_id="C999")
    with caplog.at_level("WARNING"):
        bot.send(payload)
        bot.settle()
    [dm] = bot.posted("DU123")
    text = blocks_text(dm.args["blocks"])
    assert "not_in_channel" in text and "/invite" in text and "Strikethrough" in text
    question = bot.question(channel="C999")
    assert question.reply_channel == "DU123"
    failure = [r for r in caplog.records if r.getMessage() == "could not post an answer"]
    assert failure and failure[0].question_id == question.id
    assert failure[0].error == "not_in_channel"


def test_when_nothing_can_be_posted_the_question_is_kept_as_failed(bot: Bot) -> None:
    bot.fake.error_next("chat.postMessage", "channel_not_found", times=5)
    bot.send(signing.app_mention(STRIKE))
    bot.settle()
    question = bot.question(channel="C123")
    assert question.status is QuestionStatus.FAILED
    assert question.text == STRIKE


@pytest.fixture
def restricted(bot: Bot) -> Bot:
    bot.fake.add_channel("CSECRET", "escalations", is_private=True, members=["U123"])
    bot.search.store.upsert_entries([
        EntryDraft(question="Strikethrough in the internal wiki (team only)",
                   answer="Use the strikethrough markdown trick for wiki pages; team only.",
                   external_id="team-only", visibility=Visibility.parse("channel:CSECRET")),
        EntryDraft(question="Strikethrough in GitHub markdown for Ada",
                   answer="Personal note for Ada: wrap the strikethrough text in tildes.",
                   external_id="ada-only", visibility=Visibility.parse("users:U123")),
    ])
    return bot


def _shown(text: str) -> set[str]:
    return {name for name, marker in (("team", "(team only)"), ("ada", "for Ada"))
            if marker in text}


def test_restricted_entries_never_reach_a_public_channel(restricted: Bot) -> None:
    restricted.send(signing.app_mention(STRIKE))
    restricted.settle()
    [call] = restricted.posted("C123")
    assert _shown(blocks_text(call.args["blocks"])) == set()
    assert "Strikethrough with GitHub Markdown" in blocks_text(call.args["blocks"])


def test_restricted_entries_reach_people_in_scope_privately(restricted: Bot) -> None:
    restricted.send(signing.slash_command("/ask", STRIKE, user_id="U123",
                                          response_url=restricted.fake.response_url("ada")))
    restricted.send(signing.slash_command("/ask", STRIKE, user_id="U456",
                                          response_url=restricted.fake.response_url("ben")))
    restricted.settle()
    texts = [blocks_text(c.args["blocks"]) for c in restricted.fake.calls_to("response_url")]
    assert len(texts) == 2
    shown = sorted(tuple(sorted(_shown(t))) for t in texts)
    assert shown == [(), ("ada", "team")]  # Ada sees both (she's in #escalations), Ben neither


def test_restricted_channel_entries_are_shown_in_that_channel(restricted: Bot) -> None:
    restricted.send(signing.app_mention(STRIKE, channel_id="CSECRET"))
    restricted.settle()
    [call] = restricted.posted("CSECRET")
    assert _shown(blocks_text(call.args["blocks"])) == {"team"}  # not Ada's personal one


def test_bots_and_our_own_posts_never_start_a_loop(bot: Bot) -> None:
    other_bot = signing._message_event("message", STRIKE, "U777", "DU123", None, None, "T1")
    other_bot.update(bot_id="B777", subtype="bot_message", channel_type="im")
    ours = signing._message_event("message", STRIKE, "UBOT", "DU123", None, None, "T1")
    ours.update(bot_id="BBOT", channel_type="im")
    for event in (other_bot, ours):
        assert bot.send(signing.event_callback(event))[0] == 200
    bot.settle()
    assert bot.posted() == [] and question_count(bot) == 0


def test_editing_the_question_updates_the_answer(bot: Bot) -> None:
    first = signing.app_mention("how do I paste in gmail?")
    bot.send(first)
    bot.settle()
    original = first.data["event"]
    edited = {**original, "text": "<@UBOT> strikethrough text in github markdown",
              "edited": {"user": "U123", "ts": signing.new_ts()}}
    event = {"type": "message", "subtype": "message_changed", "channel": "C123",
             "hidden": True, "message": edited, "previous_message": original,
             "event_ts": signing.new_ts(), "ts": signing.new_ts(), "channel_type": "channel"}
    change = signing.event_callback(event)
    bot.send(change)
    bot.send(change, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    bot.settle()
    [update] = bot.fake.calls_to("chat.update")
    assert "Strikethrough with GitHub Markdown" in blocks_text(update.args["blocks"])
    question = bot.question(channel="C123")
    assert question.text == "strikethrough text in github markdown"
    assert len(bot.posted("C123")) == 1


def test_deleting_the_question_withdraws_it_and_removes_the_answer(bot: Bot) -> None:
    first = signing.app_mention(STRIKE)
    bot.send(first)
    bot.settle()
    ts = first.data["event"]["ts"]
    event = {"type": "message", "subtype": "message_deleted", "channel": "C123", "hidden": True,
             "deleted_ts": ts, "event_ts": signing.new_ts(), "ts": signing.new_ts(),
             "previous_message": first.data["event"], "channel_type": "channel"}
    bot.send(signing.event_callback(event))
    bot.settle()
    [deleted] = bot.fake.calls_to("chat.delete")
    question = bot.question(channel="C123")
    assert deleted.args["ts"] == question.reply_ts
    assert question.status is QuestionStatus.WITHDRAWN
    assert bot.fake.history["C123"] == []


def test_a_40k_character_message_is_stored_and_answered_within_block_limits(bot: Bot) -> None:
    text = "strikethrough text in github markdown " + "and more context " * 2400
    assert len(text) > 40_000
    bot.send(signing.app_mention(text[:40_000]))
    bot.settle()
    assert len(bot.posted("C123")) == 1  # and the fake checked every Block Kit limit
    assert len(bot.question(channel="C123").text) <= 40_000


def test_unicode_and_emoji(bot: Bot) -> None:
    text = "🤔 Strikethrough-Text in GitHub-Markdown, wie geht das? ñ 日本語"
    bot.send(signing.app_mention(text))
    bot.settle()
    [call] = bot.posted("C123")
    assert "Strikethrough" in blocks_text(call.args["blocks"])
    assert bot.question(channel="C123").text == text


def test_echoed_text_pings_nobody(bot: Bot) -> None:
    bot.search.store.upsert_entries([EntryDraft(
        question="Who handles <!channel> escalations for refunds?",
        answer="Ping <!here> and <@U456>, or @channel, see <https://wiki.example.com|the wiki>.",
        answered_by="<!everyone>", external_id="loud")])
    ask = "<!channel> who handles <!here> escalations for refunds? cc <@U456> @everyone"
    bot.send(signing.slash_command("/ask", ask, response_url=bot.fake.response_url("loud")))
    bot.send(signing.app_mention("who handles escalations for refunds?"))
    bot.settle()
    bodies = [*bot.fake.calls_to("chat.postMessage"), *bot.fake.calls_to("response_url")]
    assert len(bodies) == 2
    for call in bodies:
        dumped = json.dumps(call.args)
        assert not mentions_someone(json.loads(dumped).get("text") or "")
        assert not mentions_someone(blocks_text(call.args["blocks"]))
        assert "@channel" not in blocks_text(call.args["blocks"]).replace("@\u2060", "")
        assert "<https://wiki.example.com|the wiki>" in blocks_text(call.args["blocks"])


class BrokenModel:
    """An embedder whose model file went bad after start-up."""

    model_name = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384

    def embed(self, texts):
        raise RuntimeError("ONNX model file is corrupt")


def test_a_failing_search_is_apologised_for_and_the_question_kept(make_bot, faq_search) -> None:
    from index.search import HybridSearch

    broken = HybridSearch(faq_search.store, faq_search.entries, BrokenModel())
    bot = make_bot(broken)
    bot.send(signing.app_mention(STRIKE))
    bot.settle()
    [call] = bot.posted("C123")
    assert "something went wrong" in call.args["text"] and "#1" in call.args["text"]
    question = bot.question(channel="C123")
    assert question.status is QuestionStatus.FAILED and question.text == STRIKE
