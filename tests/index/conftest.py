"""The CLI, run in-process against a fresh home folder with the shared model cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from switchboard.cli import main


@pytest.fixture
def run(tmp_path: Path, model_cache: Path):
    env = {"SWITCHBOARD_HOME": str(tmp_path / "home"), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}
    return lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
