"""What a routing fit costs in a large organisation: time and peak memory of fit_weights with
3,000 answerers, with and without the memory bound (knowledge/routing_fit.MAX_CELLS).

    HF_HUB_OFFLINE=1 python -m bench.routing_fit_memory [--json bench/out/routing_fit_memory.json]

A synthetic history (no model, no index: the fit's input is each held-out question's nearest
older entries, here 100 random ones with random cosines): 30,000 answered entries by 3,000
people (Zipf-like volumes, 200 tags), three folds of 500 held-out questions, as the product's
fitter builds them for a history this size. Each configuration runs in its own process, so its
peak resident memory is its own; the baseline is the same process before fitting.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from knowledge.routing_fit import MAX_CELLS, Fold, HeldOut, PastAnswer, fit_weights

PEOPLE, ENTRIES, HELD_OUT = 3000, 30_000, 500


def folds() -> list[Fold]:
    rng = random.Random(1)
    people = [f"u{i}" for i in range(PEOPLE)]
    weights = [1 / (i + 1) for i in range(PEOPLE)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    past = [PastAnswer(i, rng.choices(people, weights)[0], (f"t{rng.randrange(200)}",),
                       start + timedelta(minutes=i)) for i in range(ENTRIES)]

    def held(upto: int) -> list[HeldOut]:
        out = []
        for _ in range(HELD_OUT):
            near = sorted(((i, rng.uniform(0.2, 0.95)) for i in rng.sample(range(upto), 100)),
                          key=lambda pair: -pair[1])
            out.append(HeldOut(past[rng.randrange(upto)].answered_by or "",
                               start + timedelta(minutes=upto), tuple(near)))
        return out

    return [Fold(past[:cut], held(cut)) for cut in (28_000, 26_000, 24_000)]


def measure(max_cells: int) -> dict:
    data = folds()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    fit = fit_weights(data, entries=ENTRIES, now=datetime(2025, 1, 1, tzinfo=UTC),
                      max_cells=max_cells)
    return {"max_cells": max_cells, "seconds": round(time.perf_counter() - started, 1),
            "held_out": fit.held_out,
            "peak_mib_above_baseline": round((resource.getrusage(resource.RUSAGE_SELF)
                                              .ru_maxrss - before) / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing_fit_memory.json"))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one measurement
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for cells in (MAX_CELLS, 10 * MAX_CELLS):  # the product's bound, and none in effect
        out = subprocess.run([sys.executable, "-m", "bench.routing_fit_memory", "--one",
                              str(cells)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
        print(rows[-1], flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"people": PEOPLE, "entries": ENTRIES, "runs": rows},
                                    indent=2) + "\n")


if __name__ == "__main__":
    main()
