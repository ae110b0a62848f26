"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from index.embedder import OnnxEmbedder, prepare_onnx_model

MODEL_CACHE = Path(
    os.environ.get("SWITCHBOARD_MODEL_CACHE", Path.home() / ".cache" / "switchboard")
)


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def onnx_embedder() -> OnnxEmbedder:
    return OnnxEmbedder(prepare_onnx_model(MODEL_CACHE))
