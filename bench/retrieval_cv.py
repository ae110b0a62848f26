"""Out-of-fold retrieval quality: every tuned value is chosen on data it is then not scored on.

    python -m bench.retrieval_cv [--data DIR] [--json bench/out/retrieval_cv.json]

Methods are families with free values (fusion weight and saturation; which entry vector is
compared with the query). A family's values, and the choice between families ("selected"), are
picked by grouped k-fold cross-validation that holds out whole FAQs (StackFAQ) and whole original
questions (SemEval), repeated over several fold seeds, and by choosing on one data set and
scoring on the other. Only held-out figures are reported.

Entry vectors tried: `question` (the question alone), `question+answer` (the question and the
opening of the answer, what the index embeds), `max` (the better of the two cosines), and
families that weigh the two cosines with a free value (issue 9, `TWO_VECTORS`): a partial max
(`cos_qa + b * max(0, cos_q - cos_qa)`), a blend (`(1 - a) * cos_qa + a * cos_q`) and a gate (the
max only where `cos_q >= t`, a likely paraphrase). Each is tried alone and with the BM25 bonus,
with the fusion values free or fixed at the shipped ones (0.5, 8). And `question alone or
hybrid`: `max(cos_q, cos_qa + weight * bonus)`, a paraphrase of the question or the hybrid
evidence of the whole entry, whichever is stronger.

Intervals: paired 95% bootstrap over whole FAQs / original questions of each method's held-out
figures (joint rule) minus those of plain dense (question only), and minus those of the shipped
kind of hybrid (question + answer vector and BM25, its values chosen the same way).

    python -m bench.retrieval_cv [--engine fts5|tantivy] [--json PATH]

runs this alone (no in-sample figures, no confidence); `python -m bench.retrieval` runs it too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import load_jsonl
from index.embedder import Embedder
from index.entry_index import embedding_text
from index.lexical_index import LexicalIndex
from knowledge.lexical import LexicalSearch
from knowledge.models import EntryDraft
from knowledge.store import Store

REPRESENTATIONS = ("question", "question+answer", "max")
WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
SATURATIONS = (2.0, 4.0, 8.0, 16.0, 32.0)
FOLDS = 5
SEEDS = (7, 11, 13, 17, 19)


@dataclass(frozen=True)
class Evidence:
    """For every query, its cosine to every entry (per entry vector) and its BM25 score."""

    cosine: dict[str, np.ndarray]  # representation -> (queries, entries)
    bm25: np.ndarray  # (queries, entries), 0 where the entry shares no word with the query
    groups: np.ndarray  # (queries,) the group a query is held out with (FAQ / original question)


def entry_vectors(embedder: Embedder, drafts: list[EntryDraft]) -> dict[str, np.ndarray]:
    question = embedder.embed([d.question for d in drafts])
    both = embedder.embed([embedding_text(d.question, d.answer) for d in drafts])
    return {"question": question, "question+answer": both}


def bm25_matrix(drafts: list[EntryDraft], texts: list[str], keep: np.ndarray,
                engine: str = "fts5", weights: tuple | None = None) -> np.ndarray:
    """BM25 of each text against the entries in `keep` (a store holding only those), from
    SQLite FTS5 (`fts5`, with other column `weights` if given) or a tantivy index of them
    (`tantivy`, index/lexical_index.py)."""
    store = Store.in_memory()
    kept = [d for d, k in zip(drafts, keep, strict=True) if k]
    created = store.upsert_entries(kept).created
    column = dict(zip(created, np.flatnonzero(keep), strict=True))
    out = np.zeros((len(texts), len(drafts)))
    with tempfile.TemporaryDirectory() as folder:
        index = LexicalIndex.open(store, Path(folder)) if engine == "tantivy" else None
        lexical = index if index is not None else store.lexical
        if weights is not None and index is None:
            lexical = LexicalSearch(store, weights)
        for row, text in enumerate(texts):
            for entry_id, score in lexical.search(text, len(drafts)):
                out[row, column[entry_id]] = score
        if index is not None:
            index.close()
    store.close()
    return out


def cosines(queries: np.ndarray, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {name: queries @ matrix.T for name, matrix in vectors.items()}
    out["max"] = np.maximum(out["question"], out["question+answer"])
    return out


# -- the two data sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqSet:
    """StackFAQ: each paraphrase should rank its own FAQ first among all of them."""

    evidence: Evidence
    gold: np.ndarray  # (queries,) column of the right FAQ
    drafts: list[EntryDraft]
    texts: list[str]

    def per_query(self, scores: np.ndarray) -> np.ndarray:
        """Reciprocal rank (cut at 10) and P@1 per query, as a (queries, 2) array."""
        own = scores[np.arange(len(self.gold)), self.gold]
        ahead = (scores > own[:, None]).sum(axis=1)
        ties = (scores == own[:, None]).sum(axis=1) - 1  # ties count against (a fair order)
        rank = ahead + ties + 1
        rr = np.where(rank <= 10, 1.0 / rank, 0.0)
        return np.stack([rr, (rank == 1).astype(float)], axis=1)


def load_faq(embedder: Embedder, data: Path, engine: str = "fts5",
             weights: tuple | None = None) -> FaqSet:
    faqs = load_jsonl(data / "stackfaq-dev-faqs.jsonl")
    queries = load_jsonl(data / "stackfaq-dev-queries.jsonl")
    drafts = [
        EntryDraft(f["question"], "\n\n".join(f["answers"]) or "(no answer)",
                   external_id=str(f["faq_id"]))
        for f in faqs
    ]
    column = {f["faq_id"]: i for i, f in enumerate(faqs)}
    texts = [q["text"] for q in queries]
    gold = np.array([column[q["faq_id"]] for q in queries])
    evidence = Evidence(
        cosines(embedder.embed(texts), entry_vectors(embedder, drafts)),
        bm25_matrix(drafts, texts, np.ones(len(drafts), dtype=bool), engine, weights),
        gold.copy(),
    )
    return FaqSet(evidence, gold, drafts, texts)


@dataclass(frozen=True)
class SemEvalSet:
    """SemEval-2016 3B: rerank each original question's 10 labelled forum questions (MAP)."""

    evidence: Evidence  # columns: the query's own 10 candidates, in the given order
    relevant: np.ndarray  # (queries, 10) bool
    is_dev: np.ndarray  # (queries,) bool: from the official dev set (the rest: train)

    def per_query(self, scores: np.ndarray) -> np.ndarray:
        """Average precision per query, as a (queries, 1) array (0 with nothing relevant)."""
        order = np.lexsort((np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), -scores))
        rel = np.take_along_axis(self.relevant, order, axis=1).astype(float)
        hits = np.cumsum(rel, axis=1)
        precision = hits / np.arange(1, rel.shape[1] + 1)
        total = rel.sum(axis=1)
        ap = np.divide((precision * rel).sum(axis=1), total, out=np.zeros(len(rel)),
                       where=total > 0)
        return ap[:, None]


