"""Every published entry keeps a vector of its question alone in the database's cache: made with
its searched vector, remade when the question changes, filled in for older databases, and read
by search as confidence evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.models import EntryDraft
from knowledge.store import Store
from tests.conftest import CountingEmbedder


def alone(store: Store, model: str) -> dict[int, np.ndarray]:
    ids = store.searchable_ids()
    return {i: np.frombuffer(blob, dtype=np.float32)
            for i, (_, blob) in store.question_alone_cache.cached(ids, model).items()}


def test_question_alone_vectors_follow_the_entries(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    wifi = store.add_entry(EntryDraft("What is the office wifi password?", "It is on the wall.")).id
    index = EntryIndex(store, counting_embedder)
    index.sync()
    model = counting_embedder.model_name
    first = alone(store, model)[wifi]
    expected = counting_embedder.inner.embed(["What is the office wifi password?"])[0]
    assert np.allclose(first, expected, atol=1e-5)

    store.update_entry(wifi, answer="Ask reception.")  # the question is unchanged
    embedded = len(counting_embedder.texts)
    index.sync()
    assert counting_embedder.texts[embedded:] == [
        "What is the office wifi password?\nAsk reception."]  # only the searched text again
    store.update_entry(wifi, question="Where is the guest wifi code?")
    index.sync()
    assert not np.allclose(alone(store, model)[wifi], first)


def test_an_older_database_gets_them_filled_in_at_open(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    for n in range(3):
        store.add_entry(EntryDraft(f"Question number {n} about expenses?", "An answer."))
    EntryIndex.open(store, counting_embedder, tmp_path / "index").checkpoint()
    store.db.execute("DELETE FROM entry_question_vectors")

    reopened = EntryIndex.open(store, counting_embedder, tmp_path / "index")
    assert len(alone(store, counting_embedder.model_name)) == 3
    assert reopened.fill_question_vectors() == 0  # nothing left to do


def test_a_large_backlog_is_filled_a_few_at_a_time(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    for n in range(5):
        store.add_entry(EntryDraft(f"Question number {n} about travel?", "An answer."))
    index = EntryIndex(store, counting_embedder)
    index.sync()
    store.db.execute("DELETE FROM entry_question_vectors")  # as in a database made before them
    assert index.sync() == 0  # caught up: nothing re-embedded
    assert index.fill_question_vectors(limit=2) == 2
    assert len(alone(store, counting_embedder.model_name)) == 2
    assert index.fill_question_vectors(limit=2) == 2
    assert index.fill_question_vectors(limit=2) == 1  # the last one: now complete
    assert len(alone(store, counting_embedder.model_name)) == 5
    embedded = len(counting_embedder.texts)
    assert index.fill_question_vectors(limit=2) == 0 and len(counting_embedder.texts) == embedded


def test_search_reads_the_question_alone_for_confidence(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    """The same wording is surer when it matches the entry's question than its answer."""
    store.add_entry(EntryDraft("How do I reset my password?", "Use the reset link."))
    index = EntryIndex(store, counting_embedder)
    search = HybridSearch(store, index, counting_embedder)
    sure = search.search("How do I reset my password?", k=1)[0]
    store.db.execute("UPDATE entry_question_vectors SET vector = ?",
                     [np.zeros(counting_embedder.dimension, dtype=np.float32).tobytes()])
    unsure = search.search("How do I reset my password?", k=1)[0]
    assert unsure.score < sure.score  # only the searched cosine is left
    assert unsure.confidence < sure.confidence


def test_a_question_asked_the_entrys_way_ranks_it_first(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    """An entry's cosine is the better of its two: the question alone finds the entry whose
    long answer drifts away from the query, ahead of one whose answer repeats the query's words
    (which wins on the question-and-answer vector alone)."""
    asked_its_way = store.add_entry(EntryDraft(
        "How do I cancel my subscription?",
        "Open the customer portal, go to Plans, pick the annual or monthly plan you hold and "
        "press the red button at the bottom; invoices already paid are refunded pro rata by the "
        "finance team within ten working days, and VAT receipts stay downloadable.")).id
    wordy = store.add_entry(EntryDraft(
        "Subscription cancelled but still charged?",
        "To cancel your subscription, cancel your subscription in the portal; cancelling your "
        "subscription stops the next charge.")).id
    index = EntryIndex(store, counting_embedder)
    search = HybridSearch(store, index, counting_embedder)
    query = "how can I cancel my subscription"
    hits = search.search(query, k=2)
    assert [h.entry.id for h in hits] == [asked_its_way, wordy]
    vector = counting_embedder.embed([query])[0]
    question = counting_embedder.embed(["How do I cancel my subscription?"])[0]
    assert hits[0].cosine == pytest.approx(float(vector @ question), abs=1e-5)
    # without the question-alone vectors (a database still being filled in) the searched
    # vectors alone decide, and the wordy entry wins
    store.db.execute("DELETE FROM entry_question_vectors")
    assert [h.entry.id for h in search.search(query, k=2)] == [wordy, asked_its_way]
