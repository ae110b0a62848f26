"""The vector index follows the store: adds, edits, retirements, deletes, crashes and restarts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.entry_index import EntryIndex, embedding_text
from knowledge.models import EntryDraft, EntryStatus
from knowledge.store import Store
from tests.conftest import CountingEmbedder


def add(store: Store, question: str, answer: str = "An answer.") -> int:
    return store.add_entry(EntryDraft(question=question, answer=answer)).id


def top(index: EntryIndex, embedder: CountingEmbedder, text: str) -> int:
    return index.nearest(embedder.inner.embed([text])[0], 1)[0][0]


def test_sync_follows_add_edit_retire_restore_delete(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    index = EntryIndex(store, counting_embedder)
    wifi = add(store, "What is the office wifi password?")
    refund = add(store, "How do I refund an annual plan?")
    assert index.sync() == 2 and len(index.vectors) == 2
    assert top(index, counting_embedder, "guest wifi") == wifi

    store.update_entry(wifi, question="Where do I book a meeting room?")
    index.sync()
    assert top(index, counting_embedder, "meeting room booking") == wifi
    assert top(index, counting_embedder, "guest wifi") == refund or len(index.vectors) == 2

    store.set_status(refund, EntryStatus.RETIRED)
    index.sync()
    assert refund not in index.vectors
    store.set_status(refund, EntryStatus.PUBLISHED)
    before = len(counting_embedder.texts)
    index.sync()
    assert refund in index.vectors
    assert len(counting_embedder.texts) == before  # restored from the embedding cache

    store.db.execute("DELETE FROM entries WHERE id = ?", [wifi])
    index.sync()
    assert wifi not in index.vectors and len(index.vectors) == 1


def test_drafts_and_pending_entries_are_not_searchable(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    store.add_entry(EntryDraft("Draft?", "x", status=EntryStatus.DRAFT))
    store.add_entry(EntryDraft("Pending?", "x", status=EntryStatus.PENDING_REVIEW))
    index = EntryIndex(store, counting_embedder)
    index.sync()
    assert len(index.vectors) == 0 and counting_embedder.texts == []


def test_crash_between_commit_and_index_save_is_repaired(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    first = EntryIndex.open(store, counting_embedder, directory)
    kept = add(store, "How do I export invoices?")
    first.sync()
    first.checkpoint()
    # Committed to SQLite, then the process dies before the index is saved again:
    lost = add(store, "How do I rotate API keys?")
    store.set_status(kept, EntryStatus.RETIRED)
    again = EntryIndex.open(store, counting_embedder, directory)
    assert lost in again.vectors and kept not in again.vectors
    assert top(again, counting_embedder, "api key rotation") == lost


def test_reopening_a_saved_index_embeds_nothing(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    for n in range(5):
        add(store, f"Question number {n}?")
    EntryIndex.open(store, counting_embedder, tmp_path).checkpoint()
    embedded = len(counting_embedder.texts)
    reopened = EntryIndex.open(store, counting_embedder, tmp_path)
    assert len(reopened.vectors) == 5 and len(counting_embedder.texts) == embedded
    assert store.changes.since(reopened.cursor) == (set(), reopened.cursor)


def test_an_index_from_another_database_is_rebuilt(
    counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    one, two = Store.open(tmp_path / "one.db"), Store.open(tmp_path / "two.db")
    add(one, "Only in one?")
    EntryIndex.open(one, counting_embedder, tmp_path / "index").checkpoint()
    add(two, "Only in two?")
    add(two, "Also in two?")
    index = EntryIndex.open(two, counting_embedder, tmp_path / "index")
    assert len(index.vectors) == 2


def test_a_tampered_manifest_is_rebuilt_not_trusted(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    add(store, "A question?")
    EntryIndex.open(store, counting_embedder, tmp_path).checkpoint()
    manifest = tmp_path / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "model": "some-other-model"}))
    assert len(EntryIndex.open(store, counting_embedder, tmp_path).vectors) == 1
    manifest.write_text("{ not json")
    assert len(EntryIndex.open(store, counting_embedder, tmp_path).vectors) == 1


def test_a_reader_behind_a_pruned_log_reloads_the_saved_index(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    bot = EntryIndex.open(store, counting_embedder, tmp_path)  # e.g. the running bot
    cli = EntryIndex.open(store, counting_embedder, tmp_path)  # e.g. `switchboard import`
    new = add(store, "Imported while the bot ran?")
    cli.sync()
    cli.checkpoint()  # saves, then prunes the change log
    bot.sync()
    assert new in bot.vectors


def test_grows_from_exact_to_ivf_and_back(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    index = EntryIndex(store, counting_embedder, exact_limit=40)
    ids = store.upsert_entries(
        [
            EntryDraft(f"Question about topic {n} and item {n * 7}?", f"Answer {n}.")
            for n in range(60)
        ]
    ).created
    index.sync()
    assert index.vectors.kind == "ivf-fp16" and len(index.vectors) == 60
    for entry_id in ids[:45]:
        store.set_status(entry_id, EntryStatus.RETIRED)
    index.sync()
    assert index.vectors.kind == "flat" and len(index.vectors) == 15


def test_embedded_text_is_question_then_answer_opening() -> None:
    text = embedding_text("  Why?  ", "word " * 500)
    assert text.startswith("Why?\nword") and len(text.split()) < 120
    assert embedding_text("Why?", "") == "Why?"


def test_a_float16_index_ranks_as_float32_does(
    store: Store, counting_embedder: CountingEmbedder, faq_queries: list[dict]
) -> None:
    index = EntryIndex(store, counting_embedder, exact_limit=40)
    store.upsert_entries(
        [EntryDraft(f"How do I configure service {n} on port {n * 7}?", "See the runbook.")
         for n in range(60)]
        + [EntryDraft(q["text"], f"Answer {n}.") for n, q in enumerate(faq_queries[:70])]
    )
    index.sync()
    assert index.vectors.kind == "ivf-fp16"
    cached = store.vector_cache.cached(index.vectors.ids().tolist(), counting_embedder.model_name)
    ids = list(cached)
    matrix = np.stack([np.frombuffer(cached[i][1], dtype=np.float32) for i in ids])
    asked = ["configure service 12", *(q["text"] for q in faq_queries[70:])]
    for query in counting_embedder.inner.embed(asked):
        exact = dict(zip(ids, (matrix @ query).tolist(), strict=True))
        hits = index.nearest(query, 10)
        assert [i for i, _ in hits] == sorted(exact, key=lambda i: -exact[i])[:10]
        assert all(abs(score - exact[i]) < 1e-4 for i, score in hits)
        assert all(abs(c - exact[i]) < 1e-4 for i, c in index.similarity(query, ids).items())
