"""The vector index: entry vectors searchable by cosine similarity, keyed by entry row id.

Exact search (a flat inner-product index) while the base is small; an inverted-file index
(IVF) once it is large enough for exact search to cost more than the embedding itself. Both
support adding, replacing and removing single entries without a rebuild.

The IVF index keeps each vector in 16-bit floats (faiss's fp16 scalar quantiser, the vector
itself rather than its residual from the list's centre: half of float32's memory). Scores and
stored vectors are then within about 1e-4 of float32's (the rounding of each dimension), so
search needs no exact re-score: format 2 kept 8 bits per dimension (scores off by 0.002) and
re-read a short list of float32 vectors from the database on every search, which cost more than
the quantised search itself and twice as much again for the phrasings (bench/speed.py). Recall
against exact search is that of a float32 IVF with the same lists and probes (bench/scale.py).
Large indexes are built streaming (`VectorIndex.builder`): trained on the first vectors, then
filled chunk by chunk, never holding every float32 vector at once. On disk the index is a faiss
file plus `manifest.json` (model, dimension, count, change-log cursor, database id); the
manifest is written last and names the file, so a crash mid-save leaves the old pair intact.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from knowledge.errors import IndexUnusable

EXACT_LIMIT = 20_000  # above this many vectors an IVF index answers far faster at recall ~0.97+
MANIFEST = "manifest.json"
FORMAT = 3  # 3: IVF vectors in float16 (2: 8-bit with a re-score from the database; 1: float32)
IVF_KIND = "ivf-fp16"
TRAIN_PER_LIST = 64  # training vectors per inverted list (faiss warns below 39)


@dataclass(frozen=True)
class Manifest:
    """What an index file holds and which database state it reflects."""

    model: str
    dimension: int
    count: int
    kind: str
    cursor: int
    database_id: str
    file: str
    format: int = FORMAT


def ivf_lists(count: int) -> int:
    """How many inverted lists an IVF index over `count` vectors should have."""
    # ~4·sqrt(n) lists, but at least 39 training points per list (faiss's own minimum).
    return max(1, min(int(4 * math.sqrt(count)), count // 39, 16_384))


def ivf_probes(lists: int) -> int:
    """How many lists a query visits: enough for recall@10 >= 0.95 on real MiniLM vectors."""
    return max(16, lists // 32)


class VectorIndex:
    """Normalised float32 vectors by entry id, with exact or IVF inner-product search."""

    def __init__(self, index: faiss.Index, kind: str, ids: Iterable[int] = ()) -> None:
        self._index = index
        self.kind = kind
        self._ids: set[int] = set(ids)

    @classmethod
    def empty(cls, dimension: int) -> VectorIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), "flat")

    @classmethod
    def build(
        cls, ids: np.ndarray, vectors: np.ndarray, exact_limit: int = EXACT_LIMIT
    ) -> VectorIndex:
        """An index over these vectors, of the kind that suits their number."""
        builder = cls.builder(len(ids), vectors.shape[1], exact_limit)
        builder.add(ids, vectors)
        return builder.finish()

    @staticmethod
    def builder(count: int, dimension: int, exact_limit: int = EXACT_LIMIT) -> Builder:
        """A builder for an index that will hold about `count` vectors, fed in chunks."""
        return Builder(count, dimension, exact_limit)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._ids

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors, replacing any already held for the same ids."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("each id may appear once per call")
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._ids.update(ids.tolist())

    def remove(self, ids: Iterable[int]) -> None:
        present = np.array([i for i in ids if i in self._ids], dtype=np.int64)
        if len(present):
            self._index.remove_ids(faiss.IDSelectorArray(present))
            self._ids.difference_update(present.tolist())

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; missing places have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if not self._ids or k <= 0:
            empty = np.full((len(queries), max(k, 0)), -1, dtype=np.int64)
            return np.zeros(empty.shape, dtype=np.float32), empty
        return self._search(queries, min(k, len(self._ids)))

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(queries) > 1:
            return self._index.search(queries, k)
        # One query gains nothing from faiss's OpenMP team, and starting one on cores the
        # embedder has just used costs milliseconds; the thread count is per calling thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self._index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(threads)

    def vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The vectors of those ids that are in the index, as stored (float16 in an IVF index,
        returned as float32)."""
        present, stored = self._stored(ids)
        return dict(zip(present, stored, strict=True))

    def cosines(self, query: np.ndarray, ids: Iterable[int]) -> dict[int, float]:
        """The cosine between one query vector and each of those ids that are in the index."""
        present, stored = self._stored(ids)
        return dict(zip(present, (stored @ query).tolist(), strict=True))

    def _stored(self, ids: Iterable[int]) -> tuple[list[int], np.ndarray]:
        present = [int(i) for i in ids if i in self._ids]
        if not present:
            return [], np.zeros((0, self.dimension), dtype=np.float32)
        return present, self._index.reconstruct_batch(np.array(present, dtype=np.int64))

    def ids(self) -> np.ndarray:
        return np.fromiter(self._ids, dtype=np.int64, count=len(self._ids))

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: Path, manifest: Manifest) -> None:
        """Write the index and then its manifest; older index files are removed after."""
        directory.mkdir(parents=True, exist_ok=True)
        name = f"vectors-{manifest.cursor}-{os.getpid()}.faiss"
        temporary = directory / (name + ".tmp")
        faiss.write_index(self._index, str(temporary))
        os.replace(temporary, directory / name)
        manifest_tmp = directory / (MANIFEST + ".tmp")
        manifest_tmp.write_text(json.dumps(asdict(replace(manifest, file=name)), indent=2))
        os.replace(manifest_tmp, directory / MANIFEST)
        for old in directory.glob("vectors-*.faiss*"):
            if old.name != name:
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, model: str, dimension: int) -> tuple[VectorIndex, Manifest]:
        """The saved index and its manifest; IndexUnusable if absent or made for another model."""
        manifest = read_manifest(directory)
        if manifest is None:
            raise IndexUnusable(f"No readable index manifest in {directory}.")
        if manifest.format != FORMAT:
            raise IndexUnusable(f"The index at {directory} has format {manifest.format}.")
        if (manifest.model, manifest.dimension) != (model, dimension):
            raise IndexUnusable(
                f"The index at {directory} was built with {manifest.model} "
                f"({manifest.dimension} dimensions), not {model} ({dimension})."
            )
        file = directory / manifest.file
        if not file.exists():
            raise IndexUnusable(f"The index file {file} named by the manifest is missing.")
        raw = faiss.read_index(str(file))
        if raw.d != dimension or raw.ntotal != manifest.count:
            raise IndexUnusable(f"The index file {file} does not match its manifest.")
        ids = _stored_ids(raw)
        if isinstance(raw, faiss.IndexIVF):
            raw.nprobe = ivf_probes(raw.nlist)
            return cls(raw, manifest.kind, ids), manifest
        return cls(raw, "flat", ids), manifest


