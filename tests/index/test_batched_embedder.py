"""Concurrent callers share model calls and each gets exactly its own rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.batched_embedder import BatchedEmbedder
from index.embedder import OnnxEmbedder


class SlowFake:
    """A deterministic stand-in: each text's vector encodes its text; each call takes a while."""

    model_name = "fake"
    dimension = 4

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.calls.append(list(texts))
        time.sleep(0.02)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t), sum(map(ord, t)), hash(t) % 997, 1.0] for t in texts],
                        dtype=np.float32)


def test_a_lone_caller_runs_at_once_with_only_its_texts() -> None:
    fake = SlowFake()
    batched = BatchedEmbedder(fake)
    out = batched.embed(["one question"])
    assert fake.calls == [["one question"]]
    assert np.array_equal(out, fake.embed(["one question"]))


def test_concurrent_callers_share_calls_and_get_their_own_rows() -> None:
    fake = SlowFake()
    batched = BatchedEmbedder(fake, max_texts=8)
    asked = [[f"question {n}"] if n % 3 else [f"q{n}a", f"q{n}b"] for n in range(40)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(batched.embed, asked))
    for texts, got in zip(asked, results, strict=True):
        assert np.array_equal(got, SlowFake().embed(texts))
    assert len(fake.calls) < len(asked)  # batched: fewer model calls than callers
    assert max(len(call) for call in fake.calls) <= 8
    assert sorted(t for call in fake.calls for t in call) == sorted(t for a in asked for t in a)


def test_bulk_calls_go_straight_to_the_model() -> None:
    fake = SlowFake()
    texts = [f"entry {n}" for n in range(50)]
    assert len(BatchedEmbedder(fake, max_texts=8).embed(texts)) == 50
    assert fake.calls == [texts]


def test_a_model_error_reaches_every_caller_of_its_batch_and_no_one_else() -> None:
    fake = SlowFake(fail_on="bad")
    batched = BatchedEmbedder(fake)
    texts = ["bad", *map(str, range(7))]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(batched.embed, [t]) for t in texts]
    failing_call = next(c for c in fake.calls if "bad" in c)
    for text, future in zip(texts, futures, strict=True):
        assert (future.exception() is not None) == (text in failing_call)
        if text in failing_call:
            assert isinstance(future.exception(), RuntimeError)
    assert batched.embed(["after"]).shape == (1, 4)  # still usable


def test_real_model_rows_match_one_at_a_time(embedder: OnnxEmbedder) -> None:
    batched = BatchedEmbedder(embedder)
    texts = ["How do I reset my password?", "vpn", "Where is the wiki page about on-call rotas?"]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda t: batched.embed([t])[0], texts))
    for text, vector in zip(texts, together, strict=True):
        assert np.allclose(vector, embedder.embed([text])[0], atol=1e-5)


@pytest.mark.parametrize("texts", [[], ["x"] * 33])
def test_empty_and_oversized_calls(texts: list[str]) -> None:
    assert len(BatchedEmbedder(SlowFake()).embed(texts)) == len(texts)
