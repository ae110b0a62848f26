"""Retrieval quality with each lexical engine, in the same run: today's FTS5 path and tantivy.

    HF_HUB_OFFLINE=1 python -m bench.lexical_quality [--data DIR]
                                                     [--json bench/out/lexical_quality.json]

The fusion saturation (8) and the confidence calibration were fitted on FTS5's BM25 scale, and
tantivy scores per field (each with its own length normalisation) and with a different IDF, so
its scores run on a somewhat larger scale. This runs the out-of-fold evaluations of
bench.retrieval_cv and bench.confidence_cv once per engine (the BM25 matrices come from the
engine; everything else is identical), and the shipped values as they are:

- `shipped fusion`: hybrid (question+answer), weight 0.5, saturation 8, in sample;
- `out of fold`: the hybrid family's values chosen on held-out folds, and what was chosen;
- the paired difference tantivy - FTS5 under the shipped fusion, with a 95% bootstrap interval
  over whole FAQs / original questions;
- `shipped confidence`: index/confidence.DEFAULT with its thresholds on the confidence rows
  (every FAQ held out of the index in turn), against refitting it out of fold.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import bench.retrieval_cv as retrieval_cv
from bench.common import onnx_embedder
from bench.confidence_cv import COLUMNS, confidence_cv, make_rows, tier_figures
from bench.retrieval import DEFAULT_DATA
from index.confidence import ANSWER_AT, DEFAULT, FEATURES, SUGGEST_AT, Evidence
from index.search import Fusion
from knowledge.models import EntryDraft

HYBRID = "hybrid (question+answer)"
Matrix = Callable[[list[EntryDraft], list[str], np.ndarray], np.ndarray]


tantivy_matrix: Matrix = functools.partial(retrieval_cv.bm25_matrix, engine="tantivy")


ENGINES: dict[str, Matrix] = {"fts5": retrieval_cv.bm25_matrix, "tantivy": tantivy_matrix}


@contextmanager
def engine(matrix: Matrix) -> Iterator[None]:
    """The retrieval and confidence benches' BM25 comes from `matrix` meanwhile."""
    original = retrieval_cv.bm25_matrix
    retrieval_cv.bm25_matrix = matrix
    try:
        yield
    finally:
        retrieval_cv.bm25_matrix = original


def shipped_confidence(rows: list) -> dict:
    """DEFAULT calibration and thresholds, unchanged, on each seed's rows; means over seeds."""
    figures = []
    for r in rows:
        x = r.features[:, [COLUMNS.index(f) for f in FEATURES]]
        confidence = np.array([DEFAULT.confidence(Evidence(*v)) for v in x])
        n = len(confidence)
        figures.append(tier_figures(confidence, np.full(n, ANSWER_AT), np.full(n, SUGGEST_AT), r))
    return {k: float(np.mean([f[k] for f in figures])) for k in figures[0]}


def measure(embedder, data: Path) -> dict:
    faq = retrieval_cv.load_faq(embedder, data)
    sem = retrieval_cv.load_semeval(embedder, data)
    fusion = Fusion()
    fixed = faq.evidence.cosine["question+answer"] + fusion.weight * retrieval_cv.bonus(
        faq.evidence.bm25, fusion.saturation
    )
    fixed_sem = sem.evidence.cosine["question+answer"] + fusion.weight * retrieval_cv.bonus(
        sem.evidence.bm25, fusion.saturation
    )
    per_faq, per_sem = faq.per_query(fixed), sem.per_query(fixed_sem)
    held_out = retrieval_cv.retrieval_cv(faq, sem)
    bm25_alone = faq.per_query(faq.evidence.bm25), sem.per_query(sem.evidence.bm25)
    confidence = confidence_cv(faq, fusion)
    rows = [make_rows(faq, fusion, seed) for seed in retrieval_cv.SEEDS]
    return {
        "per_query": {"faq": per_faq, "sem": per_sem, "faq_groups": faq.evidence.groups,
                      "sem_groups": sem.evidence.groups},
        "bm25_alone": {
            "faq_p@1": float(bm25_alone[0][:, 1].mean()),
            "faq_mrr@10": float(bm25_alone[0][:, 0].mean()),
            "semeval_map": float(100 * bm25_alone[1][:, 0].mean()),
        },
        "shipped_fusion": {
            "faq_p@1": float(per_faq[:, 1].mean()),
            "faq_mrr@10": float(per_faq[:, 0].mean()),
            "semeval_map": float(100 * per_sem[:, 0].mean()),
        },
        "out_of_fold_hybrid": held_out[HYBRID],
        "out_of_fold_selected": held_out["selected"],
        "shipped_confidence": shipped_confidence(rows),
        "confidence_refit_out_of_fold": confidence["confidence (shipped features)"],
        "bm25_scale": {
            "faq_top_score_p50": float(np.median(faq.evidence.bm25.max(axis=1))),
            "faq_top_score_p90": float(np.percentile(faq.evidence.bm25.max(axis=1), 90)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=Path("bench/out/lexical_quality.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = onnx_embedder()
    report = {}
    for name, matrix in ENGINES.items():
        with engine(matrix):
            report[name] = measure(embedder, args.data)
    base, ours = (report[name].pop("per_query") for name in ENGINES)
    report["tantivy_minus_fts5_shipped_fusion_95ci"] = {
        "faq_p@1": retrieval_cv.paired_interval(
            ours["faq"][:, 1], base["faq"][:, 1], base["faq_groups"]),
        "faq_mrr@10": retrieval_cv.paired_interval(
            ours["faq"][:, 0], base["faq"][:, 0], base["faq_groups"]),
        "semeval_map": tuple(100 * x for x in retrieval_cv.paired_interval(
            ours["sem"][:, 0], base["sem"][:, 0], base["sem_groups"])),
    }
    print(json.dumps(report, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
