"""An embedder that remembers: texts embedded once by the real model are kept in an .npz file,
so a benchmark that builds many stores from the same questions embeds each text once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedder import Embedder


class CachedEmbedder:
    """Wraps a real embedder; vectors are keyed by the text's SHA-1 and the model's name."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            with np.load(path, allow_pickle=False) as saved:
                if str(saved["model"]) == self.model_name:
                    self._vectors = dict(zip(saved["keys"].tolist(), saved["vectors"],
                                             strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            for key, vector in zip(missing, self.inner.embed([text_of[k] for k in missing]),
                                   strict=True):
                self._vectors[key] = vector
            self._dirty = True
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        np.savez(self.path, model=np.array(self.model_name), keys=np.array(keys),
                 vectors=np.stack([self._vectors[k] for k in keys]))
        self._dirty = False
