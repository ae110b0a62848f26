"""Synthetic knowledge bases for speed and scale benchmarks.

Embedding a million real entries takes hours on 2 cores, so large bases are made from real
parts: words drawn from real StackExchange questions (so BM25 posting lists have a realistic,
Zipf-like shape) and vectors scattered around real MiniLM embeddings of real questions (so the
vector space has real cluster structure; on uniform random vectors ANN recall collapses).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import load_jsonl
from index.embedder import Embedder
from index.entry_index import embedding_text, text_hash
from knowledge.models import EntryDraft
from knowledge.store import Store

ROUTING = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing"


def real_questions(limit: int | None = None) -> list[dict]:
    """Real StackExchange questions (title, body, tags) from the three routing sites."""
    rows: list[dict] = []
    for site in ("dba", "history", "android"):
        rows += load_jsonl(ROUTING / f"stackexchange-{site}.jsonl")
    return rows[:limit] if limit else rows


class SyntheticBase:
    """Makes entries whose words and vectors look like real ones, reproducibly."""

    def __init__(self, embedder: Embedder, seeds: int = 2000, seed: int = 0) -> None:
        questions = real_questions()
        counts = Counter(w for q in questions for w in f"{q['title']} {q['body']}".split())
        self.words = np.array([w for w, _ in counts.most_common(30_000)])
        freq = np.array([c for _, c in counts.most_common(30_000)], dtype=np.float64)
        self.word_p = freq / freq.sum()
        self.rng = np.random.default_rng(seed)
        picked = self.rng.choice(len(questions), min(seeds, len(questions)), replace=False)
        self.anchors = embedder.embed([questions[i]["title"] for i in picked])

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(self.words, words, p=self.word_p))

    def vectors(self, count: int, spread: float = 0.045) -> np.ndarray:
        """Unit vectors near random anchors (spread ~ the gap between paraphrases)."""
        anchors = self.anchors[self.rng.integers(0, len(self.anchors), count)]
        noisy = anchors + self.rng.normal(0, spread, anchors.shape).astype(np.float32)
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

    def fill(self, store: Store, count: int, model: str, batch: int = 20_000) -> None:
        """Add `count` published entries with cached vectors, both the searched one and the
        question-alone one (so indexing embeds nothing, and search reads both as the bot's
        does). The question-alone vectors come from their own generator, so the entries and
        their searched vectors are the same as before they were made."""
        near = np.random.default_rng(1)
        for start in range(0, count, batch):
            size = min(batch, count - start)
            drafts = [EntryDraft(self.text(10) + "?", self.text(40)) for _ in range(size)]
            ids = store.upsert_entries(drafts).created
            vectors = self.vectors(size)
            store.vector_cache.save(
                model,
                (
                    (i, text_hash(embedding_text(d.question, d.answer)), v.tobytes())
                    for i, d, v in zip(ids, drafts, vectors, strict=True)
                ),
            )
            alone = vectors + near.normal(0, 0.03, vectors.shape).astype(np.float32)
            alone /= np.linalg.norm(alone, axis=1, keepdims=True)
            store.question_alone_cache.save(
                model,
                (
                    (i, text_hash(d.question.strip()), v.tobytes())
                    for i, d, v in zip(ids, drafts, alone, strict=True)
                ),
            )
