"""Routed questions similar to a new one (index/routed_questions.py), with the real model: the
vector made when a question was ranked is reused, a backlog is embedded a few per call, and the
vectors are stored for the next process."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embedder import OnnxEmbedder
from index.routed_questions import MAX_FILL, RoutedQuestions
from knowledge.escalation import Routes
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from knowledge.store import Store
from knowledge.vector_cache import QuestionVectorCache

TEXTS = ["How do I refund a duplicate payment?", "The VPN drops every hour",
         "Where do I book a meeting room?", "Who approves holiday requests?",
         "How do I reset my laptop password?", "Can I change an invoice's billing date?",
         "Why does the build server keep failing?", "Where is the expense report form?",
         "How long does payroll take to fix a mistake?", "Who owns the customer wiki?"]


class Counting:
    """The real model, counting the texts it embeds."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.model_name, self.dimension = inner.model_name, inner.dimension
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += list(texts)
        return self.inner.embed(texts)


def test_routed_questions_are_found_by_similarity_and_embedded_once(
        store: Store, embedder: OnnxEmbedder) -> None:
    book, routes = QuestionBook(store), Routes(store)
    counting = Counting(embedder)
    routed = RoutedQuestions(store, counting)
    ids = [book.receive(AskInput("UASK", text, QuestionSource.DM))[0].id for text in TEXTS]
    routed.remember(TEXTS[0], embedder.embed([TEXTS[0]])[0])  # ranked just before routing
    for qid in ids:
        routes.add(qid, "UEXPERT", 1, 0.0, ())
    query = embedder.embed(["A customer paid twice, how do I refund one payment?"])[0]
    first = routed.similar(query, 3)
    assert len(counting.texts) == MAX_FILL and TEXTS[0] not in counting.texts  # the memo
    assert first[0][0] == ids[0] and first[0][1] > first[1][1]
    routed.similar(query, 3)  # the rest of the backlog
    assert len(counting.texts) == len(TEXTS) - 1
    assert ids[0] not in [q for q, _ in routed.similar(query, 3, exclude=ids[0])]
    assert len(counting.texts) == len(TEXTS) - 1  # nothing new: nothing embedded
    stored = QuestionVectorCache(store).cached(ids, embedder.model_name)
    assert set(stored) == set(ids)
    # another process reads them back without embedding anything
    again = Counting(embedder)
    assert RoutedQuestions(store, again).similar(query, 1)[0][0] == ids[0]
    assert again.texts == []
