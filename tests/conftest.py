"""Shared fixtures: the real model (loaded once per session), real SQLite stores, sample data."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.embedder import OnnxEmbedder, prepare_onnx_model
from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.models import utcnow
from knowledge.store import Clock, Store
from tests.postgres import Cluster

pytest_plugins = ["tests.sandbox.pytest_plugin", "tests.bot.routing_world"]

FIXTURES = Path(__file__).parent / "fixtures"
MODEL_CACHE = Path(
    os.environ.get("SWITCHBOARD_MODEL_CACHE", Path.home() / ".cache" / "switchboard")
)


@pytest.fixture(scope="session")
def model_cache() -> Path:
    prepare_onnx_model(MODEL_CACHE)
    return MODEL_CACHE


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> OnnxEmbedder:
    """The real all-MiniLM-L6-v2 model (ONNX Runtime), loaded once for the whole session."""
    return OnnxEmbedder(prepare_onnx_model(model_cache))


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture
def counting_embedder(embedder: OnnxEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite file in a temporary folder."""
    opened = Store.open(tmp_path / "switchboard.db")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A real PostgreSQL server of the session's own (a throwaway cluster on a free port)."""
    with Cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of each kind: a SQLite file, or a fresh database on the cluster."""
    if backend == "sqlite":
        return str(tmp_path / "switchboard.db")
    return request.getfixturevalue("postgres_cluster").database()


@pytest.fixture
def open_store(database_url: str) -> Iterator[Callable[..., Store]]:
    """Opens the test's database (each call a new connection to the same one)."""
    opened: list[Store] = []

    def open_(clock: Clock = utcnow) -> Store:
        opened.append(Store.connect(database_url, clock))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture(scope="session")
def faq_sample() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "stackfaq_sample.jsonl").open()]


@pytest.fixture(scope="session")
def faq_queries() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "stackfaq_sample_queries.jsonl").open()]


@pytest.fixture
def faq_search(store: Store, embedder: OnnxEmbedder, tmp_path: Path) -> HybridSearch:
    """Hybrid search over the StackFAQ sample, in a real SQLite file with a saved index dir."""
    store.upsert_entries(read_entries(FIXTURES / "stackfaq_sample.jsonl").drafts)
    index = EntryIndex.open(store, embedder, tmp_path / "index")
    return HybridSearch(store, index, embedder)
