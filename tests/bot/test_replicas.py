"""Two bot processes on one PostgreSQL (issue 12): each a real `switchboard run` (HTTP mode, its own
PORT and SWITCHBOARD_HOME, the same SWITCHBOARD_DATABASE_URL), both talking to one fake Slack and
driven with signed requests, as a load balancer would spread Slack's traffic between them.

a. the same event, and Slack's retries of it, sent to both: one answer; and one replica killed
   (SIGKILL) holding a question's claim: the other answers it once, when the claim runs out;
b. asked through one replica, answered by an expert through the other (button and modal there);
c. one replica killed with SIGKILL mid-ladder: the other carries it on, each step once;
d. an entry edited (and then retired) by an admin through one replica: the other finds it as
   edited (and then not at all) at once;
e. Socket Mode: two replicas, each with its own connection; an envelope redelivered to the
   other connection is answered once.

(a), (b) and (d) share one pair of replicas (each test its own thread and texts); the tests
that kill a replica start their own pair.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.curation import Curator
from knowledge.escalation import LadderState, Routes
from knowledge.importing import read_entries
from knowledge.models import EntryDraft, EntryStatus
from knowledge.questions import QuestionBook
from knowledge.store import Store
from sandbox.slack_api import signing
from sandbox.slack_api.server import Call, FakeSlack
from sandbox.slack_api.socket_mode import FakeSocketMode
from tests.bot.conftest import blocks_text, button_values, wait_until
from tests.bot.routing_world import BILLING, EXPERTS, HISTORY, PARKING
from tests.bot.test_run import FIXTURE, ROOT, env_for, free_port, wait_for_health
from tests.bot.test_socket_mode import CONNECTIONS_OPEN
from tests.postgres import Cluster

SECRET = "secret"
ADMIN, ASKER = "UADMIN", "U123"
STRIKE = "how do I write strikethrough text in github markdown?"
RETRY = "X-Slack-Retry-Num"


@dataclass
class Replica:
    """One `switchboard run` process (tests/bot/crashing_bot.py, which may kill itself at a
    fault point)."""

    name: str
    process: subprocess.Popen
    port: int
    log: Path  # its stderr (JSON lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def send(self, payload: signing.Payload, retry: int = 0) -> int:
        """POST `payload` signed as Slack does (as its `retry`-th retry if > 0); the status."""
        headers = {RETRY: str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        status, _ = signing.signed_post(self.url, payload.body, payload.content_type, SECRET,
                                        headers=headers)
        return status

    def in_flight(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            return int(json.loads(r.read())["in_flight"])

    def stop(self) -> None:
        """SIGTERM (a graceful stop, unless it is dead already)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


@dataclass
class Pair:
    fake: FakeSlack
    store: Store  # the test's own connection to the shared database, to read what happened
    a: Replica
    b: Replica

    def settle(self, *, ticks: float = 1.0) -> None:
        """Wait until neither live replica has work in flight, then `ticks` seconds more (two
        scheduler ticks: recovery and the ladder run once or twice on each)."""
        live = [r for r in (self.a, self.b) if r.process.poll() is None]
        wait_until(lambda: all(r.in_flight() == 0 for r in live))
        time.sleep(ticks)
        wait_until(lambda: all(r.in_flight() == 0 for r in live))

    def close(self) -> None:
        for replica in (self.a, self.b):
            replica.stop()
        self.store.close()
        self.fake.stop()


def workspace(fake: FakeSlack) -> None:
    """The asker, the admin, the experts and the channels. The experts' time zone is unknown,
    so working hours never keep them from being asked (whatever day the suite runs)."""
    fake.add_user(ASKER, "asker", "Ada Asker")
    fake.add_user(ADMIN, "alex", "Alex Admin")
    for user, name in EXPERTS.items():
        fake.add_user(user, name, name.title())["tz_offset"] = None
    fake.add_channel("C123", "support", members=[ASKER])
    fake.add_channel("CFALL", "help-desk")


def seed(url: str) -> Store:
    """The StackFAQ sample and the experts' answered history in the shared database."""
    store = Store.connect(url)
    store.upsert_entries(read_entries(FIXTURE).drafts)
    store.upsert_entries([EntryDraft(question=q, answer=a, answered_by=who,
                                     tags=("billing",) if who in ("UERIN", "UOMAR") else ())
                          for who, q, a in HISTORY])
    return store


