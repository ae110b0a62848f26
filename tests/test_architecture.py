"""The design card's arrows: bot -> knowledge, index; knowledge and index never import bot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "knowledge",
            {
                "bot",
                "index",
                "switchboard",
                "slack_bolt",
                "slack_sdk",
                "faiss",
                "onnxruntime",
                "sentence_transformers",
                "torch",
                "tokenizers",
            },
        ),
        ("index", {"bot", "switchboard", "slack_bolt", "slack_sdk"}),
        (
            "bot",
            {"faiss", "onnxruntime", "sentence_transformers", "torch", "sqlite_utils", "sqlite3"},
        ),
    ],
)
def test_layers_import_only_downwards(package: str, forbidden: set[str]) -> None:
    offenders = {
        path: sorted(names & forbidden)
        for path, names in imports_of(package).items()
        if names & forbidden
    }
    assert offenders == {}


def test_only_bot_imports_slack() -> None:
    for package in ("knowledge", "index", "switchboard"):
        for path, names in imports_of(package).items():
            assert not names & {"slack_bolt", "slack_sdk"}, path
