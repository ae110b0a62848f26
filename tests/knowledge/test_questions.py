from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.errors import InvalidInput
from knowledge.models import EntryDraft, Visibility
from knowledge.questions import (
    AskInput,
    QuestionBook,
    QuestionSource,
    QuestionStatus,
    ShownHit,
    Verdict,
)
from knowledge.visibility import Audience, can_see
from tests.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def book(clock: ManualClock, open_store) -> QuestionBook:
    return QuestionBook(open_store(clock))


def ask(text: str = "How do refunds work?", ts: str | None = "1.1", **kw) -> AskInput:
    return AskInput(
        asker="U1",
        text=text,
        source=QuestionSource.MENTION,
        channel="C1",
        message_ts=ts,
        thread_ts=ts,
        **kw,
    )


def test_a_question_is_stored_once_per_message(book: QuestionBook) -> None:
    first, new = book.receive(ask())
    again, repeat = book.receive(ask())
    assert new and not repeat and again.id == first.id
    assert first.status is QuestionStatus.RECEIVED
    other, new_other = book.receive(ask(ts="1.2"))
    assert new_other and other.id != first.id


def test_questions_without_a_message_are_all_new(book: QuestionBook) -> None:
    a, _ = book.receive(ask(ts=None))
    b, _ = book.receive(ask(ts=None))
    assert a.id != b.id


def test_empty_questions_are_refused_and_huge_ones_cut(book: QuestionBook) -> None:
    with pytest.raises(InvalidInput):
        book.receive(ask("  \n "))
    huge, _ = book.receive(ask("x" * 50_000))
    assert len(huge.text) == 40_000


def test_deliveries_are_claimed_once(book: QuestionBook) -> None:
    assert book.claim_delivery("Ev1") and not book.claim_delivery("Ev1")


def test_only_one_worker_may_reply_and_a_stale_claim_expires(
    book: QuestionBook, clock: ManualClock
) -> None:
    question, _ = book.receive(ask())
    assert book.claim_reply(question.id)
    assert not book.claim_reply(question.id)
    clock.now += timedelta(seconds=61)
    assert book.claim_reply(question.id)  # the first worker died
    book.record_reply(question.id, [], "none", "C1", "9.9")
    clock.now += timedelta(seconds=600)
    assert not book.claim_reply(question.id)  # answered: never again


def test_record_reply_sets_status_by_tier_and_counts_use(book: QuestionBook) -> None:
    entry = book.store.add_entry(EntryDraft("Refunds?", "Pro-rated."))
    question, _ = book.receive(ask())
    done = book.record_reply(
        question.id, [ShownHit(entry.id, 0.9, "answer")], "answer", "C1", "2.2"
    )
    assert done.status is QuestionStatus.ANSWERED and done.reply_ts == "2.2"
    assert done.first_reply_at is not None and done.best_entry_id == entry.id
    assert book.store.get_entry(entry.id).usage_count == 1
    assert book.shown_hits(question.id) == [ShownHit(entry.id, 0.9, "answer")]
    weak = book.record_reply(
        question.id, [ShownHit(entry.id, 0.6, "suggest")], "suggest", None, None
    )
    assert weak.status is QuestionStatus.SUGGESTED and weak.reply_ts == "2.2"
    assert book.store.get_entry(entry.id).usage_count == 1


def test_feedback_counts_once_and_moves_the_question(book: QuestionBook) -> None:
    entry = book.store.add_entry(EntryDraft("Refunds?", "Pro-rated."))
    question, _ = book.receive(ask())
    assert book.record_feedback(question.id, "U1", Verdict.SOLVED, entry.id)
    assert not book.record_feedback(question.id, "U1", Verdict.SOLVED, entry.id)  # double click
    assert book.store.get_entry(entry.id).helpful_count == 1
    assert book.get(question.id).status is QuestionStatus.SOLVED
    assert book.record_feedback(question.id, "U2", Verdict.NOT_HELPFUL, entry.id)
    assert book.store.get_entry(entry.id).not_helpful_count == 1
    assert book.get(question.id).status is QuestionStatus.SOLVED  # only the asker decides
    assert len(book.verdicts(question.id)) == 2


def test_asking_for_an_expert_is_recorded(book: QuestionBook) -> None:
    question, _ = book.receive(ask())
    assert book.record_feedback(question.id, "U1", Verdict.ASK_EXPERT)
    assert book.get(question.id).status is QuestionStatus.EXPERT_REQUESTED


def test_follow_ups_join_the_question_and_threads_find_it(book: QuestionBook) -> None:
    question, _ = book.receive(ask())
    book.record_reply(question.id, [], "none", "C1", "5.5")
    assert book.in_thread("C1", "1.1").id == question.id
    assert book.in_thread("C1", "5.5").id == question.id
    assert book.in_thread("C1", "7.7") is None
    updated = book.add_context(question.id, "It's an annual plan.")
    assert updated.full_text == "How do refunds work?\nIt's an annual plan."


def test_withdrawn_questions_are_not_answered(book: QuestionBook) -> None:
    question, _ = book.receive(ask())
    assert book.withdraw(question.id).status is QuestionStatus.WITHDRAWN
    assert not book.claim_reply(question.id)


@pytest.mark.parametrize(
    ("visibility", "audience", "allowed"),
    [
        ("public", Audience("U1", "C1", private=False), True),
        ("channel:C1", Audience("U1", "C1", private=False), True),
        ("channel:C1", Audience("U1", "C2", private=False), False),
        ("channel:C1", Audience("U1", "D1", private=True, member_of=lambda c: c == "C1"), True),
        ("channel:C1", Audience("U1", "D1", private=True), False),
        ("users:U1,U2", Audience("U1", "C1", private=False), False),
        ("users:U1,U2", Audience("U1", "D1", private=True), True),
        ("users:U1,U2", Audience("U3", "D1", private=True), False),
    ],
)
def test_visibility_rules(visibility: str, audience: Audience, allowed: bool) -> None:
    assert can_see(Visibility.parse(visibility), audience) is allowed