def load_semeval(embedder: Embedder, data: Path, engine: str = "fts5",
                 weights: tuple | None = None) -> SemEvalSet:
    dev = load_jsonl(data / "semeval2016-qatarliving-dev.jsonl")
    train = load_jsonl(data / "semeval2016-qatarliving-train.jsonl")
    queries = dev + train
    candidates = {c["id"]: c for q in queries for c in q["candidates"]}
    ids = list(candidates)
    drafts = [
        EntryDraft(candidates[c]["subject"], candidates[c]["body"] or candidates[c]["subject"],
                   external_id=c)
        for c in ids
    ]
    column = {c: i for i, c in enumerate(ids)}
    texts = [f"{q['query_subject']}\n{q['query_body']}" for q in queries]
    own = np.array([[column[c["id"]] for c in q["candidates"]] for q in queries])
    rows = np.arange(len(queries))[:, None]
    full_cos = cosines(embedder.embed(texts), entry_vectors(embedder, drafts))
    full_bm25 = bm25_matrix(drafts, texts, np.ones(len(drafts), dtype=bool), engine, weights)
    evidence = Evidence(
        {name: matrix[rows, own] for name, matrix in full_cos.items()},
        full_bm25[rows, own],
        np.arange(len(queries)),
    )
    relevant = np.array([[c["relevant"] for c in q["candidates"]] for q in queries])
    return SemEvalSet(evidence, relevant, np.arange(len(queries)) < len(dev))


# -- method families ----------------------------------------------------------------------------

Scorer = Callable[[Evidence], np.ndarray]


def bonus(bm25: np.ndarray, saturation: float) -> np.ndarray:
    return bm25 / (bm25 + saturation)


