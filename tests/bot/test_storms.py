"""A fault storm against the local fake Slack: most chat.postMessage and views.publish calls fail
with 429 or 500 for a while, then Slack recovers. Nothing is lost, nothing is posted twice,
nobody gets the wrong advice, and every Home tab is published in the end. Also: what stays
permanent (not_in_channel, is_archived) still falls back to a DM, with advice that fits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from index.search import HybridSearch
from knowledge.deliveries import Backoff
from knowledge.recovery import RecoveryPolicy
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text
from tests.clock import ManualClock
from tests.sandbox.pytest_plugin import BOT_TOKEN

QUESTIONS = [
    "how do I write strikethrough text in github markdown?",
    "what is the shortcut to paste plain text in gmail?",
    "how do I download a whole dropbox folder?",
]
HOME_USERS = ["UH1", "UH2", "UH3", "UH4"]


@pytest.fixture
def stormy(make_bot: Callable[..., Bot], faq_search: HybridSearch, fake_slack) -> tuple[Bot,
                                                                                       ManualClock]:
    clock = ManualClock()
    faq_search.store.clock = clock
    # the client's own quick retries, made quicker for the test: one retry of a 5xx, none of
    # a 429 (what the queue does after them is the same)
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[
        ServerErrorRetryHandler(max_retry_count=1,
                                interval_calculator=FixedValueRetryIntervalCalculator(0.01))])
    bot = make_bot(faq_search, client=client, backoff=Backoff(base_seconds=10, cap_seconds=120),
                   recovery=RecoveryPolicy(lease=timedelta(seconds=60)))
    for user in HOME_USERS:
        bot.fake.add_user(user, user.lower())
    return bot, clock


def test_a_storm_of_429s_and_500s_loses_nothing_and_posts_nothing_twice(stormy) -> None:
    bot, clock = stormy
    bot.fake.storm(["chat.postMessage", "views.publish"], rate=0.8, seed=14)
    mentions = [signing.app_mention(f"{q} ({n})") for n in range(4) for q in QUESTIONS]
    dms = [signing.message_im(q) for q in QUESTIONS]
    for payload in [*mentions, *dms]:
        assert bot.send(payload)[0] == 200
    for user in HOME_USERS:
        assert bot.send(signing.app_home_opened(user))[0] == 200
    bot.settle()
    queue = bot.app.deps.answerer.deliveries
    assert queue.waiting("reply") > 0 and queue.waiting("home") > 0  # the storm did bite
    statuses = Counter(r["status"] for r in bot.search.store.query("SELECT status FROM questions"))
    assert statuses["failed"] == 0  # a passing failure is not a failure

    for _ in range(3):  # the storm goes on for a while: retries fail and back off again
        clock.now += timedelta(minutes=2)
        bot.app.recover()
    bot.fake.calm()
    for _ in range(12):
        clock.now += timedelta(minutes=2)
        bot.app.recover()
        if queue.waiting() == 0:
            break

    assert queue.waiting() == 0
    rows = bot.search.store.query("SELECT status, error FROM questions")
    assert len(rows) == len(mentions) + len(dms)
    assert {r["status"] for r in rows} <= {"answered", "suggested", "unanswered"}, rows
    posts = [m for channel in ("C123", "DU123") for m in bot.fake.history.get(channel, [])
             if m.get("bot_id") == bot.fake.bot_id]
    assert len(posts) == len(mentions) + len(dms)  # exactly one answer per question
    threads = Counter(m.get("thread_ts") for m in posts if m.get("thread_ts"))
    assert set(threads) == {p.data["event"]["ts"] for p in mentions}
    assert set(threads.values()) == {1}
    assert not any("/invite" in blocks_text(m.get("blocks")) for m in posts)
    assert set(HOME_USERS) <= set(bot.fake.home_views)
    assert bot.fake.take_violations() == []


@pytest.mark.parametrize(("error", "advice", "not_said"), [
    ("not_in_channel", "/invite @Switchboard", "archived"),
    ("is_archived", "archived", "/invite"),
    ("cant_post_here_for_reasons", "direct message", "/invite"),
])
def test_permanent_errors_fall_back_to_a_dm_with_matching_advice(
        stormy, error: str, advice: str, not_said: str) -> None:
    bot, _ = stormy
    bot.fake.error_next("chat.postMessage", error)
    bot.send(signing.app_mention(QUESTIONS[0]))
    bot.settle()
    [dm] = [m for m in bot.fake.history.get("DU123", []) if m.get("bot_id")]
    text = blocks_text(dm["blocks"])
    assert error in text and advice in text and not_said not in text
    question = bot.question(channel="C123")
    assert question.status.value == "failed" or question.reply_channel == "DU123"
    assert bot.app.deps.answerer.deliveries.waiting() == 0
    bot.fake.take_violations()
