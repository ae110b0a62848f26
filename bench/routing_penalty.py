"""How the routing model's penalty is chosen (issue 10): which choice generalises, left one
site out, on every cell of bench.routing plus small sites.

    HF_HUB_OFFLINE=1 python -m bench.routing_penalty [--sites ...] [--shapes ...] [--splits ...]
        [--json bench/out/routing_penalty.json]

The product fits a conditional logit (knowledge/routing_model.py) on three time folds of the
history, with an L2 penalty among PENALTIES chosen by the likelihood of newer folds under fits
on older ones. With a few hundred questions, one time origin rests on one fold of a few dozen.
Variants, each fitted on the history alone and scored on the test part by the product's ranker
(ExpertRanker with the model), against the two references of the same cell
(bench.routing.evaluate_cell):
- "newest": one time origin (fit on the two older folds, score the newest), penalties 0.3 / 3
  / 30 (the product until this bench chose the next one);
- "two origins" (the product since): the penalty's likelihood summed over two time origins
  (fit on the oldest fold, score the middle one; fit on the two older, score the newest);
- "+300": one origin, with a stronger penalty also on offer;
- "two origins, +300": both.
Cells: the six shapes of bench.routing and two small sites (recent200, recent400: the site's
newest 200 or 400 questions, everyone who answered them). The variant is chosen on two sites
(most cells at least the better reference, then mean hit@1 + hit@5) and reported on the third.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.routing import (
    asked_text,
    cell_parser,
    each_cell,
    evaluate_cell,
    history_store,
    hits,
    rates,
    split,
    verdict,
)
from index.routing_fit import RoutingFitter
from knowledge.expert_ranking import ExpertRanker
from knowledge.routing_fit import RoutingWeights, fold_frames, within_memory
from knowledge.routing_model import MODEL_OUTCOMES, PENALTIES, fit_model

VARIANTS = {
    "newest": (PENALTIES, 1),
    "two origins": (PENALTIES, 2),
    "+300": ((*PENALTIES, 300.0), 1),
    "two origins, +300": ((*PENALTIES, 300.0), 2),
}


def variant_cell(site: str, shape: str, share: float, rows: list[dict], embedder) -> dict:
    """Each variant's hit@1 / hit@5 on the cell's test part, and the penalty it chose."""
    old, new, leaver = split(rows, share, shape)
    store, index = history_store(site, old, embedder, left=leaver)
    defaults = RoutingWeights()
    folds, _ = RoutingFitter(store, index, embedder).time_folds()
    blocks = [frame.block(defaults) for frame in fold_frames(within_memory(folds), defaults)
              if frame is not None]
    near = [index.nearest(v, defaults.reach) for v in embedder.embed([asked_text(r)
                                                                      for r in new])]
    out = {}
    for name, (penalties, origins) in VARIANTS.items():
        model = fit_model(blocks, penalties, origins) if blocks else None
        weights = replace(defaults, model=model, outcomes=MODEL_OUTCOMES) if model else defaults
        ranker = ExpertRanker(store, weights)
        pairs = [hits([e.user for e in ranker.rank(n, exclude=[r["asker"]], k=5)],
                      r["accepted_answerer"]) for r, n in zip(new, near, strict=True)]
        out[name] = {**rates(pairs), "penalty": model.penalty if model else None}
    store.close()
    return out


def won(cell: dict, name: str) -> int:
    """The variant's metrics at least the better reference (bench.routing.verdict)."""
    return verdict({"methods": {**cell["methods"], name: cell["variants"][name]}},
                   name).count("W")


def summary(cells: list[dict], name: str) -> tuple[int, float, float]:
    return (sum(won(c, name) for c in cells),
            float(np.mean([c["variants"][name]["hit@1"] for c in cells])),
            float(np.mean([c["variants"][name]["hit@5"] for c in cells])))


def main() -> None:
    parser = cell_parser(__doc__, shapes="all,team3,team5,team10,leaves,team5-leaves,"
                                         "recent200,recent400")
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing_penalty.json"))
    args = parser.parse_args()
    cells = []
    for site, shape, share, rows, embedder in each_cell(args.sites, args.shapes, args.splits):
        reference = evaluate_cell(site, shape, share, rows, embedder)
        cell = {"site": site, "shape": shape, "split": share,
                "test_questions": reference["test_questions"],
                "methods": reference["methods"],
                "variants": variant_cell(site, shape, share, rows, embedder)}
        cells.append(cell)
        print(f"{site} {shape} {share} ({cell['test_questions']} qs): " + " | ".join(
            f"{n} {v['hit@1']:.3f}/{v['hit@5']:.3f} λ{v['penalty']}"
            for n, v in cell["variants"].items()), flush=True)
    lines = []
    for name in VARIANTS:
        for label, part in (("all cells", cells),
                            ("small sites", [c for c in cells
                                             if c["shape"].startswith("recent")])):
            n, h1, h5 = summary(part, name)
            lines.append(f"{name:18} {label:11}: {n} of {2 * len(part)} cells, "
                         f"mean hit@1 {h1:.3f}, hit@5 {h5:.3f}")
    sites = sorted({c["site"] for c in cells})
    chosen = {}
    for site in sites:
        others = [c for c in cells if c["site"] != site]
        best = max(VARIANTS, key=lambda n: (summary(others, n)[0],
                                            summary(others, n)[1] + summary(others, n)[2]))
        held = [c for c in cells if c["site"] == site]
        chosen[site] = best
        n, h1, h5 = summary(held, best)
        p_n, p_h1, p_h5 = summary(held, "newest")
        lines.append(f"left out {site}: chose {best!r} on the others; on {site} {n} of "
                     f"{2 * len(held)} cells, {h1:.3f} / {h5:.3f} (one origin, 'newest': {p_n}, "
                     f"{p_h1:.3f} / {p_h5:.3f})")
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cells": cells, "summary": lines, "chosen": chosen},
                                    indent=2) + "\n")


if __name__ == "__main__":
    main()
