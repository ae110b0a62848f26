"""The knowledge suites run against both stores: a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knowledge.store import Store


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    return open_store()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For what only SQLite has (its FTS5 table)."""
    opened = Store.open(tmp_path / "sqlite.db")
    yield opened
    opened.close()
