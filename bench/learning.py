"""Learning from verdicts, out of fold: how P@1 and the tiers move as people mark answers.

    python -m bench.learning [--data DIR] [--seeds 3] [--engine tantivy|fts5]
                             [--json bench/out/learning.json]

On the shared StackFAQ half, through the real store, index and search (knowledge/phrasings.py,
index/search.py): for m = 0, 1, 3, 5 paraphrases per FAQ, people ask those paraphrases one after
another and give a verdict, as on the card:

- the top hit is the FAQ's entry: "solved" on it;
- it is not: "not helpful" on the top hit, then "solved" on the right entry (found among the
  suggestions or through an expert);
- with probability `wrong` (0 or 10%) the verdict is wrong instead: "solved" on the best
  *other* entry shown.

A tenth of the FAQs are left out of the index: their paraphrases get "not helpful" on the top hit
(or, wrongly, "solved"), and their remaining paraphrases measure confident answers to questions
whose answer is absent. Each verdict is a different person.

Every remaining paraphrase is then scored. The phrasing weights (index.search.Learning: caution,
push) are chosen by cross-validation holding out whole FAQs: chosen on the queries of four fifths
of the FAQs, scored on the rest, for each fold; only held-out figures are reported. The "answer"
tier of a held-out fold's queries comes from a calibration and threshold fitted on the other
FAQs only (bench.confidence_cv's procedure and rows; `refit_tiers`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import load_jsonl, onnx_embedder
from bench.confidence_cv import Rows, fit_with_thresholds, make_rows
from bench.embedding_cache import CachedEmbedder
from bench.retrieval_cv import FaqSet, load_faq, paired_interval
from index.confidence import Calibration, Evidence
from index.entry_index import EntryIndex
from index.lexical_index import LexicalIndex
from index.search import (
    Fusion,
    Gathered,
    Hit,
    HybridSearch,
    Learning,
    Tier,
    evidence_of,
    fuse,
    learned_cosines,
)
from knowledge.models import EntryDraft
from knowledge.phrasings import PhrasingSource
from knowledge.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
OUT = Path(__file__).resolve().parent / "out"
VERDICTS = (0, 1, 3, 5)
WRONG = (0.0, 0.1)
ABSENT_SHARE = 0.1
FOLDS = 5
GRID = tuple(
    Learning(caution=c, push=p)
    for c, p in itertools.product((0.0, 0.5, 1.0, 2.0, 4.0, 8.0), (0.0, 0.3, 0.6))
)


@dataclass(frozen=True)
class Scored:
    """One scoring query's outcome under one Learning."""

    faq: int  # the FAQ it paraphrases (its CV group)
    absent: bool  # its FAQ is not in the index
    p1: float
    rr: float
    answered: bool  # tier "answer" (the shipped calibration; see `refit_tiers`)
    right: bool  # the top hit is its FAQ
    features: tuple[float, ...] = ()  # the top hit's confidence evidence (index.confidence)
    text: str = ""  # the paraphrase (pairs a cell's rows with the no-feedback cell's)


def scenario(embedder: CachedEmbedder, faqs: list[dict], queries: list[dict], m: int,
             wrong: float, seed: int, engine: str = "tantivy") -> dict[Learning, list[Scored]]:
    rng = random.Random(seed)
    ids = [f["faq_id"] for f in faqs]
    absent = set(rng.sample(ids, max(1, round(ABSENT_SHARE * len(ids)))))
    by_faq: dict[int, list[str]] = {}
    for q in queries:
        by_faq.setdefault(q["faq_id"], []).append(q["text"])
    teach: list[tuple[int, str]] = []
    score: list[tuple[int, str]] = []
    for faq, texts in by_faq.items():
        texts = texts[:]
        rng.shuffle(texts)
        cut = min(m, len(texts) - 1)
        teach += [(faq, t) for t in texts[:cut]]
        score += [(faq, t) for t in texts[cut:]]
    rng.shuffle(teach)

    store = Store.in_memory()
    created = store.upsert_entries([
        EntryDraft(f["question"], "\n\n".join(f["answers"]) or "(no answer)",
                   external_id=str(f["faq_id"]))
        for f in faqs if f["faq_id"] not in absent
    ]).created
    entry_of = dict(zip([f["faq_id"] for f in faqs if f["faq_id"] not in absent], created,
                        strict=True))
    folder = Path(tempfile.mkdtemp())
    lexical = (LexicalIndex.open(store, folder, store.phrasings.texts_by_entry)
               if engine == "tantivy" else None)
    search = HybridSearch(store, EntryIndex(store, embedder), embedder, lexical=lexical)
    vectors = dict(zip([t for _, t in teach + score],
                       embedder.embed([t for _, t in teach + score]), strict=True))

    for person, (faq, text) in enumerate(teach):
        search.entries.sync()
        hits = search.rank(text, vectors[text], 5)
        user = f"U{person:05d}"
        right = entry_of.get(faq)
        top = hits[0].entry.id if hits else None
        if rng.random() < wrong:  # a wrong "solved": the best other entry shown
            others = [h.entry.id for h in hits if h.entry.id != right]
            if others:
                store.phrasings.learn(others[0], text, user, PhrasingSource.SOLVED)
            continue
        if top is not None and top != right:
            store.phrasings.learn(top, text, user, PhrasingSource.NOT_HELPFUL)
        if right is not None:
            store.phrasings.learn(right, text, user, PhrasingSource.SOLVED)

    search.entries.sync()
    gathered = [search.gather(text, vectors[text], search.candidates) for _, text in score]
    out: dict[Learning, list[Scored]] = {}
    for learning in GRID if m else (Learning(),):
        search.learning = learning
        rows = []
        for (faq, text), evidence in zip(score, gathered, strict=True):
            hits = search.score(evidence, 10)
            ranked = [h.entry.id for h in hits]
            right = entry_of.get(faq)
            rank = ranked.index(right) + 1 if right in ranked else None
            top = hits[0] if hits else None
            rows.append(Scored(
                faq, faq in absent, float(rank == 1), 1.0 / rank if rank else 0.0,
                top is not None and top.tier is Tier.ANSWER,
                top is not None and top.entry.id == right,
                top_evidence(search, evidence, top) if top is not None else (),
                text,
            ))
        out[learning] = rows
    if lexical is not None:
        lexical.close()
    shutil.rmtree(folder, ignore_errors=True)
    store.close()
    return out


