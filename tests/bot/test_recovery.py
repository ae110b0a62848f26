"""Recovery of questions acknowledged but never answered: a worker dies at a chosen point (an
injected fault), time passes on a controlled clock, and the recovery pass answers each question
exactly once, where it was asked, with an apology when late, or not at all when too old.
And the same with the real bot as a process, killed with SIGKILL at the fault point and
started again on the same home (tests/bot/crashing_bot.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.questions import QuestionStatus
from knowledge.recovery import EXPIRED, RecoveryPolicy
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.bot.test_run import FIXTURE, ROOT, env_for, free_port, switchboard, wait_for_health
from tests.clock import ManualClock

STRIKE = "how do I write strikethrough text in github markdown?"
POLICY = RecoveryPolicy(late_after=timedelta(minutes=10), give_up_after=timedelta(hours=24),
                        lease=timedelta(seconds=60))


class Crash(Exception):
    """Stands in for the process dying at a fault point (the claim stays taken)."""


@dataclass
class CrashAt:
    """A fault hook: dies once at `point`, then lets everything through (the restart)."""

    point: str | None = None

    def __call__(self, point: str, question_id: int) -> None:
        if point == self.point:
            self.point = None
            raise Crash(f"{point} #{question_id}")


@dataclass
class Clocked:
    bot: Bot
    clock: ManualClock
    crash: CrashAt
    make: Callable[[], Bot]


@pytest.fixture
def clocked(make_bot: Callable[..., Bot], faq_search: HybridSearch,
            tmp_path: Path) -> Iterator[Clocked]:
    clock = ManualClock()
    faq_search.store.clock = clock
    crash = CrashAt()
    others: list[Store] = []

    def another() -> Bot:
        """Another process on the same database file (stored embeddings: no re-embedding)."""
        store = Store.open(tmp_path / "switchboard.db", clock=clock)
        others.append(store)
        index = EntryIndex.open(store, faq_search.embedder, tmp_path / "index")
        return make_bot(HybridSearch(store, index, faq_search.embedder), recovery=POLICY,
                        faults=crash)

    yield Clocked(make_bot(faq_search, recovery=POLICY, faults=crash), clock, crash, another)
    for store in others:
        store.close()


def answers_in(bot: Bot, channel: str) -> list[dict]:
    return [m for m in bot.fake.history.get(channel, []) if m.get("bot_id") == bot.fake.bot_id]


@pytest.mark.parametrize("point", ["received", "claimed", "before_post"])
def test_a_question_dropped_mid_answer_is_answered_once_after_the_lease(
        clocked: Clocked, point: str) -> None:
    bot = clocked.bot
    clocked.crash.point = point
    payload = signing.app_mention(STRIKE)
    assert bot.send(payload)[0] == 200
    bot.settle()
    question = bot.question(channel="C123")
    assert question.status is QuestionStatus.RECEIVED and not answers_in(bot, "C123")
    if point != "received":  # Slack's retry while the dead worker's claim holds does nothing
        assert bot.send(payload)[0] == 200
        bot.settle()
    assert bot.app.recover().answered == 0 and not answers_in(bot, "C123")

    clocked.clock.advance(seconds=61)
    assert bot.app.recover().answered == 1
    [answer] = answers_in(bot, "C123")
    assert answer["thread_ts"] == payload.data["event"]["ts"]
    assert "Strikethrough" in blocks_text(answer["blocks"])
    assert "late" not in blocks_text(answer["blocks"])
    assert bot.question(channel="C123").status is QuestionStatus.ANSWERED
    # nothing more, however often it is looked at or redelivered
    clocked.clock.advance(minutes=5)
    assert bot.app.recover().answered == 0
    bot.send(payload)
    bot.settle()
    assert len(answers_in(bot, "C123")) == 1


def test_two_processes_recovering_at_once_answer_each_question_once(clocked: Clocked) -> None:
    first = clocked.bot
    for n in range(4):
        clocked.crash.point = "claimed"
        first.send(signing.app_mention(f"{STRIKE} ({n})"))
        first.settle()
    clocked.clock.advance(minutes=3)
    second = clocked.make()
    start = threading.Barrier(2)
    totals: list[int] = []

    def recover(bot: Bot) -> None:
        start.wait()
        totals.append(bot.app.recover().answered)

    threads = [threading.Thread(target=recover, args=(b,)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(totals) == 4
    assert len(answers_in(first, "C123")) == 4
    statuses = {r["status"] for r in first.search.store.query("SELECT status FROM questions")}
    assert statuses == {"answered"}


def test_late_answers_apologise_and_day_old_questions_expire(clocked: Clocked) -> None:
    bot = clocked.bot
    clocked.crash.point = "claimed"
    bot.send(signing.app_mention(STRIKE))
    bot.settle()
    clocked.clock.advance(minutes=30)
    assert bot.app.recover().late == 1
    [answer] = answers_in(bot, "C123")
    assert "Sorry this answer comes late" in blocks_text(answer["blocks"])

    clocked.crash.point = "claimed"
    bot.send(signing.app_mention(STRIKE, channel_id="C123"))
    bot.settle()
    clocked.clock.advance(hours=25)
    done = bot.app.recover()
    assert done.expired == 1 and done.answered == 0
    assert len(answers_in(bot, "C123")) == 1
    expired = bot.search.store.query("SELECT status, error FROM questions WHERE id = 2")[0]
    assert expired == {"status": "failed", "error": EXPIRED}


def test_recovered_answers_go_where_the_question_was_asked(clocked: Clocked) -> None:
    bot = clocked.bot
    hook = bot.fake.response_url("ask")
    clocked.crash.point = "claimed"
    bot.send(signing.slash_command("/ask", STRIKE, response_url=hook))
    bot.settle()
    clocked.crash.point = "claimed"
    bot.send(signing.message_im(STRIKE))
    bot.settle()
    clocked.clock.advance(minutes=2)
    assert bot.app.recover().answered == 2
    [private] = bot.fake.calls_to("response_url")  # /ask: privately, where it was typed
    assert private.args["response_type"] == "ephemeral"
    assert "Strikethrough" in blocks_text(private.args["blocks"])
    [dm] = answers_in(bot, "DU123")  # the DM question: in the DM
    assert "Strikethrough" in blocks_text(dm["blocks"])
    assert not answers_in(bot, "C123")


def test_an_ask_recovered_after_its_response_url_expired_goes_to_a_dm(clocked: Clocked) -> None:
    bot = clocked.bot
    clocked.crash.point = "before_post"
    bot.send(signing.slash_command("/ask", STRIKE, response_url=bot.fake.response_url("old")))
    bot.settle()
    clocked.clock.advance(minutes=40)
    assert bot.app.recover().answered == 1
    assert not bot.fake.calls_to("response_url")
    [dm] = answers_in(bot, "DU123")
    text = blocks_text(dm["blocks"])
    assert "Strikethrough" in text and "Sorry this answer comes late" in text
    assert bot.fake.take_violations() == []


def test_sigkill_while_answering_then_restart_answers_exactly_once(tmp_path: Path,
                                                                   model_cache: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        env = env_for(tmp_path, model_cache, SLACK_BOT_TOKEN="xoxb-test",
                      SLACK_SIGNING_SECRET="secret", SLACK_API_BASE_URL=fake.base_url,
                      PORT=str(port))
        assert switchboard("import", str(FIXTURE), env=env).returncode == 0
        url = f"http://127.0.0.1:{port}/slack/events"

        def start(point: str) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-m", "tests.bot.crashing_bot", point],
                                    env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)

        doomed = start("claimed")
        wait_for_health(port, doomed)
        payload = signing.app_mention(STRIKE)
        assert payload.post(url, "secret")[0] == 200  # stored and acknowledged
        _, stderr = doomed.communicate(timeout=60)
        assert doomed.returncode == -signal.SIGKILL and "killed at claimed #1" in stderr
        assert not fake.calls_to("chat.postMessage")

        restarted = start("none")
        try:
            wait_for_health(port, restarted)
            [answer] = fake.wait_for("chat.postMessage", timeout=30)
            assert answer.args["thread_ts"] == payload.data["event"]["ts"]
            # Slack's retry of the event, and more recovery ticks, post nothing more
            retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            assert signing.signed_post(url, payload.body, payload.content_type, "secret",
                                       headers=retry)[0] == 200
            time.sleep(2.0)  # four more scheduler ticks
            assert len(fake.calls_to("chat.postMessage")) == 1
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.communicate(timeout=60)
        assert restarted.returncode == 0
        assert fake.take_violations() == []


def test_a_card_slack_took_before_the_crash_is_found_not_posted_again(clocked: Clocked) -> None:
    """The one window Slack gives no idempotency for: the card went out, then the process died
    before recording it. Recovery finds the card in the thread (its first block's id names the
    question) and records it instead of answering twice."""
    bot = clocked.bot
    clocked.crash.point = "sent"
    payload = signing.app_mention(STRIKE)
    assert bot.send(payload)[0] == 200
    bot.settle()
    assert len(answers_in(bot, "C123")) == 1  # out in Slack...
    assert bot.question(channel="C123").reply_ts is None  # ...but not recorded
    clocked.clock.advance(seconds=61)
    assert bot.app.recover().answered == 1
    [answer] = answers_in(bot, "C123")
    question = bot.question(channel="C123")
    assert question.reply_ts == answer["ts"] and question.status is QuestionStatus.ANSWERED
    assert bot.questions.shown_hits(question.id)  # the card's buttons can be used
    clocked.clock.advance(minutes=5)
    assert bot.app.recover().answered == 0 and len(answers_in(bot, "C123")) == 1


@dataclass
class HoldAt:
    """A fault hook that holds the answering worker at `point` (Slack has the card, the database
    does not know yet) until `release` is set."""

    point: str
    reached: threading.Event
    release: threading.Event

    def __call__(self, point: str, question_id: int) -> None:
        if point == self.point:
            self.reached.set()
            assert self.release.wait(30), "the test never released the worker"


def test_a_click_that_beats_the_cards_record_is_not_lost(make_bot: Callable[..., Bot]) -> None:
    """Slack shows the card as soon as it is posted; the worker records it just after. A quick
    "This solved it" in between waits for the record instead of being taken for a click on no
    card (as a replica under load once did with "Ask an expert")."""
    hold = HoldAt("sent", threading.Event(), threading.Event())
    bot = make_bot(faults=hold)
    mention = signing.app_mention(STRIKE)
    assert bot.send(mention)[0] == 200
    assert hold.reached.wait(30)
    [card] = bot.posted("C123")  # on Slack already
    question = bot.question(message_ts=mention.data["event"]["ts"])
    assert question.reply_ts is None  # ...and not in the database yet
    card_ts = next(m["ts"] for m in bot.fake.history["C123"]
                   if m.get("bot_id") == bot.fake.bot_id)
    click = signing.block_actions("answer_solved", button_values(card.args["blocks"])[
        "answer_solved"], user_id="U123", channel_id="C123", message_ts=card_ts)
    assert bot.send(click)[0] == 200
    time.sleep(0.5)  # the click's worker reads the question while the card is unrecorded
    assert bot.search.store.query("SELECT count(*) AS n FROM feedback")[0]["n"] == 0
    hold.release.set()
    bot.settle()
    verdicts = bot.search.store.query("SELECT user, verdict FROM feedback")
    assert verdicts == [{"user": "U123", "verdict": "solved"}]
    assert bot.questions.get(question.id).status is QuestionStatus.SOLVED
