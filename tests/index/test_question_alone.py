"""Every published entry keeps a vector of its question alone in the database's cache: made with
its searched vector, remade when the question changes, filled in for older databases, and read
by search as confidence evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    assert unsure.score == sure.score  # ranking is unchanged
    assert unsure.confidence < sure.confidence