def top_evidence(search: HybridSearch, gathered: Gathered, top: Hit) -> tuple[float, ...]:
    """The evidence HybridSearch.score turned into the top hit's confidence, as numbers."""
    dense = learned_cosines(gathered, search.learning)
    ranked = fuse(dense, gathered.lexical, search.fusion)
    of = evidence_of(ranked, dense, gathered.lexical, search.fusion)
    entry = top.entry.id
    alone = gathered.question.get(entry)
    if alone is None:
        alone = search.entries.question_similarity(gathered.vector, [entry]).get(
            entry, gathered.dense.get(entry, 0.0))
    return of(entry, top.score, alone).vector()


def refit_tiers(rows: list[Scored], held_out: set[int], faq: FaqSet, seed: int,
                engine: str) -> list[Scored]:
    """`rows` (of the FAQs in `held_out`) with "answer" decided by a calibration and threshold
    fitted, by bench.confidence_cv's own procedure, on the other FAQs only: out of fold."""
    calibration, answer, _ = _calibration(faq, seed, engine, frozenset(held_out))
    return [replace(r, answered=bool(r.features) and calibration.confidence(
        Evidence(*r.features)) >= answer) for r in rows]


_ROWS: dict[tuple[int, str], tuple[Rows, np.ndarray]] = {}


def _calibration(faq: FaqSet, seed: int, engine: str,
                 held_out: frozenset[int]) -> tuple[Calibration, float, float]:
    if (seed, engine) not in _ROWS:
        rows = make_rows(faq, Fusion(), seed, engine)
        owner = np.array([int(faq.drafts[c].external_id)
                          for c in np.concatenate([faq.gold, faq.gold])])
        _ROWS[(seed, engine)] = rows, owner
    rows, owner = _ROWS[(seed, engine)]
    return fit_with_thresholds(rows, ~np.isin(owner, list(held_out)))


def figures(rows: list[Scored]) -> dict:
    present = [r for r in rows if not r.absent]
    absent = [r for r in rows if r.absent]
    answered = [r for r in present if r.answered]
    return {
        "p_at_1": float(np.mean([r.p1 for r in present])),
        "mrr_at_10": float(np.mean([r.rr for r in present])),
        "answer_precision": float(np.mean([r.right for r in answered])) if answered else 0.0,
        "answer_coverage": len(answered) / len(present),
        "absent_confident": float(np.mean([r.answered for r in absent])) if absent else 0.0,
        "queries": len(present),
    }


Cell = tuple[int, float]  # (verdicts per FAQ, share of wrong verdicts)
NONE: Cell = (0, 0.0)


def pairs_against_none(kept: dict[Cell, list[Scored]], cell: Cell
                       ) -> list[tuple[int, float, float]]:
    """A cell's scored paraphrases (their FAQ indexed) with their P@1 under no feedback (the
    same seed scores a superset of them: the first m paraphrases of each FAQ taught)."""
    before = {(r.faq, r.text): r.p1 for r in kept[NONE] if not r.absent}
    return [(r.faq, r.p1, before[(r.faq, r.text)]) for r in kept[cell] if not r.absent]


