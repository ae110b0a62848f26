from __future__ import annotations

import numpy as np
import pytest

from index.embedder import DIMENSION, MODEL_NAME, OnnxEmbedder, TorchEmbedder


@pytest.fixture(scope="module")
def torch_embedder() -> TorchEmbedder:
    return TorchEmbedder()


TEXTS = [
    "How do I reset a customer's password?",
    "password reset",
    "Ünïcödé, emoji 🎉 and symbols <@U123> & <!channel>",
    "refund " * 600,  # far past the 256-token window: truncated, as in training
    "x",
]


def test_onnx_and_torch_give_the_same_vectors(
    embedder: OnnxEmbedder, torch_embedder: TorchEmbedder
) -> None:
    onnx, torch = embedder.embed(TEXTS), torch_embedder.embed(TEXTS)
    assert onnx.shape == torch.shape == (len(TEXTS), DIMENSION)
    assert np.abs(onnx - torch).max() < 1e-4


def test_vectors_are_normalised_float32(embedder: OnnxEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.model_name == MODEL_NAME


def test_batching_and_order_do_not_change_vectors(embedder: OnnxEmbedder) -> None:
    together = embedder.embed(TEXTS)
    alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert np.abs(together - alone).max() < 1e-5


def test_similar_questions_are_closer_than_unrelated_ones(embedder: OnnxEmbedder) -> None:
    a, b, c = embedder.embed(
        ["How can I get my money back?", "refund request process", "office wifi password"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_empty_input_gives_an_empty_matrix(embedder: OnnxEmbedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSION)
