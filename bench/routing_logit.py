"""An experiment for issue 10 (not the product): a conditional-logit ranker fitted to each
organisation on the same time folds as the product's fit, against the product's fitted
candidate and the two references, on every cell of bench.routing (frozen history).

    HF_HUB_OFFLINE=1 python -m bench.routing_logit [--sites ...] [--shapes ...] [--splits ...]
        [--features both|linear|log] [--json bench/out/routing_logit.json]

The product chooses one of 68 fixed blends of "shares" (the similarity-weighted vote of the
nearest entries, the question's topics, overall volume, the latest answers) by hit@1 + hit@5 on
three time folds of the history (knowledge/routing_fit.py). Here, on the very same folds
(RoutingFitter.time_folds), a person's score for a question is a linear function of those
shares (sharp vote: temperature 0.1 over 100 neighbours; broad vote: 0.5 over 20; topic share;
volume; the latest 50 answers) and of their logarithms (log(share + 0.001): a multiplicative
model, where someone no evidence speaks for sinks), standardised on the folds; the coefficients
maximise the likelihood that each held-out question's answerer is the one chosen among everyone
who answered before (softmax over people, L2 penalty). The penalty is chosen among LAMBDAS by
fitting on the two older folds and scoring the likelihood on the newest; then the model is
refitted on all three folds and ranks the test part from the whole history. The test part is
never seen before scoring, so every figure is out of fold. The references and the product's
fitted candidate come from bench.routing.evaluate_cell in the same run.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from bench.routing import (
    asked_text,
    cell_parser,
    each_cell,
    evaluate_cell,
    history_store,
    split,
)
from index.routing_fit import RoutingFitter, past_answer
from knowledge.models import EntryStatus
from knowledge.routing_fit import EvidenceFrame, HeldOut, PastAnswer, truth_ranks

LAMBDAS = (0.3, 3.0, 30.0)
EPS = 1e-3
Block = tuple[np.ndarray, np.ndarray, np.ndarray]  # features, mask, truth column


def features(past: list[PastAnswer], items: list[HeldOut], kind: str
             ) -> tuple[EvidenceFrame, np.ndarray, np.ndarray]:
    """Per question and person, the evidence features, and who may be suggested."""
    frame = EvidenceFrame.build(past, items, 50)
    sharp, topics = frame.components(0.1, 730.0, 0.15, 50, 100)
    broad, _ = frame.components(0.5, 730.0, 0.15, 50, 20)
    volume = np.broadcast_to(frame.popularity, sharp.shape)
    latest = np.broadcast_to(frame.recent, sharp.shape)
    shares = [sharp, broad, topics, volume, latest]
    chosen = {"linear": shares, "log": [np.log(f + EPS) for f in shares],
              "both": shares + [np.log(f + EPS) for f in shares]}[kind]
    mask = np.ones(sharp.shape, dtype=bool)
    for i, p in frame.excluded:
        mask[i, p] = False
    return frame, np.stack(chosen, axis=2), mask


def loss(w: np.ndarray, blocks: list[Block], lam: float) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the answerers (+ L2) and its gradient."""
    total, grad = 0.0, np.zeros_like(w)
    for x, mask, truth in blocks:
        s = np.where(mask, x @ w, -np.inf)
        lse = logsumexp(s, axis=1)
        rows = np.arange(len(truth))
        total -= (s[rows, truth] - lse).sum()
        p = np.exp(s - lse[:, None])
        grad -= (x[rows, truth] - np.einsum("ij,ijk->ik", p, x)).sum(axis=0)
    count = sum(len(t) for _, _, t in blocks)
    return total / count + lam / 2 * w @ w / count, grad / count + lam * w / count


def fit(blocks: list[Block], lam: float) -> np.ndarray:
    start = np.zeros(blocks[0][0].shape[2])
    return minimize(loss, start, args=(blocks, lam), jac=True, method="L-BFGS-B").x


