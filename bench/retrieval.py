"""Retrieval quality on the shared public data: BM25 alone, dense alone, and the hybrid.

    python -m bench.retrieval [--data ../shared/data/retrieval] [--json bench/out/retrieval.json]

StackFAQ: each of 619 paraphrases should find its FAQ among 62 (P@1, MRR@10). SemEval-2016 3B:
rerank 10 forum questions per query (MAP, official convention: PerfectMatch and Relevant count,
a query with no relevant candidate scores 0; the search engine's own order is the baseline).
The figures above use fixed values (in sample). The held-out figures (every value chosen by grouped
cross-validation and across data sets, bench/retrieval_cv.py) and the out-of-fold confidence
(bench/confidence_cv.py) follow them, in the same run; `--quick` skips them.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import load_jsonl, onnx_embedder
from index.embedder import Embedder
from index.entry_index import EntryIndex
from index.search import Fusion, fuse
from knowledge.models import EntryDraft
from knowledge.store import Store

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
Ranker = Callable[[str, np.ndarray], list[tuple[int, float]]]


@dataclass
class Corpus:
    """An in-memory store and index over some entries, with a way to rank them."""

    store: Store
    index: EntryIndex
    fusion: Fusion

    def bm25(self, text: str, _: np.ndarray) -> list[tuple[int, float]]:
        return self.store.lexical.search(text, 1000)

    def dense(self, _: str, vector: np.ndarray) -> list[tuple[int, float]]:
        return self.index.nearest(vector, 1000)

    def hybrid(self, text: str, vector: np.ndarray) -> list[tuple[int, float]]:
        lexical = dict(self.store.lexical.search(text, 1000))
        dense = dict(self.index.nearest(vector, 1000))
        dense.update(self.index.similarity(vector, lexical.keys() - dense.keys()))
        return fuse(dense, lexical, self.fusion)


def build_corpus(
    embedder: Embedder, drafts: list[EntryDraft], fusion: Fusion
) -> tuple[Corpus, list[int]]:
    store = Store.in_memory()
    result = store.upsert_entries(drafts)
    index = EntryIndex(store, embedder)
    index.sync()
    return Corpus(store, index, fusion), result.created


# -- StackFAQ -------------------------------------------------------------------------------


def faq_drafts(faqs: list[dict]) -> list[EntryDraft]:
    return [
        EntryDraft(
            question=f["question"],
            answer="\n\n".join(f["answers"]) or "(no answer)",
            external_id=str(f["faq_id"]),
        )
        for f in faqs
    ]


def stackfaq(embedder: Embedder, data: Path, fusion: Fusion) -> dict:
    faqs = load_jsonl(data / "stackfaq-dev-faqs.jsonl")
    queries = load_jsonl(data / "stackfaq-dev-queries.jsonl")
    corpus, ids = build_corpus(embedder, faq_drafts(faqs), fusion)
    faq_of_entry = {entry_id: f["faq_id"] for entry_id, f in zip(ids, faqs, strict=True)}
    vectors = embedder.embed([q["text"] for q in queries])
    out = {}
    for name, ranker in (("bm25", corpus.bm25), ("dense", corpus.dense), ("hybrid", corpus.hybrid)):
        p1, rr = [], []
        for query, vector in zip(queries, vectors, strict=True):
            ranked = [faq_of_entry[i] for i, _ in ranker(query["text"], vector)[:10]]
            p1.append(float(bool(ranked) and ranked[0] == query["faq_id"]))
            rr.append(
                1.0 / (ranked.index(query["faq_id"]) + 1) if query["faq_id"] in ranked else 0.0
            )
        out[name] = {"p@1": float(np.mean(p1)), "mrr@10": float(np.mean(rr))}
    return out


# -- SemEval --------------------------------------------------------------------------------


def average_precision(relevance: list[bool]) -> float:
    hits, total = 0, 0.0
    for rank, relevant in enumerate(relevance, 1):
        if relevant:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def semeval(embedder: Embedder, data: Path, fusion: Fusion) -> dict:
    dev = load_jsonl(data / "semeval2016-qatarliving-dev.jsonl")
    train = load_jsonl(data / "semeval2016-qatarliving-train.jsonl")
    candidates = {c["id"]: c for q in train + dev for c in q["candidates"]}
    drafts = [
        EntryDraft(question=c["subject"], answer=c["body"] or c["subject"], external_id=cid)
        for cid, c in candidates.items()
    ]
    corpus, ids = build_corpus(embedder, drafts, fusion)
    entry_of = {d.external_id: i for d, i in zip(drafts, ids, strict=True)}
    texts = [f"{q['query_subject']}\n{q['query_body']}" for q in dev]
    vectors = embedder.embed(texts)
    out = {
        "search engine (ir_rank)": float(
            np.mean(
                [
                    average_precision(
                        [c["relevant"] for c in sorted(q["candidates"], key=lambda c: c["ir_rank"])]
                    )
                    for q in dev
                ]
            )
        )
    }
    for name, ranker in (("bm25", corpus.bm25), ("dense", corpus.dense), ("hybrid", corpus.hybrid)):
        aps = []
        for query, text, vector in zip(dev, texts, vectors, strict=True):
            own = {entry_of[c["id"]]: c["relevant"] for c in query["candidates"]}
            scores = dict(ranker(text, vector))
            if name == "dense" or name == "hybrid":
                missing = own.keys() - scores.keys()
                sims = corpus.index.similarity(vector, missing)
                lexical = dict(corpus.store.lexical.search(text, 1000)) if name == "hybrid" else {}
                scores.update(
                    {
                        i: fusion.score(sims[i], lexical.get(i, 0.0))
                        if name == "hybrid"
                        else sims[i]
                        for i in missing
                    }
                )
            order = sorted(own, key=lambda i: (-scores.get(i, -1e9), i))
            aps.append(average_precision([own[i] for i in order]))
        out[name] = float(np.mean(aps))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=Path("bench/out/retrieval.json"))
    parser.add_argument("--weight", type=float, default=Fusion().weight)
    parser.add_argument("--saturation", type=float, default=Fusion().saturation)
    parser.add_argument("--quick", action="store_true", help="Skip the out-of-fold figures.")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = onnx_embedder()
    fusion = Fusion(weight=args.weight, saturation=args.saturation)
    console = Console(width=220)
    faq = stackfaq(embedder, args.data, fusion)
    sem = semeval(embedder, args.data, fusion)
    table = Table(
        title=f"In sample: fixed values (fusion weight {fusion.weight}, saturation "
        f"{fusion.saturation}), chosen on these same data; see the out-of-fold tables"
    )
    for column in ("method", "StackFAQ P@1", "StackFAQ MRR@10", "SemEval MAP"):
        table.add_column(column)
    table.add_row("search engine (ir_rank)", "", "", f"{100 * sem['search engine (ir_rank)']:.2f}")
    for name in ("bm25", "dense", "hybrid"):
        table.add_row(
            name, f"{faq[name]['p@1']:.3f}", f"{faq[name]['mrr@10']:.3f}", f"{100 * sem[name]:.2f}"
        )
    console.print(table)
    report = {"in_sample": {"stackfaq": faq, "semeval_map": sem, "fusion": vars(fusion)}}
    if not args.quick:
        report.update(out_of_fold(embedder, args.data, fusion, console))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


def out_of_fold(embedder: Embedder, data: Path, fusion: Fusion, console: Console) -> dict:
    """Held-out retrieval figures for every method family, and the out-of-fold confidence."""
    from bench.confidence_cv import confidence_cv
    from bench.retrieval_cv import load_faq, load_semeval, retrieval_cv, table

    faq = load_faq(embedder, data)
    held_out = retrieval_cv(faq, load_semeval(embedder, data))
    for rule in ("joint", "within", "cross"):
        console.print(table(held_out, rule))
    confidence = confidence_cv(faq, fusion)
    console.print_json(data=confidence)
    return {"out_of_fold": held_out, "confidence_out_of_fold": confidence}


if __name__ == "__main__":
    main()
