"""The durable retry queue and the search for orphaned questions, on a real SQLite file with a
controlled clock."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from knowledge.deliveries import Backoff, DeliveryQueue
from knowledge.errors import InvalidInput
from knowledge.escalation import Routes
from knowledge.questions import AskInput, QuestionBook, QuestionSource, Verdict
from knowledge.recovery import EXPIRED, Orphans, RecoveryPolicy
from knowledge.store import Store
from tests.clock import ManualClock

POLICY = RecoveryPolicy(late_after=timedelta(minutes=10), give_up_after=timedelta(hours=24),
                        lease=timedelta(seconds=60))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(open_store, clock: ManualClock) -> Store:
    return open_store(clock)


def ask(book: QuestionBook, n: int) -> int:
    question, _ = book.receive(AskInput(asker="U1", text=f"question {n}", channel="C1",
                                        message_ts=f"{n}.000100", thread_ts=f"{n}.000100",
                                        source=QuestionSource.MENTION))
    return question.id


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(base_seconds=10, cap_seconds=100, rng=random.Random(3))
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (40, 100)]:
        for _ in range(20):
            delay = backoff.delay(attempts).total_seconds()
            assert ceiling / 2 <= delay <= ceiling


def test_a_deferred_delivery_waits_its_backoff_and_survives_a_restart(
        open_store, store: Store, clock: ManualClock) -> None:
    queue = DeliveryQueue(store, Backoff(base_seconds=10, cap_seconds=600))
    first = queue.defer("home:U1", "home", "ratelimited", user="U1")
    again = queue.defer("home:U1", "home", "http_500", user="U1")
    assert (first.attempts, again.attempts, again.last_error) == (1, 2, "http_500")
    assert queue.waiting() == 1  # one row per piece of work, however often it fails
    assert timedelta(seconds=10) <= again.next_attempt_at - clock.now <= timedelta(seconds=20)
    assert queue.due("home") == []
    clock.now += timedelta(seconds=21)
    reopened = DeliveryQueue(open_store(clock))
    [due] = reopened.due("home")
    assert due.key == "home:U1" and due.user == "U1" and due.attempts == 2
    assert reopened.due("reply") == []


def test_only_one_worker_takes_a_due_delivery(store: Store, clock: ManualClock) -> None:
    queue = DeliveryQueue(store, Backoff(base_seconds=1, cap_seconds=1), work_lease_seconds=120)
    queue.defer("home:U1", "home", "ratelimited", user="U1")
    clock.now += timedelta(seconds=2)
    [due] = queue.due("home")
    assert queue.take(due) is True
    assert queue.take(due) is False  # a second worker (or tick) with the same row
    assert queue.due("home") == []  # leased to the first worker
    clock.now += timedelta(seconds=121)  # that worker died: the row is due again
    [again] = queue.due("home")
    assert queue.take(again) is True
    queue.done("home:U1")
    assert queue.waiting() == 0


def test_orphans_are_unclaimed_unanswered_questions_past_one_lease(
        store: Store, clock: ManualClock) -> None:
    book = QuestionBook(store)
    orphans = Orphans(book, POLICY)
    queue = DeliveryQueue(store, Backoff(base_seconds=300, cap_seconds=300))
    abandoned, claimed, answered, waiting = (ask(book, n) for n in range(4))
    assert orphans.find() == []  # all of them just arrived
    clock.now += timedelta(seconds=30)
    assert book.claim_reply(claimed, lease_seconds=60)
    book.record_reply(answered, [], "none", "C1", "9.000100")
    queue.defer(f"reply:{waiting}", "reply", "ratelimited", question_id=waiting)
    clock.now += timedelta(seconds=40)
    assert [q.id for q in orphans.find()] == [abandoned]
    clock.now += timedelta(seconds=60)  # the claim ran out
    assert [q.id for q in orphans.find()] == [abandoned, claimed]
    clock.now += timedelta(minutes=5)  # the queued retry's backoff is over
    assert [q.id for q in orphans.find()] == [abandoned, claimed, waiting]


def test_questions_left_waiting_for_a_person_without_a_ladder_are_found_once_leased(
        store: Store, clock: ManualClock) -> None:
    book = QuestionBook(store)
    orphans = Orphans(book, POLICY)
    routes = Routes(store)
    nothing, requested, routed, answered = (ask(book, n) for n in range(4))
    book.record_reply(nothing, [], "none", "C1", "10.000100")  # nothing found: to be routed
    book.record_reply(requested, [], "suggest", "C1", "11.000100")
    assert book.record_feedback(requested, "U1", Verdict.ASK_EXPERT)
    book.record_reply(routed, [], "none", "C1", "12.000100")
    routes.start(routed, 15)  # its process routed it
    book.record_reply(answered, [], "answer", "C1", "13.000100")
    assert orphans.unrouted() == []  # within the lease: their processes may be at it
    clock.now += timedelta(seconds=61)
    assert [q.id for q in orphans.unrouted()] == [nothing, requested]
    routes.start(nothing, 15)
    assert [q.id for q in orphans.unrouted()] == [requested]
    clock.now += timedelta(hours=25)  # too old to route any more
    assert orphans.unrouted() == []


def test_questions_past_the_give_up_age_expire_and_are_not_recovered(
        store: Store, clock: ManualClock) -> None:
    book = QuestionBook(store)
    orphans = Orphans(book, POLICY)
    old = ask(book, 1)
    DeliveryQueue(store).defer(f"reply:{old}", "reply", "http_500", question_id=old)
    clock.now += timedelta(hours=23)
    young = ask(book, 2)
    clock.now += timedelta(hours=2)
    assert [q.id for q in orphans.find()] == [young]
    assert orphans.expire() == [old]
    assert orphans.expire() == []
    row = store.query("SELECT status, error FROM questions WHERE id = ?", [old])[0]
    assert row == {"status": "failed", "error": EXPIRED}
    assert DeliveryQueue(store).waiting() == 0


@pytest.mark.parametrize("policy", [
    {"late_after": timedelta(hours=2), "give_up_after": timedelta(hours=1)},
    {"late_after": timedelta(0)},
    {"lease": timedelta(seconds=-1)},
])
def test_a_recovery_policy_that_makes_no_sense_is_refused(policy: dict) -> None:
    with pytest.raises(InvalidInput):
        RecoveryPolicy(**policy)