def hybrid(rep: str, weight: float, saturation: float) -> Scorer:
    return lambda ev: ev.cosine[rep] + weight * bonus(ev.bm25, saturation)


def adaptive(rep: str, agree: float, disagree: float, saturation: float) -> Scorer:
    """The lexical weight depends on whether dense and BM25 put the same entry first."""

    def score(ev: Evidence) -> np.ndarray:
        cos = ev.cosine[rep]
        same = cos.argmax(axis=1) == ev.bm25.argmax(axis=1)
        weight = np.where(same, agree, disagree)[:, None]
        return cos + weight * bonus(ev.bm25, saturation)

    return score


# Two entry vectors, one dense score: (formula's name) -> the values its free parameter takes.
TWO_VECTORS = {
    "partial max": (0.25, 0.5, 0.75, 1.0),  # b; 1 is `max`
    "blend": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8),  # a; 0 is question+answer, 1 question alone
    "gate": (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95),  # t
}
SHIPPED_FUSION = (0.5, 8.0)


def two_vectors(formula: str, value: float) -> Callable[[Evidence], np.ndarray]:
    """The dense score from both entry vectors' cosines (see the module docstring)."""

    def dense(ev: Evidence) -> np.ndarray:
        both, alone = ev.cosine["question+answer"], ev.cosine["question"]
        if formula == "partial max":
            return both + value * np.maximum(0.0, alone - both)
        if formula == "blend":
            return (1 - value) * both + value * alone
        if formula == "gate":
            return np.where(alone >= value, np.maximum(alone, both), both)
        raise ValueError(f"unknown two-vector formula: {formula}")

    return dense


def with_bonus(dense: Callable[[Evidence], np.ndarray], weight: float,
               saturation: float) -> Scorer:
    return lambda ev: dense(ev) + weight * bonus(ev.bm25, saturation)


def families() -> dict[str, dict[tuple, Scorer]]:
    """Every family of methods, each a grid of (values -> scorer)."""
    out: dict[str, dict[tuple, Scorer]] = {"bm25": {(): lambda ev: ev.bm25}}
    for rep in REPRESENTATIONS:
        out[f"dense ({rep})"] = {(): (lambda r: lambda ev: ev.cosine[r])(rep)}
        out[f"hybrid ({rep})"] = {
            (w, s): hybrid(rep, w, s) for w, s in itertools.product(WEIGHTS[1:], SATURATIONS)
        }
        out[f"adaptive hybrid ({rep})"] = {
            (a, d, s): adaptive(rep, a, d, s)
            for a, d, s in itertools.product(WEIGHTS, WEIGHTS, SATURATIONS)
            if a != d
        }
    for formula, values in TWO_VECTORS.items():
        out[f"dense ({formula})"] = {(v,): two_vectors(formula, v) for v in values}
        out[f"hybrid ({formula})"] = {
            (v, w, s): with_bonus(two_vectors(formula, v), w, s)
            for v, w, s in itertools.product(values, WEIGHTS[1:], SATURATIONS)
        }
        out[f"hybrid ({formula}), fusion fixed at {SHIPPED_FUSION}"] = {
            (v,): with_bonus(two_vectors(formula, v), *SHIPPED_FUSION) for v in values
        }
    out["question alone or hybrid"] = {
        (w, s): alone_or_hybrid(w, s) for w, s in itertools.product(WEIGHTS[1:], SATURATIONS)
    }
    # what the search ships, no value free: before and after the two-vector cosine
    out[BEFORE] = {(): hybrid("question+answer", *SHIPPED_FUSION)}
    out[SHIPPED] = {(): with_bonus(two_vectors("partial max", 1.0), *SHIPPED_FUSION)}
    return out


BEFORE = "shipped before: hybrid (question+answer), 0.5 / 8"
SHIPPED = "shipped: hybrid (max), 0.5 / 8"


def alone_or_hybrid(weight: float, saturation: float) -> Scorer:
    """An entry scores as a paraphrase of its question (the question-alone cosine, no lexical
    bonus) or by the hybrid evidence of its whole text, whichever is higher."""
    return lambda ev: np.maximum(ev.cosine["question"], hybrid("question+answer", weight,
                                                               saturation)(ev))


def grouped_folds(groups: np.ndarray, seed: int, folds: int = FOLDS) -> np.ndarray:
    """The fold of each query, such that a group (FAQ, original question) stays in one fold."""
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(unique, rng.permutation(len(unique)) % folds, strict=True))
    return np.array([fold_of[g] for g in groups])


