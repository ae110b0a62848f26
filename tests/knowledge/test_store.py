from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.change_log import ChangesPruned
from knowledge.errors import InvalidInput, NotFound
from knowledge.migrations import MIGRATIONS
from knowledge.models import EntryDraft, EntryKind, EntryStatus, Visibility
from knowledge.store import Store


def draft(
    question: str = "How do I reset a password?", answer: str = "Use the console.", **kw
) -> EntryDraft:
    return EntryDraft(question=question, answer=answer, **kw)


def test_add_and_read_back_every_field(store: Store) -> None:
    created = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    entry = store.add_entry(
        draft(
            kind=EntryKind.ARTICLE,
            answered_by="U01",
            tags=("billing", "refunds"),
            source_url="https://example.slack.com/archives/C1/p1",
            status=EntryStatus.PENDING_REVIEW,
            visibility=Visibility.parse("users:U01,U02"),
            external_id="kb-7",
            created_at=created,
        )
    )
    again = store.get_entry(entry.id)
    assert again == entry
    assert again.tags == ("billing", "refunds")
    assert again.visibility.members == ("U01", "U02")
    assert again.created_at == created
    assert again.status is EntryStatus.PENDING_REVIEW and not again.is_searchable


def test_missing_entry_is_a_named_error(store: Store) -> None:
    with pytest.raises(NotFound, match="#404"):
        store.get_entry(404)


def test_empty_question_or_answer_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="question is empty"):
        store.add_entry(draft(question="   "))
    with pytest.raises(InvalidInput, match="answer is empty"):
        store.add_entry(draft(answer=""))
    assert store.count_by_status()[EntryStatus.PUBLISHED] == 0


def test_upsert_updates_in_place_by_external_id(store: Store) -> None:
    first = store.upsert_entries([draft(external_id="a"), draft("Other?", "Yes.", external_id="b")])
    assert len(first.created) == 2
    second = store.upsert_entries(
        [
            draft(answer="Use the new console.", external_id="a"),
            draft("Other?", "Yes.", external_id="b"),
        ]
    )
    assert second.created == [] and second.updated == [first.created[0]]
    assert second.unchanged == [first.created[1]]
    assert store.get_entry(first.created[0]).answer == "Use the new console."


def test_upsert_without_ids_skips_exact_duplicates(store: Store) -> None:
    store.upsert_entries([draft()])
    again = store.upsert_entries([draft(), draft("New?", "Yes.")])
    assert len(again.unchanged) == 1 and len(again.created) == 1


def test_a_failing_upsert_writes_nothing(store: Store) -> None:
    with pytest.raises(InvalidInput):
        store.upsert_entries([draft(external_id="ok"), draft(question="", external_id="bad")])
    assert sum(store.count_by_status().values()) == 0
    assert store.changes.cursor() == 0


def test_lexical_search_ors_words_and_sees_published_only(sqlite_store: Store) -> None:
    store = sqlite_store  # SQLite's FTS5 table (PostgreSQL has the tantivy index alone)
    a = store.add_entry(draft("How do I export invoices as CSV?", "Billing > Invoices > Export."))
    b = store.add_entry(draft("Where is the VPN config?", "In the IT portal under Network."))
    store.add_entry(draft("Invoice export for retired plans", "Gone.", status=EntryStatus.RETIRED))
    hits = store.lexical.search("can I export my invoices to a spreadsheet", 10)
    assert [i for i, _ in hits] == [a.id]
    assert [i for i, _ in store.lexical.search("vpn invoices", 10)] != []
    assert {i for i, _ in store.lexical.search("vpn invoices", 10)} == {a.id, b.id}
    assert all(score > 0 for _, score in hits)


@pytest.mark.parametrize("query", ['"', "NEAR(a b)", "a* OR", "col:value", "-x", "AND", "😀", ""])
def test_lexical_search_survives_query_syntax(sqlite_store: Store, query: str) -> None:
    sqlite_store.add_entry(draft())
    assert isinstance(sqlite_store.lexical.search(query, 5), list)


def test_only_search_relevant_writes_enter_the_change_log(store: Store) -> None:
    entry = store.add_entry(draft())
    assert store.changes.since(0) == ({entry.id}, 1)
    store.db.execute("UPDATE entries SET usage_count = usage_count + 1 WHERE id = ?", [entry.id])
    assert store.changes.cursor() == 1
    store.set_status(entry.id, EntryStatus.RETIRED)
    store.update_entry(entry.id, answer="Changed.")
    assert store.changes.since(1) == ({entry.id}, 3)


def test_pruned_changes_are_reported_not_silently_skipped(store: Store) -> None:
    for n in range(3):
        store.add_entry(draft(f"Question {n}?"))
    store.changes.prune(2)
    assert store.changes.since(2) == ({3}, 3)
    with pytest.raises(ChangesPruned):
        store.changes.since(1)


def test_update_rejects_unknown_fields(store: Store) -> None:
    entry = store.add_entry(draft())
    with pytest.raises(InvalidInput, match="usage_count"):
        store.update_entry(entry.id, usage_count=5)


def test_reopening_keeps_data_and_schema(open_store, backend: str, database_url: str) -> None:
    first = open_store()
    entry = first.add_entry(draft())
    identity = first.changes.database_id()
    first.close()
    second = open_store()
    assert second.get_entry(entry.id).question == entry.question
    assert second.changes.database_id() == identity
    names = [r[0] for r in second.db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names[:3] == ["0001_entries", "0002_index_changes", "0003_entry_vectors"]
    assert names == sorted(m.name for m in MIGRATIONS)
    if backend == "sqlite":
        raw = sqlite3.connect(database_url)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_iter_entries_pages_through_everything(store: Store) -> None:
    store.upsert_entries([draft(f"Q{n}?", f"A{n}.") for n in range(2500)])
    assert sum(1 for _ in store.iter_entries()) == 2500
    assert sum(1 for _ in store.iter_entries([EntryStatus.RETIRED])) == 0


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "edit", "status", "delete"]),
        st.integers(0, 5),
        st.sampled_from(list(EntryStatus)),
        st.sampled_from(["refund policy", "vpn access", "password reset", "invoice export"]),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_bm25_index_holds_exactly_the_published_entries(operations: list) -> None:
    store = Store.in_memory()
    for op, slot, status, words in operations:
        ids = [e.id for e in store.iter_entries()]
        target = ids[slot % len(ids)] if ids else None
        if op == "add" or target is None:
            store.add_entry(draft(f"How about {words}?", f"About {words}.", status=status))
        elif op == "edit":
            store.update_entry(target, question=f"What about {words}?", tags=(words.split()[0],))
        elif op == "status":
            store.set_status(target, status)
        else:
            with store.transaction():
                store.db.execute("DELETE FROM entries WHERE id = ?", [target])
    store.db.execute("INSERT INTO entries_fts(entries_fts) VALUES ('integrity-check')")
    published = {e.id for e in store.iter_entries([EntryStatus.PUBLISHED])}
    found = {i for i, _ in store.lexical.search("refund vpn password invoice about", 100)}
    assert found == published
