"""Knowledge gaps from stored question vectors: the same groups as embedding afresh, each
question embedded once, bounded work per pass, recomputed only when due and changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.entry_index import EntryIndex
from index.gaps import EMBED_BATCH, MAX_CHARS, group_gaps, knowledge_gaps
from index.insights import AdminInsights
from index.question_vectors import QuestionVectors
from knowledge.analytics import Analytics
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.store import Store
from tests.conftest import CountingEmbedder
from tests.report_fixture import END, build

ASKED = [
    "Where can I park at the Lisbon office?",
    "Is there parking for cars near the Lisbon office?",
    "How do I book a parking spot in Lisbon?",
    "How do I expense a train ticket?",
    "Can I claim my train fare as an expense?",
    "Who approves expense claims for travel?",
    "What is the wifi password for guests?",
    "Does the office have a gym?",
]


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def ask(store: Store, texts: list[str]) -> list[int]:
    book = QuestionBook(store)
    return [book.receive(AskInput("U1", text, QuestionSource.DM, channel="D1",
                                  message_ts=f"{len(text)}.{i}"))[0].id
            for i, text in enumerate(texts)]


def insights(store: Store, embedder, tmp_path: Path, **options) -> AdminInsights:
    index = EntryIndex.open(store, embedder, tmp_path / "index")
    return AdminInsights(store, index, embedder, **options)


def test_gaps_from_stored_vectors_equal_gaps_from_fresh_embeddings(
        store: Store, embedder, tmp_path: Path) -> None:
    long_one = "Any car parking at the Lisbon office? " * 200
    ask(store, [*ASKED, long_one])
    cache = insights(store, embedder, tmp_path, groups=20)
    assert cache.latest is None
    assert cache.refresh()
    questions = Analytics(store).unanswered(days=7, limit=200)
    assert len(questions) == 9 and all(len(q.text) <= MAX_CHARS for q in questions)
    oracle = knowledge_gaps(embedder, questions, top=20)
    assert list(cache.latest.gaps) == oracle
    assert oracle[0].size == 4 and "Lisbon" in oracle[0].example  # parking, the long one too


def test_group_gaps_needs_one_vector_per_question() -> None:
    with pytest.raises(ValueError, match="2 questions but 1 vectors"):
        group_gaps([object(), object()], np.zeros((1, 4), np.float32))  # type: ignore[list-item]


def test_unanswered_in_sql_agrees_with_the_report(tmp_path: Path) -> None:
    store, _ = build(tmp_path / "fixture.db")
    analytics = Analytics(store)
    report = analytics.report(days=7, now=END)
    listed = analytics.unanswered(days=7, now=END)
    assert [u.question_id for u in listed] == [u.question_id for u in report.unanswered]
    assert [u.question_id for u in analytics.unanswered(days=7, now=END, limit=1)] == [
        report.unanswered[-1].question_id]  # the newest
    assert analytics.report(days=7, now=END, list_unanswered=False).unanswered == []
    store.close()


def test_each_question_is_embedded_once_and_passes_are_capped(
        store: Store, counting_embedder: CountingEmbedder, tmp_path: Path) -> None:
    ids = ask(store, [f"Question {i} about the parking rules: " + "why? " * 3000
                      for i in range(40)])
    clock = Ticks()
    cache = insights(store, counting_embedder, tmp_path, sample=25, per_pass=10,
                     clock=clock)
    counting_embedder.texts.clear()  # (the entry index embedded nothing, but be sure)
    batches: list[int] = []
    embed = counting_embedder.embed
    counting_embedder.embed = lambda texts: batches.append(len(texts)) or embed(texts)
    for expected in (10, 10, 5):  # behind: each call is a pass, at most 10 embedded each
        cache.refresh()
        assert cache.last_pass.embedded == expected and cache.last_pass.questions == 25
    assert len(counting_embedder.texts) == 25
    assert all(len(t) <= MAX_CHARS for t in counting_embedder.texts)
    assert max(batches) <= EMBED_BATCH  # the model's working memory grows with the batch
    embedded_ids = {r["question_id"] for r in store.query("SELECT question_id "
                                                          "FROM question_vectors")}
    assert embedded_ids == set(ids[-25:])  # the newest 25, never the older ones
    assert sum(g.size for g in cache.latest.gaps) <= 25 and len(cache.latest.gaps) <= 10
    # caught up: nothing is due before min_interval, and a due pass with no change does nothing
    assert not cache.refresh()
    clock.now += cache.min_interval
    assert not cache.refresh()
    assert cache.last_pass.embedded == 0 and not cache.last_pass.gaps_recomputed
    assert len(counting_embedder.texts) == 25
    # a new question is embedded (alone) and the gaps recomputed at the next due pass
    ask(store, ["Where do visitors park?"])
    assert not cache.refresh()
    clock.now += cache.min_interval
    assert cache.refresh() and cache.last_pass.embedded == 1
    assert counting_embedder.texts[-1] == "Where do visitors park?"


def test_edited_text_or_another_model_means_embedding_again(
        store: Store, counting_embedder: CountingEmbedder) -> None:
    [question_id] = ask(store, ["How do I reset my VPN token?"])
    vectors = QuestionVectors(store, counting_embedder)
    listed = Analytics(store).unanswered()
    assert vectors.fill(listed, 10) == 1 and vectors.fill(listed, 10) == 0
    QuestionBook(store).edit_text(question_id, "How do I reset my VPN hardware token?")
    edited = Analytics(store).unanswered()
    assert vectors.stored(edited) == {}
    assert vectors.fill(edited, 10) == 1
    assert counting_embedder.texts[-1] == "How do I reset my VPN hardware token?"
    store.db.execute("UPDATE question_vectors SET model = 'another/model'")
    assert vectors.stored(edited) == {} and vectors.fill(edited, 10) == 1
    store.db.execute("UPDATE question_vectors SET vector = zeroblob(8)")  # wrong dimension
    assert vectors.stored(edited) == {}


def test_a_lone_surrogate_does_not_stop_the_pass(
        store: Store, counting_embedder: CountingEmbedder) -> None:
    ask(store, ["Where is the \ud83d printer?"])
    vectors = QuestionVectors(store, counting_embedder)
    listed = Analytics(store).unanswered()
    assert vectors.fill(listed, 10) == 1
    assert len(vectors.stored(listed)) == 1


def test_duplicate_pairs_are_cached_and_dropped_once_merged_or_retired(
        store: Store, embedder, tmp_path: Path) -> None:
    from index.duplicates import resolve_pairs
    from knowledge.models import EntryDraft

    keep = store.add_entry(EntryDraft("How can I reset my VPN password?", "Use the portal.")).id
    fold = store.add_entry(EntryDraft("How do I reset my VPN password?", "Use the portal.")).id
    store.add_entry(EntryDraft("Where is the canteen?", "Second floor."))
    cache = insights(store, embedder, tmp_path)
    cache.refresh()
    assert [(a, b) for a, b, _ in cache.latest.duplicates] == [(keep, fold)]
    assert [(p.keep.id, p.fold.id) for p in resolve_pairs(store, cache.latest.duplicates)] \
        == [(keep, fold)]
    store.db.execute("UPDATE entries SET status = 'retired' WHERE id = ?", [fold])
    assert resolve_pairs(store, cache.latest.duplicates) == []
