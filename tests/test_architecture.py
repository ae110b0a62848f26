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
                "sandbox",
                "slack_bolt",
                "slack_sdk",
                "faiss",
                "onnxruntime",
                "sentence_transformers",
                "torch",
                "tokenizers",
            },
        ),
        ("index", {"bot", "switchboard", "sandbox", "slack_bolt", "slack_sdk"}),
        (
            "bot",
            {"faiss", "onnxruntime", "sentence_transformers", "torch", "sqlite_utils", "sqlite3",
             "sandbox"},
        ),
        # the sandbox drives the bot from outside, like Slack: it never reaches into the store,
        # the index or the model itself
        ("sandbox", {"faiss", "onnxruntime", "sentence_transformers", "torch", "sqlite_utils",
                     "sqlite3"}),
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


def test_the_wiring_layer_reaches_libraries_only_through_the_packages() -> None:
    """switchboard/ (settings, wiring, CLI) calls the domain, the index and the bot; it never
    talks to Slack, the model, faiss or SQL itself."""
    forbidden = {"slack_bolt", "slack_sdk", "faiss", "onnxruntime", "sentence_transformers",
                 "torch", "tokenizers", "sqlite_utils", "sqlite3", "bench", "tests"}
    offenders = {path: sorted(names & forbidden)
                 for path, names in imports_of("switchboard").items() if names & forbidden}
    assert offenders == {}


@pytest.mark.parametrize("package", ["knowledge", "index", "bot", "switchboard", "sandbox"])
def test_nothing_shipped_imports_benchmarks_or_tests(package: str) -> None:
    offenders = {path: sorted(names & {"bench", "tests"})
                 for path, names in imports_of(package).items() if names & {"bench", "tests"}}
    assert offenders == {}


def test_benchmarks_use_the_product_through_its_public_names() -> None:
    """bench/ measures the product as it ships: through the packages' public names, never
    app.py's wiring or a module's private helpers (which a refactor may change freely)."""
    product = ("knowledge", "index", "bot", "switchboard", "sandbox")
    for path in (ROOT / "bench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                assert all(alias.name != "app" for alias in node.names), path
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(product):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private == [], f"{path} imports {private} from {node.module}"