@pytest.fixture(scope="module")
def start_pair(postgres_cluster: Cluster, model_cache: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Pair]:
    """Starts two replicas on a fresh database (`settings`: extra environment for both;
    `fault`: where replica a kills itself, see tests/bot/crashing_bot.py). The caller closes
    the pair."""

    def start(fault: str = "none", **settings: str) -> Pair:
        fake = FakeSlack().start()
        workspace(fake)
        url = postgres_cluster.database()
        store = seed(url)
        replicas: list[Replica] = []
        try:
            for name in ("a", "b"):
                port = free_port()
                folder = tmp_path_factory.mktemp(f"replica-{name}")
                env = env_for(folder, model_cache,
                              SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                              SLACK_API_BASE_URL=fake.base_url, PORT=str(port),
                              SWITCHBOARD_DATABASE_URL=url, SWITCHBOARD_ADMINS=ADMIN,
                              SWITCHBOARD_FALLBACK_CHANNEL="CFALL", **settings)
                log = folder / "stderr.log"
                with log.open("w") as stderr:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "tests.bot.crashing_bot",
                         fault if name == "a" else "none"], env=env, cwd=ROOT, stderr=stderr,
                        text=True)
                replicas.append(Replica(name, process, port, log))
            for replica in replicas:  # started side by side: both build their indexes at once
                health = wait_for_health(replica.port, replica.process, timeout=120)
                assert health["indexed"] == 24 + len(HISTORY)
        except BaseException:
            for replica in replicas:
                replica.stop()
            store.close()
            fake.stop()
            raise
        return Pair(fake, store, *replicas)

    return start


def checked(pair: Pair, *, close: bool = True) -> Iterator[Pair]:
    """`pair` for one test; then no call either replica made may break Slack's spec (their logs
    are shown if the test failed), and the pair is closed unless others share it."""
    yield pair
    try:
        for replica in (pair.a, pair.b):
            print(f"--- replica {replica.name}:\n{replica.log.read_text()[-6000:]}")
        assert pair.fake.take_violations() == []
    finally:
        if close:
            pair.close()


@pytest.fixture(scope="module")
def shared_pair(start_pair: Callable[..., Pair]) -> Iterator[Pair]:
    pair = start_pair()
    yield pair
    pair.close()


@pytest.fixture
def pair(shared_pair: Pair) -> Iterator[Pair]:
    yield from checked(shared_pair, close=False)


def in_thread(fake: FakeSlack, channel: str, ts: str) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == channel and c.args.get("thread_ts") == ts]


def texts(calls: list[Call]) -> list[str]:
    return [blocks_text(c.args.get("blocks")) or c.args.get("text", "") for c in calls]


def posted_ts(fake: FakeSlack, channel: str, thread_ts: str) -> str:
    """The ts Slack gave the bot's first reply in a thread."""
    return next(m["ts"] for m in fake.history.get(channel, [])
                if m.get("thread_ts") == thread_ts and m.get("bot_id") == fake.bot_id)


def dm_cards(fake: FakeSlack, user: str) -> list[dict]:
    """The request DMs `user` received (as the fake Slack stores them)."""
    return [m for m in fake.history.get(f"D{user}", []) if " asked" in blocks_text(m.get("blocks"))]