def splits(
    faq_groups: np.ndarray, sem_groups: np.ndarray
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(seed, fold, FAQ test mask, SemEval test mask) for each repetition and fold."""
    for seed in SEEDS:
        faq_fold = grouped_folds(faq_groups, seed)
        sem_fold = grouped_folds(sem_groups, seed + 1000)
        for fold in range(FOLDS):
            yield seed, fold, faq_fold == fold, sem_fold == fold


# -- choosing out of fold -----------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Per-query figures of every setting of every family, on both sets."""

    faq: dict[str, dict[tuple, np.ndarray]]  # family -> values -> (queries, [rr, p@1])
    sem: dict[str, dict[tuple, np.ndarray]]  # family -> values -> (queries, [ap])

    @classmethod
    def measure(cls, faq: FaqSet, sem: SemEvalSet) -> Grid:
        grid = families()
        return cls(
            {f: {v: faq.per_query(s(faq.evidence)) for v, s in g.items()} for f, g in grid.items()},
            {f: {v: sem.per_query(s(sem.evidence)) for v, s in g.items()} for f, g in grid.items()},
        )

    def settings(self, family: str | None) -> list[tuple[str, tuple]]:
        names = [family] if family else list(self.faq)
        return [(f, v) for f in names for v in self.faq[f]]


def choose(grid: Grid, family: str | None, faq_mask: np.ndarray | None,
           sem_mask: np.ndarray | None) -> tuple[str, tuple]:
    """The setting with the best MRR@10 + MAP on the masked queries (None: that set unused).

    Ties go to the first setting listed (simpler families and smaller values come first).
    """

    def objective(setting: tuple[str, tuple]) -> float:
        f, v = setting
        total = 0.0
        if faq_mask is not None:
            total += grid.faq[f][v][faq_mask, 0].mean()
        if sem_mask is not None:
            total += grid.sem[f][v][sem_mask, 0].mean()
        return total

    settings = grid.settings(family)
    values = [objective(s) for s in settings]
    return settings[int(np.argmax(values))]


def out_of_fold(grid: Grid, family: str | None, faq: FaqSet, sem: SemEvalSet) -> dict:
    """Held-out figures of a family (None: any family) under three ways of choosing its values.

    within: on the other folds of the same set; cross: on the whole other set; joint: on the
    other folds of both sets. Figures are means over the fold seeds; `per_query` keeps the
    joint rule's held-out per-query figures (averaged over seeds) for paired comparisons.
    """
    n_faq, n_sem = len(faq.gold), len(sem.relevant)
    every_faq, every_sem = np.ones(n_faq, dtype=bool), np.ones(n_sem, dtype=bool)
    within = {"faq": np.zeros((n_faq, 2)), "sem": np.zeros((n_sem, 1))}
    joint = {"faq": np.zeros((n_faq, 2)), "sem": np.zeros((n_sem, 1))}
    chosen = []
    for _, _, faq_test, sem_test in splits(faq.evidence.groups, sem.evidence.groups):
        f, v = choose(grid, family, ~faq_test, None)
        within["faq"][faq_test] += grid.faq[f][v][faq_test] / len(SEEDS)
        f, v = choose(grid, family, None, ~sem_test)
        within["sem"][sem_test] += grid.sem[f][v][sem_test] / len(SEEDS)
        f, v = choose(grid, family, ~faq_test, ~sem_test)
        chosen.append((f, v))
        joint["faq"][faq_test] += grid.faq[f][v][faq_test] / len(SEEDS)
        joint["sem"][sem_test] += grid.sem[f][v][sem_test] / len(SEEDS)
    f_on_sem, v_on_sem = choose(grid, family, None, every_sem)
    f_on_faq, v_on_faq = choose(grid, family, every_faq, None)
    cross = {"faq": grid.faq[f_on_sem][v_on_sem], "sem": grid.sem[f_on_faq][v_on_faq]}

    def figures(rule: dict) -> dict:
        return {
            "faq_p@1": float(rule["faq"][:, 1].mean()),
            "faq_mrr@10": float(rule["faq"][:, 0].mean()),
            "semeval_map": float(100 * rule["sem"][:, 0].mean()),
            "semeval_map_dev": float(100 * rule["sem"][sem.is_dev, 0].mean()),
        }

    return {
        "within": figures(within),
        "cross": figures(cross),
        "joint": figures(joint),
        "chosen_on_all": list(choose(grid, family, every_faq, every_sem)),
        "chosen_in_folds": sorted({f"{f} {v}" for f, v in chosen}),
        "per_query": joint,
    }


def paired_interval(
    ours: np.ndarray, base: np.ndarray, groups: np.ndarray, draws: int = 2000
) -> tuple[float, float, float]:
    """Mean difference and its 95% bootstrap interval, resampling whole groups."""
    unique, inverse = np.unique(groups, return_inverse=True)
    diff_sum = np.bincount(inverse, weights=ours - base, minlength=len(unique))
    count = np.bincount(inverse, minlength=len(unique))
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(unique), size=(draws, len(unique)))
    means = diff_sum[picks].sum(axis=1) / count[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float((ours - base).mean()), float(low), float(high)


def retrieval_cv(faq: FaqSet, sem: SemEvalSet) -> dict:
    """Held-out figures for every family and for the choice among families."""
    grid = Grid.measure(faq, sem)
    report = {name: out_of_fold(grid, name, faq, sem) for name in grid.faq}
    report["selected"] = out_of_fold(grid, None, faq, sem)
    per_query = {name: result.pop("per_query") for name, result in report.items()}
    for name, result in report.items():
        for key, base in (("vs_dense_question", "dense (question)"), ("vs_hybrid", HYBRID),
                          ("vs_before", BEFORE)):
            result[key] = differences(per_query[name], per_query[base], faq, sem)
    return report


HYBRID = "hybrid (question+answer)"  # the shipped kind of method


def differences(ours: dict, base: dict, faq: FaqSet, sem: SemEvalSet) -> dict:
    """Held-out (joint rule) differences to a baseline with 95% intervals over whole groups."""
    return {
        "faq_p@1": paired_interval(ours["faq"][:, 1], base["faq"][:, 1], faq.evidence.groups),
        "faq_mrr@10": paired_interval(ours["faq"][:, 0], base["faq"][:, 0], faq.evidence.groups),
        "semeval_map": tuple(100 * x for x in paired_interval(
            ours["sem"][:, 0], base["sem"][:, 0], sem.evidence.groups)),
    }


def table(report: dict, rule: str) -> Table:
    """One row per family: held-out figures under one way of choosing ("within", "cross",
    "joint"), with the 95% intervals of the joint rule's differences to dense (question) and to
    the shipped kind of hybrid."""
    out = Table(title=f"Out of fold, values chosen {rule}")
    for column in ("method", "FAQ P@1", "FAQ MRR@10", "SemEval MAP", "(dev only)",
                   "vs dense(question): P@1 / MRR / MAP, 95% CI",
                   "vs hybrid(question+answer): P@1 / MAP", "vs shipped before: P@1 / MAP"):
        out.add_column(column)
    for name, result in report.items():
        fig, dense, fused = result[rule], result["vs_dense_question"], result["vs_hybrid"]
        before = result["vs_before"]
        out.add_row(
            name, f"{fig['faq_p@1']:.3f}", f"{fig['faq_mrr@10']:.3f}",
            f"{fig['semeval_map']:.2f}", f"{fig['semeval_map_dev']:.2f}",
            " / ".join(interval(dense[k], k) for k in ("faq_p@1", "faq_mrr@10", "semeval_map")),
            " / ".join(interval(fused[k], k) for k in ("faq_p@1", "semeval_map")),
            " / ".join(interval(before[k], k) for k in ("faq_p@1", "semeval_map")),
        )
    return out


def interval(difference: tuple[float, float, float], key: str) -> str:
    digits = 2 if key == "semeval_map" else 3
    mean, low, high = difference
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def main() -> None:
    from bench.common import onnx_embedder
    from bench.retrieval import DEFAULT_DATA

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engine", choices=("fts5", "tantivy"), default="fts5",
                        help="Where BM25 comes from (the bot searches with tantivy).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = onnx_embedder()
    report = retrieval_cv(load_faq(embedder, args.data, args.engine),
                          load_semeval(embedder, args.data, args.engine))
    console = Console(width=220)
    for rule in ("joint", "within", "cross"):
        console.print(table(report, rule))
    args.json = args.json or Path("bench/out") / (
        "retrieval_cv.json" if args.engine == "fts5" else f"retrieval_cv_{args.engine}.json")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"engine": args.engine, **report}, indent=2))


if __name__ == "__main__":
    main()
