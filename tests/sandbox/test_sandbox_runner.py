"""The sandbox's world: its demo day, and `make run` with no Slack settings starting it."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sandbox.runner import SandboxClock, start_of_demo_day
from tests.bot.test_run import ROOT, env_for, free_port


def test_the_demo_day_starts_at_ten_on_a_working_day() -> None:
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    assert start_of_demo_day(at("2026-11-24T09:00:00")) == at("2026-11-24T10:00:00")  # Tue
    assert start_of_demo_day(at("2026-11-24T11:00:00")) == at("2026-11-25T10:00:00")
    assert start_of_demo_day(at("2026-11-27T12:00:00")) == at("2026-11-30T10:00:00")  # Fri pm
    assert start_of_demo_day(at("2026-11-28T09:00:00")) == at("2026-11-30T10:00:00")  # Sat


def test_skipping_ahead_moves_the_clock_and_only_forwards() -> None:
    clock = SandboxClock()  # real time flows on from 10:00 on a working day
    before = clock()
    assert before.weekday() < 5 and (before.hour, before.minute) == (10, 0)
    after = clock.skip(15)
    assert 15 * 60 <= (after - before).total_seconds() < 15 * 60 + 5


def test_run_with_no_slack_settings_opens_the_sandbox(tmp_path: Path, model_cache: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard.cli", "run"], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env_for(tmp_path, model_cache, PORT=str(port)))
    try:
        line = process.stdout.readline().strip()
        assert line == f"Switchboard sandbox: open http://127.0.0.1:{port}", line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200 and b"data-testid" in page.read()
        assert (tmp_path / "home" / "sandbox" / "switchboard.db").exists()  # its own home
        assert not (tmp_path / "home" / "switchboard.db").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


def test_the_shipped_demo_vectors_are_the_models_own_for_the_current_texts(
        embedder, tmp_path: Path) -> None:
    """sandbox/demo/vectors.npz must cover every demo entry's text and equal the real model's
    embedding of it (regenerate with `python -m sandbox.demo_vectors` after editing the demo)."""
    import numpy as np

    from index.entry_index import embedding_text
    from knowledge.importing import read_entries
    from knowledge.store import Store
    from sandbox.demo_vectors import KNOWLEDGE, VECTORS, seed

    drafts = read_entries(KNOWLEDGE).drafts
    store = Store.open(tmp_path / "demo.db")
    try:
        store.upsert_entries(drafts)
        assert seed(store, embedder.model_name) == len(drafts)  # every entry's text is there
        alone = store.question_alone_cache.cached(range(1, len(drafts) + 1),
                                                  embedder.model_name)
        assert len(alone) == len(drafts)  # and every question alone
        assert seed(store, "another-model") == 0
        with np.load(VECTORS) as shipped:
            assert str(shipped["model"]) == embedder.model_name
            stored = store.vector_cache.cached([1, 40, len(drafts)], embedder.model_name)
        for entry_id, (_, blob) in stored.items():
            entry = store.get_entry(entry_id)
            fresh = embedder.embed([embedding_text(entry.question, entry.answer)])[0]
            assert np.allclose(np.frombuffer(blob, dtype=np.float32), fresh, atol=1e-5)
    finally:
        store.close()