def standardise(blocks: list[Block], mean=None, std=None):
    if mean is None:
        flat = np.concatenate([x.reshape(-1, x.shape[2]) for x, _, _ in blocks])
        mean, std = flat.mean(axis=0), flat.std(axis=0) + 1e-9
    return [((x - mean) / std, m, t) for x, m, t in blocks], mean, std


def logit_cell(site: str, shape: str, share: float, rows: list[dict], embedder,
               kind: str) -> dict:
    old, new, leaver = split(rows, share, shape)
    store, index = history_store(site, old, embedder, left=leaver)
    folds, _ = RoutingFitter(store, index, embedder).time_folds()
    blocks = []
    for fold in folds:
        items = fold.scorable()
        if not items:
            continue
        frame, x, mask = features(list(fold.past), items, kind)
        keep = frame.truth >= 0
        keep &= mask[np.arange(len(keep)), np.where(keep, frame.truth, 0)]
        blocks.append((x[keep], mask[keep], frame.truth[keep]))
    past = [past_answer(e) for e in store.iter_entries([EntryStatus.PUBLISHED])]
    now = datetime.now(UTC)
    vectors = embedder.embed([asked_text(r) for r in new])
    items = [HeldOut(r["accepted_answerer"], now, tuple(index.nearest(v, 200)[:100]),
                     exclude=tuple(u for u in (r["asker"], leaver) if u))
             for r, v in zip(new, vectors, strict=True)]
    store.close()
    if len(blocks) >= 2:
        older, mean, std = standardise(blocks[1:])
        newest, _, _ = standardise(blocks[:1], mean, std)
        lam = min(LAMBDAS, key=lambda lam: loss(fit(older, lam), newest, 0.0)[0])
    else:
        lam = LAMBDAS[1]
    scaled, mean, std = standardise(blocks)
    w = fit(scaled, lam)
    frame, x, mask = features(past, items, kind)
    hit1, hit5 = truth_ranks(np.where(mask, ((x - mean) / std) @ w, -np.inf), frame.truth)
    return {"hit@1": float(hit1.mean()), "hit@5": float(hit5.mean()), "lambda": lam,
            "coefficients": [round(float(c), 3) for c in w]}


def main() -> None:
    parser = cell_parser(__doc__)
    parser.add_argument("--features", choices=("both", "linear", "log"), default="both")
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing_logit.json"))
    args = parser.parse_args()
    cells, wins, means = [], {"fitted": 0, "logit": 0}, {}
    for site, shape, share, rows, embedder in each_cell(args.sites, args.shapes, args.splits):
        started = time.perf_counter()
        reference = evaluate_cell(site, shape, share, rows, embedder)
        logit = logit_cell(site, shape, share, rows, embedder, args.features)
        methods = {**reference["methods"], "logit": logit}
        marks = ""
        for metric in ("hit@1", "hit@5"):
            best = max(methods["popularity"][metric], methods["nn-vote"][metric])
            for name in ("fitted", "logit"):
                won = methods[name][metric] >= best - 1e-12
                wins[name] += won
                means.setdefault(f"{name} {metric}", []).append(methods[name][metric])
                if name == "logit":
                    marks += "W" if won else "L"
        cells.append({"site": site, "shape": shape, "split": share,
                      "test_questions": reference["test_questions"],
                      "methods": methods, "logit_wl": marks,
                      "fitted_candidate": reference["fit"]["candidate"]})
        print(f"{site} {shape} {share}: " + " | ".join(
            f"{m} pop {methods['popularity'][m]:.3f} nn {methods['nn-vote'][m]:.3f} "
            f"fitted {methods['fitted'][m]:.3f} logit {logit[m]:.3f}" for m in ("hit@1", "hit@5"))
            + f" | {marks} lambda {logit['lambda']} ({time.perf_counter() - started:.0f} s)",
            flush=True)
    summary = {"cells_at_least_the_better_reference": wins,
               "means": {k: float(np.mean(v)) for k, v in means.items()},
               "features": args.features}
    print(summary)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "cells": cells}, indent=2) + "\n")


if __name__ == "__main__":
    main()