class Builder:
    """Fed (ids, vectors) in chunks, makes the index for about `count` vectors: flat up to
    `exact_limit`, else IVF with float16 vectors, trained on the first TRAIN_PER_LIST vectors
    per list (only those are held until training; every later chunk goes straight into the
    float16 index)."""

    def __init__(self, count: int, dimension: int, exact_limit: int) -> None:
        self.dimension = dimension
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._held = 0
        if count <= exact_limit:
            self._index = VectorIndex.empty(dimension)
            self._lists = 0
        else:
            self._lists = ivf_lists(count)
            quantizer = faiss.IndexFlatIP(dimension)
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer,
                dimension,
                self._lists,
                faiss.ScalarQuantizer.QT_fp16,
                faiss.METRIC_INNER_PRODUCT,
                False,  # encode the vector itself, not its residual: scores within ~1e-4
            )
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            ivf.nprobe = ivf_probes(self._lists)
            self._index = VectorIndex(ivf, IVF_KIND)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if self._lists == 0 or self._index._index.is_trained:
            self._index.add(ids, vectors)
            return
        self._pending.append((np.asarray(ids), np.asarray(vectors, dtype=np.float32)))
        self._held += len(ids)
        if self._held >= self._lists * TRAIN_PER_LIST:
            self._train()

    def finish(self) -> VectorIndex:
        if self._lists and not self._index._index.is_trained:
            if not self._pending:  # fewer entries came than counted: nothing to train on
                return VectorIndex.empty(self.dimension)
            self._train()
        return self._index

    def _train(self) -> None:
        if not self._pending:
            raise ValueError("an IVF index needs at least one vector to train on")
        sample = np.concatenate([v for _, v in self._pending])
        rng = np.random.default_rng(0)
        limit = self._lists * TRAIN_PER_LIST
        if len(sample) > limit:
            sample = sample[rng.choice(len(sample), limit, replace=False)]
        self._index._index.train(sample)
        del sample
        pending, self._pending = self._pending, []
        for ids, vectors in pending:
            self._index.add(ids, vectors)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of the index saved in `directory`, or None if there is none readable."""
    try:
        return Manifest(**json.loads((directory / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _stored_ids(index: faiss.Index) -> np.ndarray:
    if isinstance(index, faiss.IndexIDMap2 | faiss.IndexIDMap):
        return faiss.vector_to_array(index.id_map)
    ivf = faiss.extract_index_ivf(index)
    invlists = ivf.invlists
    chunks = [
        faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
        for i in range(ivf.nlist)
        if invlists.list_size(i)
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
