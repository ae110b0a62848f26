"""The issue's own protocol, through the command line: does `bench.routing` measure what a user
measures with `switchboard import` and `switchboard route`?

    HF_HUB_OFFLINE=1 python -m bench.routing_cli [--cells history:all:0.8,dba:team5:0.8,...]
        [--dated] [--json bench/out/routing_cli.json]

Issue 10 measured routing on held-out forums this way: the oldest questions imported with
`switchboard import` (answered_by = the accepted answerer), then `switchboard route --json --k 5`
for each newer one. `bench.routing` calls the product's classes instead (faster, and it can mark
a leaver as deactivated, which the command line cannot). Here each cell is run both ways in the
same run, on the same history and test questions (bench.routing's shape_rows and split):

- the command line: a fresh SWITCHBOARD_HOME, the history written as a JSONL import file
  (id, question = title, answer = body, answered_by, tags; with --dated, created_at) and imported
  by `switchboard import` in a subprocess (which fits the routing weights, as after any
  import); then one `switchboard route --json --k 5` subprocess ranks every test question, each
  a stdin line {"question": title and body, "asker": the asker};
- the bench: bench.routing.evaluate_cell on the same cell (both references, the defaults, the
  fit).

It reports each side's hit@1 / hit@5 and the questions on which the two disagree. The two embed
with the same model through different code paths (the bench caches its embeddings), so a
disagreement of a question or two would be rounding; more would mean the bench does not measure
what users get. Cells whose shape has a leaver (`leaves`) are refused: the command line cannot
mark someone deactivated.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import load_jsonl, onnx_embedder
from bench.embedding_cache import CachedEmbedder
from bench.routing import (
    CACHE,
    ROUTING,
    asked_text,
    evaluate_cell,
    hits,
    question_hits,
    shape_rows,
    split,
    with_dates,
)

CELLS = ("history:all:0.8,dba:team5:0.8,android:all:0.8,history:team3:0.6,dba:all:0.6,"
         "android:team10:0.7,dba:slice300.3:0.8")
SWITCHBOARD = [sys.executable, "-c", "from switchboard.cli import main; main()"]
console = Console(width=160)


def import_rows(site: str, old: list[dict]) -> str:
    """The history as a JSONL import file's text."""
    lines = []
    for r in old:
        row = {"id": f"{site}-{r['question_id']}", "question": r["title"],
               "answer": r["body"] or r["title"], "answered_by": r["accepted_answerer"],
               "tags": r["tags"]}
        if r.get("dated"):
            row["created_at"] = r["dated"].isoformat()
        lines.append(json.dumps(row))
    return "\n".join(lines) + "\n"


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run([*SWITCHBOARD, *args], input=stdin, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"switchboard {args[0]} failed ({done.returncode}):\n{done.stderr}"
                         f"\n{done.stdout}")
    return done.stdout


def cli_cell(site: str, shape: str, old_share: float, kept: list[dict]) -> dict:
    """The cell through `switchboard import` and `switchboard route`: each test question's
    (hit@1, hit@5), and what the import said about the routing weights."""
    old, new, leaver = split(kept, old_share, shape)
    assert not leaver
    home = Path(tempfile.mkdtemp(prefix=f"bench-routing-cli-{site}-"))
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "SWITCHBOARD_LOG_FORMAT": "text"}
    env.pop("SWITCHBOARD_DATABASE_URL", None)
    (home / "history.jsonl").write_text(import_rows(site, old), encoding="utf-8")
    started = time.perf_counter()
    said = run(["import", str(home / "history.jsonl")], env)
    imported = time.perf_counter() - started
    questions = "".join(json.dumps({"question": asked_text(r), "asker": r["asker"]}) + "\n"
                        for r in new)
    started = time.perf_counter()
    ranked = [json.loads(line) for line in run(["route", "--json", "--k", "5"], env,
                                               questions).splitlines() if line.strip()]
    routed = time.perf_counter() - started
    if len(ranked) != len(new):
        raise SystemExit(f"{len(new)} questions routed, {len(ranked)} answers")
    return {"hits": [hits([e["user"] for e in answer["experts"]], row["accepted_answerer"])
                     for answer, row in zip(ranked, new, strict=True)],
            "weights": next((line for line in said.splitlines()
                             if line.startswith("Routing weights")), ""),
            "import_seconds": round(imported, 1), "route_seconds": round(routed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default=CELLS,
                        help="site:shape:split, comma-separated (shapes as bench.routing's)")
    parser.add_argument("--dated", action="store_true",
                        help="import created_at (bench.routing --dated's approximate dates)")
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing_cli.json"))
    args = parser.parse_args()
    model = onnx_embedder()
    results = []
    for cell in args.cells.split(","):
        site, shape, share = cell.split(":")
        if shape.endswith("leaves"):
            raise SystemExit(f"{cell}: the command line cannot mark a leaver deactivated")
        rows = load_jsonl(ROUTING / f"stackexchange-{site}.jsonl")
        if args.dated:
            rows = with_dates(site, rows)
        kept = shape_rows(rows, shape)
        embedder = CachedEmbedder(model, CACHE / f"routing-{site}.npz")
        bench = evaluate_cell(site, shape, float(share), kept, embedder)
        embedder.save()
        cli = cli_cell(site, shape, float(share), kept)
        mine = {metric: [h[col] for h in cli["hits"]]
                for col, metric in enumerate(("hit@1", "hit@5"))}
        theirs = {metric: question_hits(bench, "fitted", metric) for metric in mine}
        results.append({
            "site": site, "shape": shape, "old_share": float(share),
            "test_questions": len(cli["hits"]),
            "cli": {m: sum(v) / max(1, len(v)) for m, v in mine.items()},
            "bench": bench["methods"],
            "disagree": {m: sum(a != b for a, b in zip(mine[m], theirs[m], strict=True))
                         for m in mine},
            "cli_weights": cli["weights"],
            "import_seconds": cli["import_seconds"], "route_seconds": cli["route_seconds"],
        })
        console.log(f"{cell}: cli {results[-1]['cli']}, bench {bench['methods']['fitted']}, "
                    f"disagree {results[-1]['disagree']}")
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


def report(results: list[dict]) -> None:
    table = Table(title="Routing through the command line (switchboard import, switchboard "
                        "route --json --k 5) against bench.routing, hit@1 / hit@5")
    for column in ("site", "shape", "split", "test qs", "command line", "bench: fitted",
                   "questions that differ (hit@1 / hit@5)", "popularity", "nn-vote",
                   "import s", "route s"):
        table.add_column(column)
    for r in results:
        b = r["bench"]
        table.add_row(r["site"], r["shape"], str(r["old_share"]), str(r["test_questions"]),
                      f"{r['cli']['hit@1']:.3f} / {r['cli']['hit@5']:.3f}",
                      f"{b['fitted']['hit@1']:.3f} / {b['fitted']['hit@5']:.3f}",
                      f"{r['disagree']['hit@1']} / {r['disagree']['hit@5']}",
                      *(f"{b[m]['hit@1']:.3f} / {b[m]['hit@5']:.3f}"
                        for m in ("popularity", "nn-vote")),
                      str(r["import_seconds"]), str(r["route_seconds"]))
    console.print(table)
    asked = sum(r["test_questions"] for r in results)
    differ = [sum(r["disagree"][m] for r in results) for m in ("hit@1", "hit@5")]
    console.print(f"{asked} test questions: the command line and the bench differ on "
                  f"{differ[0]} at hit@1 and {differ[1]} at hit@5")


if __name__ == "__main__":
    main()
