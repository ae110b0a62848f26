from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.vectors import Manifest, VectorIndex
from knowledge.errors import IndexUnusable


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors in clusters, like real sentence embeddings (random ones defeat IVF)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 50, 2), dim))
    points = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.normal(size=(n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def brute_force(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    order = np.lexsort((ids, -scores))[:k]
    return ids[order].tolist()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 200), k=st.integers(1, 15), seed=st.integers(0, 10_000))
def test_exact_index_matches_brute_force(n: int, k: int, seed: int) -> None:
    vectors = clustered(n, seed=seed)
    ids = np.arange(1, n + 1) * 3
    index = VectorIndex.build(ids, vectors)
    query = clustered(1, seed=seed + 1)[0]
    _, found = index.search(query[None, :], k)
    expected = brute_force(ids, vectors, query, k)
    got = [i for i in found[0].tolist() if i >= 0]
    # Equal scores may tie in any order: compare by score, not id.
    assert np.allclose(
        sorted(vectors[np.isin(ids, got)] @ query),
        sorted(vectors[np.isin(ids, expected)] @ query),
        atol=1e-5,
    )


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_add_replace_remove(exact_limit: int) -> None:
    vectors = clustered(500)
    ids = np.arange(1, 501)
    index = VectorIndex.build(ids, vectors, exact_limit=exact_limit)
    assert index.kind == ("flat" if exact_limit > 500 else "ivf-fp16")
    index.remove([1, 2, 999])
    assert len(index) == 498 and 1 not in index
    index.add(np.array([3]), vectors[400:401])  # entry 3 now has entry 401's vector
    _, found = index.search(vectors[400:401], 2)
    assert set(found[0].tolist()) == {3, 401}
    assert len(index) == 498
    # IVF keeps float16: each dimension within half a float16 step of float32's.
    tolerance = 0 if index.kind == "flat" else 2.0**-11
    assert np.allclose(index.vectors([3])[3], vectors[400], atol=tolerance)
    with pytest.raises(ValueError):
        index.add(np.array([7, 7]), vectors[:2])


def test_ivf_recall_against_exact() -> None:
    vectors = clustered(5000, dim=64)
    ids = np.arange(5000)
    exact, ivf = VectorIndex.build(ids, vectors), VectorIndex.build(ids, vectors, exact_limit=1000)
    queries = clustered(100, dim=64, seed=9)
    _, truth = exact.search(queries, 10)
    _, approx = ivf.search(queries, 10)
    recall = np.mean([len(set(t) & set(a)) / 10 for t, a in zip(truth, approx, strict=True)])
    assert recall >= 0.95


def test_float16_ivf_scores_are_float32_cosines_to_within_rounding() -> None:
    vectors = clustered(5000, dim=64)
    ids = np.arange(5000) + 10
    ivf = VectorIndex.build(ids, vectors, exact_limit=1000)
    assert ivf.kind == "ivf-fp16"
    queries = clustered(100, dim=64, seed=9)
    scores, found = ivf.search(queries, 10)
    for row, query in enumerate(queries):
        exact = vectors[found[row] - 10] @ query
        assert np.abs(scores[row] - exact).max() < 2e-4
        assert list(scores[row]) == sorted(scores[row], reverse=True)
        # what float16 rounding could swap is only what float32 scores nearly tie on
        swapped = np.diff(exact) > 0
        assert np.all(np.diff(exact)[swapped] < 4e-4)
    truth = [brute_force(ids, vectors, q, 10) for q in queries]
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95
    stored = ivf.vectors([*ids[:50].tolist(), 99_999])
    assert sorted(stored) == ids[:50].tolist()
    assert all(v.dtype == np.float32 for v in stored.values())
    assert np.abs(np.stack([stored[i] for i in ids[:50]]) - vectors[:50]).max() <= 2.0**-11


def test_streaming_builder_matches_one_build() -> None:
    vectors = clustered(3000, dim=32)
    ids = np.arange(3000)
    builder = VectorIndex.builder(3000, 32, exact_limit=500)
    for start in range(0, 3000, 256):
        builder.add(ids[start : start + 256], vectors[start : start + 256])
    streamed = builder.finish()
    whole = VectorIndex.build(ids, vectors, exact_limit=500)
    assert streamed.kind == whole.kind == "ivf-fp16" and len(streamed) == len(whole) == 3000
    _, a = streamed.search(vectors[:50], 5)
    _, b = whole.search(vectors[:50], 5)
    assert np.mean([len(set(x) & set(y)) / 5 for x, y in zip(a, b, strict=True)]) >= 0.9
    few = VectorIndex.builder(3000, 32, exact_limit=500)  # fewer vectors came than counted
    few.add(ids[:100], vectors[:100])
    assert len(few.finish()) == 100
    assert len(VectorIndex.builder(3000, 32, exact_limit=500).finish()) == 0


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_save_and_load(tmp_path: Path, exact_limit: int) -> None:
    vectors = clustered(300)
    index = VectorIndex.build(np.arange(300), vectors, exact_limit=exact_limit)
    manifest = Manifest("m", 32, len(index), index.kind, cursor=5, database_id="db", file="")
    index.save(tmp_path, manifest)
    index.save(tmp_path, manifest)  # saving again leaves one file
    assert len(list(tmp_path.glob("*.faiss"))) == 1
    loaded, saved = VectorIndex.load(tmp_path, "m", 32)
    assert saved.cursor == 5 and saved.count == 300 and loaded.kind == index.kind
    assert sorted(loaded.ids().tolist()) == list(range(300))
    assert loaded.search(vectors[:3], 1)[1][:, 0].tolist() == [0, 1, 2]


def test_load_refuses_another_model_or_a_missing_file(tmp_path: Path) -> None:
    index = VectorIndex.build(np.arange(10), clustered(10))
    index.save(tmp_path, Manifest("m", 32, 10, "flat", 1, "db", ""))
    with pytest.raises(IndexUnusable, match="built with m"):
        VectorIndex.load(tmp_path, "other-model", 32)
    with pytest.raises(IndexUnusable, match="32 dimensions"):
        VectorIndex.load(tmp_path, "m", 384)
    for file in tmp_path.glob("*.faiss"):
        file.unlink()
    with pytest.raises(IndexUnusable, match="missing"):
        VectorIndex.load(tmp_path, "m", 32)
    with pytest.raises(IndexUnusable, match="No readable"):
        VectorIndex.load(tmp_path / "nowhere", "m", 32)


def test_an_index_saved_in_the_8_bit_format_is_refused(tmp_path: Path) -> None:
    index = VectorIndex.build(np.arange(300), clustered(300), exact_limit=100)
    index.save(tmp_path, Manifest("m", 32, 300, index.kind, 1, "db", ""))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": 3', '"format": 2'))
    with pytest.raises(IndexUnusable, match="format 2"):  # EntryIndex.open then rebuilds it
        VectorIndex.load(tmp_path, "m", 32)