# -- a. one event, sent to both and retried: one answer -------------------------------------------
def test_the_same_event_and_its_retries_sent_to_both_replicas_give_one_answer(pair: Pair) -> None:
    payload = signing.app_mention(STRIKE)
    ts = payload.data["event"]["ts"]
    statuses: list[int] = []
    both = [threading.Thread(target=lambda r=r: statuses.append(r.send(payload)))
            for r in (pair.a, pair.b)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert statuses == [200, 200]
    # Slack, having heard nothing in time, retries, once to each
    assert pair.b.send(payload, retry=1) == 200
    assert pair.a.send(payload, retry=2) == 200
    wait_until(lambda: in_thread(pair.fake, "C123", ts))
    pair.settle()
    [answer] = in_thread(pair.fake, "C123", ts)
    assert "Strikethrough" in blocks_text(answer.args["blocks"])
    asked = [q for q in pair.store.query("SELECT message_ts FROM questions")
             if q["message_ts"] == ts]
    assert len(asked) == 1


def test_socket_mode_replicas_answer_an_envelope_redelivered_to_the_other_connection_once(
        postgres_cluster: Cluster, model_cache: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Socket Mode: each replica opens its own connection and Slack hands each envelope to one
    of them, redelivering it (perhaps to the other) when no acknowledgement came in time."""
    socket_mode = FakeSocketMode()
    fake = FakeSlack(extra_methods={"apps.connections.open": CONNECTIONS_OPEN}).start()
    fake.socket_url = socket_mode.url
    workspace(fake)
    url = postgres_cluster.database()
    seed(url).close()
    processes: list[subprocess.Popen] = []
    try:
        for name in ("a", "b"):
            folder = tmp_path_factory.mktemp(f"socket-{name}")
            env = env_for(folder, model_cache, SLACK_BOT_TOKEN="xoxb-test",
                          SLACK_APP_TOKEN="xapp-1-test", SLACK_API_BASE_URL=fake.base_url,
                          SWITCHBOARD_DATABASE_URL=url, PORT=str(free_port()))
            processes.append(subprocess.Popen([sys.executable, "app.py"], env=env, cwd=ROOT,
                                              stderr=subprocess.DEVNULL))
            socket_mode.wait_connected(timeout=120, count=len(processes))
        event = signing.app_mention(STRIKE).data
        first = socket_mode.send_envelope("events_api", event, to=0)
        again = socket_mode.send_envelope("events_api", event, to=1, retry_attempt=1)
        socket_mode.wait_ack(first)
        socket_mode.wait_ack(again)
        other = signing.app_mention("How do I download an entire folder from Dropbox?").data
        socket_mode.wait_ack(socket_mode.send_envelope("events_api", other, to=1))
        ts, other_ts = event["event"]["ts"], other["event"]["ts"]
        wait_until(lambda: in_thread(fake, "C123", ts) and in_thread(fake, "C123", other_ts),
                   timeout=30)
        time.sleep(1.5)  # anything posted twice would be out by now
        assert len(in_thread(fake, "C123", ts)) == 1
        assert len(in_thread(fake, "C123", other_ts)) == 1  # the second connection answers too
        assert len(fake.calls_to("apps.connections.open")) == 2
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        socket_mode.close()
        fake.stop()
    assert [p.returncode for p in processes] == [0, 0]
    assert fake.take_violations() == []


@pytest.fixture
def crash_pair(start_pair: Callable[..., Pair]) -> Iterator[Pair]:
    """Replica a kills itself (SIGKILL) once it has claimed the first question it answers."""
    yield from checked(start_pair(fault="claimed"))


def test_a_replica_killed_while_answering_leaves_the_answer_to_the_other_once(
        crash_pair: Pair) -> None:
    pair = crash_pair
    payload = signing.app_mention(STRIKE)
    ts = payload.data["event"]["ts"]
    assert pair.a.send(payload) == 200  # stored and acknowledged; a dies holding the claim
    assert pair.a.process.wait(timeout=30) == -signal.SIGKILL
    assert "killed at claimed" in pair.a.log.read_text()
    assert pair.b.send(payload, retry=1) == 200  # Slack's retry reaches b: already taken
    # b's recovery answers once the dead one's claim runs out (a lease of 3 s)
    [answer] = wait_until(lambda: in_thread(pair.fake, "C123", ts), timeout=30)
    assert "Strikethrough" in blocks_text(answer.args["blocks"])
    pair.settle(ticks=2.0)
    assert len(in_thread(pair.fake, "C123", ts)) == 1


# -- b. asked on one replica, answered by an expert on the other -----------------------------------
def test_a_question_asked_through_one_is_answered_by_an_expert_through_the_other(
        pair: Pair) -> None:
    mention = signing.app_mention(BILLING)
    ts = mention.data["event"]["ts"]
    assert pair.a.send(mention) == 200
    [card] = wait_until(lambda: in_thread(pair.fake, "C123", ts))
    buttons = button_values(card.args["blocks"])
    if "answer_ask_expert" in buttons:  # something was found: the asker asks for a person
        assert pair.a.send(signing.block_actions(
            "answer_ask_expert", buttons["answer_ask_expert"], user_id=ASKER,
            channel_id="C123", message_ts=posted_ts(pair.fake, "C123", ts),
            trigger_id=signing.new_trigger_id())) == 200
    wait_until(lambda: dm_cards(pair.fake, "UERIN"))
    pair.settle()
    [request] = dm_cards(pair.fake, "UERIN")

    trigger = signing.new_trigger_id()
    assert pair.b.send(signing.block_actions(
        "expert_answer", button_values(request["blocks"])["expert_answer"], user_id="UERIN",
        channel_id="DUERIN", message_ts=request["ts"], trigger_id=trigger)) == 200
    opened = wait_until(lambda: [c for c in pair.fake.calls_to("views.open")
                                 if c.args["trigger_id"] == trigger])
    answer = "Refund the second charge from the Billing page; it is back within 5 days."
    submit = signing.view_submission(
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": answer}},
        user_id="UERIN", private_metadata=opened[0].args["view"]["private_metadata"])
    assert pair.b.send(submit) == 200
    assert pair.a.send(submit, retry=1) == 200  # a double submission reaching the other one
    wait_until(lambda: any(answer in t for t in texts(in_thread(pair.fake, "C123", ts))))
    pair.settle()
    posted = texts(in_thread(pair.fake, "C123", ts))
    assert sum(answer in t for t in posted) == 1, posted
    assert len(dm_cards(pair.fake, "UERIN")) == 1  # asked once, whoever ticks the ladder


# -- c. one replica killed mid-ladder: the other carries it on ------------------------------------
@pytest.fixture
def ladder_pair(start_pair: Callable[..., Pair]) -> Iterator[Pair]:
    """A ladder of seconds (SLA 0.05 min = 3 s: stored deadlines have whole seconds, so a step
    comes 3 to 4 s after the last), one person a round."""
    yield from checked(start_pair(SWITCHBOARD_SLA_MINUTES="0.05", SWITCHBOARD_ROUTE_TO="1"))


def test_a_replica_killed_mid_ladder_and_the_other_runs_each_later_step_once(
        ladder_pair: Pair) -> None:
    pair = ladder_pair
    routes = Routes(pair.store)
    mention = signing.app_mention(BILLING)
    ts = mention.data["event"]["ts"]
    assert pair.a.send(mention) == 200
    [card] = wait_until(lambda: in_thread(pair.fake, "C123", ts))
    buttons = button_values(card.args["blocks"])
    if "answer_ask_expert" in buttons:
        assert pair.a.send(signing.block_actions(
            "answer_ask_expert", buttons["answer_ask_expert"], user_id=ASKER,
            channel_id="C123", message_ts=posted_ts(pair.fake, "C123", ts),
            trigger_id=signing.new_trigger_id())) == 200
    wait_until(lambda: any("I've asked" in t for t in texts(in_thread(pair.fake, "C123", ts))))
    pair.a.process.send_signal(signal.SIGKILL)  # round 1 asked, its deadline not yet come
    assert pair.a.process.wait(timeout=10) == -signal.SIGKILL
    question = QuestionBook(pair.store).by_message("C123", ts)
    ladder = routes.ladder(question.id)
    assert ladder.round == 1 and ladder.state is LadderState.ROUTING
    [first] = routes.for_question(question.id)

    wait_until(lambda: routes.ladder(question.id).state is LadderState.EXHAUSTED, timeout=40)
    pair.settle()
    asked = routes.for_question(question.id)
    assert len(asked) >= 2 and asked[0] == first  # round 2 asked somebody new
    assert [r.round for r in asked] == list(range(1, len(asked) + 1))  # one person a round
    for route in asked:  # each person asked once, by one DM
        assert len(dm_cards(pair.fake, route.expert)) == 1, route.expert
    notices = texts(in_thread(pair.fake, "C123", ts))[1:]  # after the answer card
    assert len(notices) == len(set(notices)), notices  # nothing told twice
    rounds = [n for n in notices if "so I've also asked" in n]
    assert len(rounds) == len(asked) - 1
    assert sum("I've posted your question in <#CFALL>" in n for n in notices) == 1
    assert sum("Sorry, nobody has answered yet" in n for n in notices) == 1
    [fallback] = [c for c in pair.fake.calls_to("chat.postMessage")
                  if c.args.get("channel") == "CFALL"]
    assert "Can anyone help" in fallback.args["text"]


@pytest.fixture(params=["sent", "posted"])
def unrouted_pair(request: pytest.FixtureRequest,
                  start_pair: Callable[..., Pair]) -> Iterator[Pair]:
    """Replica a kills itself once Slack has its first card ("sent": the database does not
    know yet; "posted": recorded too)."""
    yield from checked(start_pair(fault=request.param))


def test_a_replica_killed_after_finding_nothing_leaves_no_question_unrouted(
        unrouted_pair: Pair) -> None:
    pair = unrouted_pair
    mention = signing.app_mention(PARKING)
    ts = mention.data["event"]["ts"]
    assert pair.a.send(mention) == 200
    assert pair.a.process.wait(timeout=30) == -signal.SIGKILL  # the card is out
    question = QuestionBook(pair.store).by_message("C123", ts)
    routes = Routes(pair.store)
    # routed by a before it died, or by b's recovery once a's claim ran out (3 s)
    wait_until(lambda: routes.ladder(question.id) is not None, timeout=20)
    asked = wait_until(lambda: routes.for_question(question.id))
    pair.settle(ticks=2.0)
    assert QuestionBook(pair.store).get(question.id).tier == "none"  # nothing was found
    assert len(in_thread(pair.fake, "C123", ts)) == 2  # the card, then who was asked, once
    assert sum("I've asked" in t for t in texts(in_thread(pair.fake, "C123", ts))) == 1
    for route in asked:
        assert len(dm_cards(pair.fake, route.expert)) == 1


# -- d. edited on one replica, found as edited on the other ---------------------------------------
def test_an_entry_edited_or_retired_through_one_is_found_so_by_the_other(pair: Pair) -> None:
    [entry] = [e for e in Curator(pair.store).find("strikethrough")
               if e.status is EntryStatus.PUBLISHED]
    hook = pair.fake.response_url("admin")
    trigger = signing.new_trigger_id()
    assert pair.a.send(signing.block_actions("admin_edit", f"edit:{entry.id}", user_id=ADMIN,
                                             trigger_id=trigger, response_url=hook)) == 200
    [opened] = wait_until(lambda: [c for c in pair.fake.calls_to("views.open")
                                   if c.args["trigger_id"] == trigger])
    view = opened.args["view"]
    edited = "Wrap the words in two tildes, ~~like this~~ (edited on replica a)."
    values = {"entry_question": {"entry_question": entry.question},
              "entry_answer": {"entry_answer": edited},
              "entry_tags": {"entry_tags": "markdown"},
              "entry_visibility": {"entry_visibility": "public"}}
    assert pair.a.send(signing.view_submission(
        "admin_entry_modal", values, user_id=ADMIN, private_metadata=view["private_metadata"],
        blocks=view["blocks"])) == 200
    wait_until(lambda: pair.store.get_entry(entry.id).answer == edited)

    saved = time.monotonic()
    asked = signing.app_mention(STRIKE + " (after the edit)")
    assert pair.b.send(asked) == 200
    [card] = wait_until(lambda: in_thread(pair.fake, "C123", asked.data["event"]["ts"]))
    assert time.monotonic() - saved < 5.0
    assert "(edited on replica a)" in blocks_text(card.args["blocks"])

    assert pair.a.send(signing.block_actions("admin_retire", str(entry.id), user_id=ADMIN,
                                             trigger_id=signing.new_trigger_id(),
                                             response_url=hook)) == 200
    wait_until(lambda: pair.store.get_entry(entry.id).status is EntryStatus.RETIRED)
    again = signing.app_mention(STRIKE + " (after retiring it)")
    assert pair.b.send(again) == 200
    [card] = wait_until(lambda: in_thread(pair.fake, "C123", again.data["event"]["ts"]))
    assert "~~like this~~" not in blocks_text(card.args["blocks"])
    pair.settle()
