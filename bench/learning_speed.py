"""What phrasings cost the search: 100k entries, then 3 phrasings per entry, against the bare
embedding of the same questions, in one run.

    python -m bench.learning_speed [--entries 100000] [--phrasings 3] [--queries 200]

The base is synthetic (bench/synthetic.py: real words, vectors around real embeddings), the
phrasings too (cached vectors, so indexing embeds nothing); the queries are real StackExchange
titles, embedded by the real model inside the timed search. Search as the bot does: vectors
(8-bit with exact re-score above 20k), phrasings, tantivy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import onnx_embedder
from bench.speed import pct, rss_mib, timed
from bench.synthetic import SyntheticBase, real_questions
from index.entry_index import EntryIndex
from index.lexical_index import LexicalIndex
from index.search import HybridSearch
from knowledge.models import format_time
from knowledge.phrasings import normalise
from knowledge.store import Store

OUT = Path(__file__).resolve().parent / "out"


def add_phrasings(store: Store, base: SyntheticBase, per_entry: int, model: str) -> float:
    """`per_entry` phrasings for every entry, with cached vectors; seconds taken."""
    started = time.perf_counter()
    ids = store.searchable_ids()
    now = format_time(store.clock())
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        rows = []
        vectors = base.vectors(len(chunk) * per_entry)
        for n, entry_id in enumerate(chunk):
            for k in range(per_entry):
                text = base.text(9) + "?"
                vector = vectors[n * per_entry + k].tobytes()
                rows.append((entry_id, text, normalise(text), now, model, vector))
        with store.transaction():
            store.db.executemany(
                "INSERT INTO phrasings (entry_id, text, norm, polarity, source, "
                "created_by, created_at, model, vector) VALUES (?, ?, ?, 1, 'learn', 'bench', "
                "?, ?, ?) ON CONFLICT DO NOTHING", rows,
            )
            store.db.execute(
                "INSERT INTO phrasing_votes (phrasing_id, user, created_at) "
                "SELECT id, 'bench', created_at FROM phrasings WHERE entry_id BETWEEN ? AND ? "
                "ON CONFLICT DO NOTHING",
                [chunk[0], chunk[-1]],
            )
    return time.perf_counter() - started


def timings(store: Store, folder: Path, embedder, texts: list[str]) -> dict:
    """Search as the bot does (vectors, phrasings, tantivy), timed against the bare embedding,
    one question at a time, interleaved."""
    index = EntryIndex.open(store, embedder, folder / "index")
    lexical = LexicalIndex.open(store, folder / "index" / "lexical", store.phrasings.texts_by_entry)
    index.companions.append(lexical)
    search = HybridSearch(store, index, embedder, lexical=lexical)
    search.search(texts[0], k=5)  # warm
    bare, full = [], []
    for text in texts:
        bare += timed(lambda t=text: embedder.embed([t]), 1)
        full += timed(lambda t=text: search.search(t, k=5), 1)
    index.checkpoint()
    lexical.close()
    return {
        "phrasings_indexed": len(index.phrasings),
        "bare_embed_ms_p50": pct(bare, 50),
        "search_ms": {"p50": pct(full, 50), "p95": pct(full, 95), "p99": pct(full, 99)},
        "ratio_p50": pct(full, 50) / pct(bare, 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--phrasings", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, default=OUT / "learning_speed.json")
    args = parser.parse_args()
    embedder = onnx_embedder()
    texts = [q["title"] for q in real_questions()[-args.queries:]]
    folder = Path(tempfile.mkdtemp())
    store = Store.open(folder / "sb.db")
    base = SyntheticBase(embedder)
    base.fill(store, args.entries, embedder.model_name)
    before = timings(store, folder, embedder, texts)
    rss = rss_mib()
    fill_s = add_phrasings(store, base, args.phrasings, embedder.model_name)
    after = timings(store, folder, embedder, texts)
    report = {
        "command": f"python -m bench.learning_speed --entries {args.entries} "
                   f"--phrasings {args.phrasings} --queries {args.queries}",
        "entries": args.entries,
        "phrasings_per_entry": args.phrasings,
        "add_phrasings_s": round(fill_s, 1),
        "without_phrasings": before,
        "with_phrasings": after,
        "rss_mib_added_by_phrasings": round(rss_mib() - rss, 1),
        "slowdown_p50": after["search_ms"]["p50"] / before["search_ms"]["p50"],
    }
    print(json.dumps(report, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
