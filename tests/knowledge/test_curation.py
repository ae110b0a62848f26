"""Curation and its audit log, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.curation import Curator, StalenessRules
from knowledge.errors import InvalidInput
from knowledge.models import EntryDraft, EntryStatus, Visibility
from knowledge.questions import AskInput, QuestionBook, QuestionSource, ShownHit, Verdict
from knowledge.store import Store


def pending(store: Store, question: str = "How do refunds work?", by: str = "UEXP") -> int:
    return store.add_entry(EntryDraft(question=question, answer="From the billing page.",
                                      answered_by=by, status=EntryStatus.PENDING_REVIEW),
                           actor="capture").id


def test_every_change_is_audited_with_before_and_after(store: Store) -> None:
    curator = Curator(store)
    entry_id = pending(store)
    curator.approve(entry_id, "UADMIN", answer="From the billing page, within 30 days.")
    curator.verify(entry_id, "UADMIN")
    curator.retire(entry_id, "UADMIN", "policy changed")
    curator.restore(entry_id, "UADMIN")
    log = store.audit_log(entry_id)
    assert [(r.actor, r.action) for r in reversed(log)] == [
        ("capture", "create"), ("UADMIN", "edit"), ("UADMIN", "approve"),
        ("UADMIN", "verify"), ("UADMIN", "retire"), ("UADMIN", "restore")]
    edit = log[-2]
    assert edit.before["answer"] == "From the billing page."
    assert edit.after["answer"].endswith("within 30 days.")
    assert log[1].note == "policy changed" and log[1].after["status"] == "retired"
    assert log[2].after["verified_by"] == "UADMIN"


def test_imports_are_audited_too(store: Store) -> None:
    store.upsert_entries([EntryDraft("q", "a", external_id="x")])
    store.upsert_entries([EntryDraft("q", "a2", external_id="x")])
    store.upsert_entries([EntryDraft("q", "a2", external_id="x")])  # no change, no record
    assert [r.action for r in store.audit_log()] == ["update", "create"]


def test_review_queue_most_asked_then_newest(store: Store) -> None:
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    timed = Store(store.db, clock=lambda: clock[0])
    old = pending(timed, "old one")
    clock[0] += timedelta(days=1)
    new = pending(timed, "new one")
    clock[0] += timedelta(days=1)
    asked = pending(timed, "asked one")
    book = QuestionBook(timed)
    q, _ = book.receive(AskInput("U1", "x", QuestionSource.DM))
    with timed.transaction():
        timed.db.execute("INSERT INTO question_hits(question_id, rank, entry_id, score, tier) "
                         "VALUES (?, 0, ?, 0.5, 'suggest')",
                         [q.id, old])
    queue = Curator(timed).review_queue()
    assert [i.entry.id for i in queue] == [old, asked, new]
    assert queue[0].asked == 1


def test_reject_needs_a_reason_and_only_pending_entries_are_reviewed(store: Store) -> None:
    curator = Curator(store)
    entry_id = pending(store)
    with pytest.raises(InvalidInput, match="Say why"):
        curator.reject(entry_id, "UADMIN", "  ")
    rejected = curator.reject(entry_id, "UADMIN", "Wrong for EU customers")
    assert rejected.status is EntryStatus.RETIRED
    assert store.audit_log(entry_id)[0].note == "Wrong for EU customers"
    with pytest.raises(InvalidInput, match="not waiting for review"):
        curator.approve(entry_id, "UADMIN")


def test_edit_question_answer_tags_visibility(store: Store) -> None:
    curator = Curator(store)
    entry_id = store.add_entry(EntryDraft("q", "a")).id
    edited = curator.edit(entry_id, "UADMIN", question="Q?", tags=("Billing", " billing", "eu"),
                          visibility="channel:C123")
    assert edited.question == "Q?" and edited.tags == ("billing", "eu")
    assert edited.visibility == Visibility("channel", ("C123",))
    with pytest.raises(InvalidInput):
        curator.edit(entry_id, "UADMIN", visibility="team:everyone")
    assert curator.edit(entry_id, "UADMIN", question="Q?") == edited  # nothing to change


def test_merge_folds_counts_history_and_links(store: Store) -> None:
    curator = Curator(store)
    keep = store.add_entry(EntryDraft("refund?", "yes", source_url="https://a.example/1")).id
    fold = store.add_entry(EntryDraft("refunds?", "yes.", source_url="https://a.example/2",
                                      tags=("billing",))).id
    book = QuestionBook(store)
    q, _ = book.receive(AskInput("U1", "refund", QuestionSource.DM))
    book.record_reply(q.id, [ShownHit(fold, 0.9, "answer")], "answer", "D1", "1.0")
    book.record_feedback(q.id, "U1", Verdict.SOLVED, fold)
    kept = curator.merge(keep, fold, "UADMIN")
    assert kept.helpful_count == 1 and kept.usage_count == 1
    assert kept.extra_links == ("https://a.example/2",) and kept.tags == ("billing",)
    folded = store.get_entry(fold)
    assert folded.status is EntryStatus.RETIRED and folded.merged_into == keep
    assert book.shown_hits(q.id)[0].entry_id == keep
    assert book.verdicts(q.id)[0][0] == keep
    with pytest.raises(InvalidInput, match="merged into"):
        curator.restore(fold, "UADMIN")
    with pytest.raises(InvalidInput):
        curator.merge(keep, keep, "UADMIN")


def test_stale_entries_and_nudges(store: Store) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    old = store.add_entry(EntryDraft("old", "a", created_at=now - timedelta(days=400))).id
    fresh = store.add_entry(EntryDraft("fresh", "a", created_at=now - timedelta(days=10))).id
    disliked = store.add_entry(EntryDraft("bad", "a", created_at=now - timedelta(days=10))).id
    with store.transaction():
        store.db.execute("UPDATE entries SET not_helpful_count = 3, helpful_count = 1 "
                         "WHERE id = ?", [disliked])
    stale = {s.entry.id: s.reasons for s in Curator(store).stale(StalenessRules(), now=now)}
    assert set(stale) == {old, disliked} and fresh not in stale
    assert stale[old] == ("written 400 days ago",)
    assert stale[disliked] == ("3 of 4 said not helpful",)
    curator = Curator(store)
    assert curator.nudge_due(old, "UOWNER") and not curator.nudge_due(old, "UOWNER")


def test_people_helped(store: Store) -> None:
    store.upsert_entries([EntryDraft("a", "b", answered_by="UEXP"),
                          EntryDraft("c", "d", answered_by="UEXP")])
    with store.transaction():
        store.db.execute("UPDATE entries SET helpful_count = 2")
    assert Curator(store).people_helped("UEXP") == 4
