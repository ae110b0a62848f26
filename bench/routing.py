"""Who should answer this? Expert ranking on ../shared/data/routing, against two references.

    HF_HUB_OFFLINE=1 python -m bench.routing [--sites android,dba,history] [--old 0.7]
                                             [--sweep] [--json bench/out/routing.json]

Protocol (data README): per site, sort questions by id; the oldest --old share is history:
imported as knowledge entries (question = title, answer = body, answered_by = the accepted
answerer), embedded and indexed by the product's own code. Each newer question whose accepted
answerer answered at least once before is a test case: the product ranks people
(`ExpertRanker.rank` over the question's nearest entries from `EntryIndex.nearest`; the asker is
excluded as the product does) and we score hit@1 and hit@5 of the accepted answerer.

References, measured in the same run on the same split:
- popularity: the five most frequent past accepted answerers, always;
- nn-vote: embed the question, vote the answerers of the 20 most similar past questions,
  each vote weighted by its cosine similarity.

`--sweep` also scores a small grid of RoutingWeights (reported, for choosing the defaults:
a point inside the plateau that beats both references everywhere, not the single best cell).
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import load_jsonl, onnx_embedder
from index.entry_index import EntryIndex
from knowledge.expert_ranking import ExpertRanker, RoutingWeights
from knowledge.models import EntryDraft
from knowledge.store import Store

ROUTING = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing"
console = Console()


def split(rows: list[dict], old_share: float) -> tuple[list[dict], list[dict]]:
    rows = sorted(rows, key=lambda r: int(r["question_id"]))
    cut = int(len(rows) * old_share)
    old, new = rows[:cut], rows[cut:]
    seen = {r["accepted_answerer"] for r in old}
    return old, [r for r in new if r["accepted_answerer"] in seen]


def hits(ranked: list[str], truth: str) -> tuple[int, int]:
    return int(ranked[:1] == [truth]), int(truth in ranked[:5])


def evaluate_site(site: str, old_share: float, embedder, sweep: bool) -> dict:
    rows = load_jsonl(ROUTING / f"stackexchange-{site}.jsonl")
    old, new = split(rows, old_share)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-routing-{site}-"))
    store = Store.open(folder / "sb.db")
    store.upsert_entries([
        EntryDraft(question=r["title"], answer=r["body"] or r["title"],
                   answered_by=r["accepted_answerer"], tags=tuple(r["tags"]),
                   external_id=f"{site}-{r['question_id']}")
        for r in old
    ])
    index = EntryIndex.open(store, embedder, folder / "index")
    ids = {e.external_id: e.id for e in store.iter_entries()}
    author = {ids[f"{site}-{r['question_id']}"]: r["accepted_answerer"] for r in old}
    queries = [f"{r['title']}\n{r['body']}".strip() for r in new]
    vectors = embedder.embed(queries)
    neighbours = [index.nearest(v, 200) for v in vectors]

    popular = [u for u, _ in Counter(r["accepted_answerer"] for r in old).most_common(5)]
    results: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row, near in zip(new, neighbours, strict=True):
        truth = row["accepted_answerer"]
        results["popularity"].append(hits(popular, truth))
        votes: Counter = Counter()
        for entry_id, sim in near[:20]:
            votes[author[entry_id]] += sim
        results["nn-vote"].append(hits([u for u, _ in votes.most_common(5)], truth))

    def product(weights: RoutingWeights) -> list[tuple[int, int]]:
        ranker = ExpertRanker(store, weights)
        out = []
        for row, near in zip(new, neighbours, strict=True):
            ranked = ranker.rank(near, exclude=[row["asker"]], k=5)
            out.append(hits([s.user for s in ranked], row["accepted_answerer"]))
        return out

    results["switchboard"] = product(RoutingWeights())
    grid = {}
    if sweep:
        for temperature, topic_share, popularity in itertools.product(
                (0.05, 0.1, 0.2, 0.3), (0.0, 0.5, 0.8, 1.0), (0.0, 0.1, 0.35)):
            weights = RoutingWeights(temperature=temperature, topic_share=topic_share,
                                     popularity=popularity)
            scored = product(weights)
            grid[f"t={temperature} topics={topic_share} pop={popularity}"] = _rates(scored)
    store.close()
    return {"site": site, "old": len(old), "test_questions": len(new),
            "methods": {name: _rates(v) for name, v in results.items()}, "sweep": grid}


def _rates(pairs: list[tuple[int, int]]) -> dict[str, float]:
    n = max(1, len(pairs))
    return {"hit@1": sum(p[0] for p in pairs) / n, "hit@5": sum(p[1] for p in pairs) / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", default="android,dba,history")
    parser.add_argument("--old", type=float, default=0.7)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing.json"))
    args = parser.parse_args()
    embedder = onnx_embedder()
    report = [evaluate_site(site, args.old, embedder, args.sweep)
              for site in args.sites.split(",")]
    table = Table(title=f"Routing: hit@1 / hit@5 of the accepted answerer (old share {args.old})")
    table.add_column("site")
    table.add_column("test qs")
    for name in ("popularity", "nn-vote", "switchboard"):
        table.add_column(name)
    for site in report:
        m = site["methods"]
        table.add_row(site["site"], str(site["test_questions"]),
                      *(f"{m[n]['hit@1']:.3f} / {m[n]['hit@5']:.3f}"
                        for n in ("popularity", "nn-vote", "switchboard")))
    console.print(table)
    if args.sweep:
        names = list(report[0]["sweep"])
        sweep = Table(title="Sweep: worst margin over the better reference, across sites")
        for column in ("weights", "min Δhit@1", "min Δhit@5", "mean hit@1", "mean hit@5"):
            sweep.add_column(column)
        rows = []
        for name in names:
            d1 = min(s["sweep"][name]["hit@1"] - max(s["methods"]["popularity"]["hit@1"],
                                                     s["methods"]["nn-vote"]["hit@1"])
                     for s in report)
            d5 = min(s["sweep"][name]["hit@5"] - max(s["methods"]["popularity"]["hit@5"],
                                                     s["methods"]["nn-vote"]["hit@5"])
                     for s in report)
            m1 = sum(s["sweep"][name]["hit@1"] for s in report) / len(report)
            m5 = sum(s["sweep"][name]["hit@5"] for s in report) / len(report)
            rows.append((name, d1, d5, m1, m5))
        for name, d1, d5, m1, m5 in sorted(rows, key=lambda r: -min(r[1], r[2]))[:15]:
            sweep.add_row(name, f"{d1:+.3f}", f"{d5:+.3f}", f"{m1:.3f}", f"{m5:.3f}")
        console.print(sweep)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