def out_of_fold(results: dict[Cell, dict[Learning, list[Scored]]], seed: int,
                tiers: Callable[[list[Scored], set[int]], list[Scored]] | None = None
                ) -> tuple[dict[Cell, list[Scored]], list[Learning]]:
    """One Learning for all cells (an organisation does not know its share of wrong verdicts),
    chosen on four fifths of the FAQs by the mean over the cells, scored on the rest; per fold.
    `tiers` re-decides the held-out rows' "answer" tier from a calibration fitted without their
    FAQs (refit_tiers)."""
    first = next(iter(next(iter(results.values())).values()))
    faqs = sorted({r.faq for r in first})
    random.Random(seed).shuffle(faqs)
    fold_of = {faq: i % FOLDS for i, faq in enumerate(faqs)}
    learned = {cell: by for cell, by in results.items() if cell[0] > 0}
    kept: dict[Cell, list[Scored]] = {cell: [] for cell in results}
    chosen = []
    for fold in range(FOLDS):
        def train_score(learning: Learning, fold: int = fold) -> tuple[float, float, float]:
            per_cell = [figures([r for r in by[learning] if fold_of[r.faq] != fold])
                        for by in learned.values()]

            def mean(key: str) -> float:
                return float(np.mean([f[key] for f in per_cell]))

            return mean("p_at_1"), mean("mrr_at_10"), -mean("absent_confident")

        best = max(GRID, key=train_score)
        chosen.append(best)
        held = {faq for faq, f in fold_of.items() if f == fold}
        for cell, by in results.items():
            rows = by.get(best, next(iter(by.values())))  # no verdicts: nothing to choose
            rows = [r for r in rows if fold_of[r.faq] == fold]
            kept[cell] += tiers(rows, held) if tiers else rows
    return kept, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=OUT / "learning.json")
    parser.add_argument("--engine", choices=("tantivy", "fts5"), default="tantivy",
                        help="the lexical engine (tantivy: as the bot searches)")
    args = parser.parse_args()
    console = Console()
    faqs = load_jsonl(args.data / "stackfaq-dev-faqs.jsonl")
    queries = load_jsonl(args.data / "stackfaq-dev-queries.jsonl")
    embedder = CachedEmbedder(onnx_embedder(), OUT / "cache" / "learning.npz")
    faq_set = load_faq(embedder, args.data, args.engine)  # the calibration's own rows
    started = time.perf_counter()
    report: dict = {"command": f"python -m bench.learning --seeds {args.seeds} --engine "
                    f"{args.engine}", "engine": args.engine, "seeds": args.seeds, "cells": [],
                    "grid": [asdict(g) for g in GRID]}
    table = Table(title="Learning from verdicts (StackFAQ shared half, out of fold)")
    for name in ("verdicts/FAQ", "wrong", "P@1", "MRR@10", "answer prec.", "coverage",
                 "absent confident", "P@1 vs none, same paraphrases"):
        table.add_column(name, justify="right")
    cells = [(m, w) for m, w in itertools.product(VERDICTS, WRONG) if m or not w]
    per_seed: dict[Cell, list[dict]] = {cell: [] for cell in cells}
    paired: dict[Cell, list[tuple[int, float, float]]] = {cell: [] for cell in cells}
    choices: list[tuple[float, float]] = []
    for seed in range(7, 7 + args.seeds):
        results = {cell: scenario(embedder, faqs, queries, *cell, seed, args.engine)
                   for cell in cells}
        kept, chosen = out_of_fold(
            results, seed, lambda rows, held, seed=seed: refit_tiers(rows, held, faq_set, seed,
                                                                    args.engine))
        for cell in cells:
            per_seed[cell].append(figures(kept[cell]))
            # a FAQ of another seed is another group: its paraphrases were split differently
            paired[cell] += [(seed * 100_000 + faq, a, b)
                             for faq, a, b in pairs_against_none(kept, cell)]
        choices += [(c.caution, c.push) for c in chosen]
        console.print(f"seed {seed}: chosen {[(c.caution, c.push) for c in chosen]}")
    common = max(set(choices), key=choices.count)
    report["chosen"] = {"most_often": common, "all": choices}
    for m, wrong in cells:
        mean = {k: float(np.mean([f[k] for f in per_seed[(m, wrong)]]))
                for k in per_seed[(m, wrong)][0]}
        pairs = np.array(paired[(m, wrong)], dtype=float)  # FAQ group, P@1 with, without
        gain = paired_interval(pairs[:, 1], pairs[:, 2], pairs[:, 0])
        report["cells"].append({"verdicts_per_faq": m, "wrong": wrong, **mean,
                                "p_at_1_vs_none_same_paraphrases": gain,
                                "per_seed": per_seed[(m, wrong)]})
        table.add_row(str(m), f"{wrong:.0%}", f"{mean['p_at_1']:.3f}", f"{mean['mrr_at_10']:.3f}",
                      f"{mean['answer_precision']:.3f}", f"{mean['answer_coverage']:.3f}",
                      f"{mean['absent_confident']:.1%}",
                      f"{gain[0]:+.3f} [{gain[1]:+.3f}, {gain[2]:+.3f}]" if m else "")
    console.print(f"Learning chosen most often: caution, push = {common} "
                  f"({choices.count(common)}/{len(choices)} folds)")
    embedder.save()
    report["seconds"] = round(time.perf_counter() - started, 1)
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
