"""Speed, each figure against a baseline measured in the same run (the machine drifts ~2x a day).

    python -m bench.speed [--entries 100000] [--queries 200] [--json bench/out/speed.json]
                          [--only search]

1. Embedding one question and bulk texts: sentence-transformers/torch vs ONNX Runtime.
2. Start-up to the first answer (`switchboard search`), ONNX vs torch backends, and a command
   that needs no model (`switchboard stats`), as subprocesses.
3. Import of real questions (parse + store + embed + index + save) vs bare bulk embedding.
4. Search at --entries entries (embed + BM25 + vectors + fuse + rank) vs bare embedding, with
   today's FTS5 path and with the tantivy index; the lexical part alone with both.
5. Throughput at --entries: questions sent open-loop at fixed rates to a pool of threads, with
   one model call per question and with the batched embedder (index/batched_embedder.py).
   `--only search` skips 1-3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import MODEL_CACHE, onnx_embedder
from bench.synthetic import SyntheticBase, real_questions
from index.batched_embedder import BatchedEmbedder
from index.embedder import TorchEmbedder
from index.entry_index import EntryIndex, embedding_text
from index.lexical_index import LexicalIndex
from index.search import HybridSearch
from knowledge.importing import read_entries
from knowledge.store import Store

console = Console()


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times in milliseconds of `repeat` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def embedding(questions: list[dict]) -> dict:
    onnx, torch = onnx_embedder(), TorchEmbedder()
    short = [q["title"] for q in questions[:200]]
    bulk = [" ".join(f"{q['title']} {q['body']}".split()[:55]) for q in questions[200:712]]
    out = {}
    for name, model in (("torch", torch), ("onnx", onnx)):
        single = [timed(lambda t=t, m=model: m.embed([t]), 1)[0] for t in short]
        start = time.perf_counter()
        model.embed(bulk)
        elapsed = time.perf_counter() - start
        out[name] = {
            "one_question_ms_p50": pct(single, 50),
            "bulk_texts_per_s": len(bulk) / elapsed,
        }
    out["onnx_speedup_one"] = (
        out["torch"]["one_question_ms_p50"] / out["onnx"]["one_question_ms_p50"]
    )
    out["onnx_speedup_bulk"] = out["onnx"]["bulk_texts_per_s"] / out["torch"]["bulk_texts_per_s"]
    return out


def startup(questions: list[dict]) -> dict:
    home = Path(tempfile.mkdtemp())
    kb = home / "kb.jsonl"
    kb.write_text(
        "".join(
            json.dumps({"question": q["title"], "answer": q["body"] or "-"}) + "\n"
            for q in questions[:300]
        )
    )
    env = {
        **os.environ,
        "SWITCHBOARD_HOME": str(home / "sb"),
        "HF_HUB_OFFLINE": "1",
        "SWITCHBOARD_MODEL_CACHE": str(MODEL_CACHE),
    }
    exe = str(Path(sys.executable).with_name("switchboard"))
    subprocess.run([exe, "import", str(kb)], env=env, check=True, capture_output=True)

    def run(*args: str, **extra: str) -> float:
        start = time.perf_counter()
        subprocess.run([exe, *args], env={**env, **extra}, check=True, capture_output=True)
        return time.perf_counter() - start

    out = {}
    for name, args, extra in (
        ("stats (no model)", ("stats",), {}),
        ("search, onnx", ("search", "restore a backup", "--json"), {}),
        (
            "search, torch",
            ("search", "restore a backup", "--json"),
            {"SWITCHBOARD_EMBEDDER": "torch"},
        ),
    ):
        out[name] = statistics.median(run(*args, **extra) for _ in range(3))
    out["torch_over_onnx"] = out["search, torch"] / out["search, onnx"]
    return out


def import_speed(questions: list[dict], embedder) -> dict:
    rows = questions[1000:3000]
    folder = Path(tempfile.mkdtemp())
    path = folder / "import.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": str(q["question_id"]) + q["site"],
                    "question": q["title"],
                    "answer": q["body"] or "-",
                    "tags": q["tags"],
                }
            )
            + "\n"
            for q in rows
        )
    )
    parsed = read_entries(path)
    texts = [embedding_text(d.question, d.answer) for d in parsed.drafts]
    start = time.perf_counter()
    embedder.embed(texts)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    store = Store.open(folder / "sb.db")
    store.upsert_entries(read_entries(path).drafts)
    index = EntryIndex.open(store, embedder, folder / "index")
    index.checkpoint()
    full = time.perf_counter() - start
    return {"entries": len(rows), "bare_embedding_s": bare, "import_s": full, "ratio": full / bare}


def search_speed(entries: int, queries: int, embedder, questions: list[dict]) -> dict:
    """One question at a time: today's FTS5 path and the tantivy index, each end to end
    against bare embedding, and the lexical and vector parts alone; then throughput."""
    folder = Path(tempfile.mkdtemp())
    store = Store.open(folder / "sb.db")
    before = rss_mib()
    start = time.perf_counter()
    SyntheticBase(embedder).fill(store, entries, embedder.model_name)
    fill_s = time.perf_counter() - start
    index = EntryIndex.open(store, embedder, folder / "index")
    lexical = LexicalIndex.open(store, folder / "index" / "lexical", store.phrasings.texts_by_entry)
    index.companions.append(lexical)  # as the bot has it: one read of the change log per search
    engines = {
        "fts5": HybridSearch(store, index, embedder),
        "tantivy": HybridSearch(store, index, embedder, lexical=lexical),
    }
    texts = [q["title"] for q in questions[-queries:]]
    batched = HybridSearch(store, index, BatchedEmbedder(embedder), lexical=lexical)
    # Interleaved per question, so that the machine's drift falls on every variant alike.
    variants: dict[str, Callable[[str], object]] = {
        "bare": lambda t: embedder.embed([t]),
        "fts5": lambda t: engines["fts5"].search(t, k=5),
        "tantivy": lambda t: engines["tantivy"].search(t, k=5),
        "batched": lambda t: batched.search(t, k=5),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for t in texts:
        for name, fn in variants.items():
            times[name].append(timed(lambda t=t, fn=fn: fn(t), 1)[0])
    bare, lone_batched = times.pop("bare"), times.pop("batched")
    full = times
    vectors = embedder.embed(texts)
    rank_only = {
        name: pct(
            [timed(lambda t=t, v=v, e=e: e.rank(t, v, 5), 1)[0]
             for t, v in zip(texts, vectors, strict=True)],
            50,
        )
        for name, e in engines.items()
    }
    lexical_ms = {
        "fts5": [timed(lambda t=t: store.lexical.search(t, 50), 1)[0] for t in texts],
        "tantivy": [timed(lambda t=t: lexical.search(t, 50), 1)[0] for t in texts],
    }
    dense = [timed(lambda v=v: index.nearest(v, 50), 1)[0] for v in vectors]
    out = {
        "entries": entries,
        "index_kind": index.vectors.kind,
        "fill_s": fill_s,
        "rss_mib_added": rss_mib() - before,
        "bare_embed_ms": {"p50": pct(bare, 50), "p95": pct(bare, 95)},
        "search_ms": {
            name: {"p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99)}
            for name, v in full.items()
        },
        "search_ms_batched_embedder_alone": {
            "p50": pct(lone_batched, 50), "p95": pct(lone_batched, 95)
        },
        "rank_only_ms_p50": rank_only,
        "lexical_ms_p50": {name: pct(v, 50) for name, v in lexical_ms.items()},
        "lexical_ms_p99": {name: pct(v, 99) for name, v in lexical_ms.items()},
        "vectors_ms_p50": pct(dense, 50),
        "ratio_p50": {name: pct(v, 50) / pct(bare, 50) for name, v in full.items()},
        "throughput": {
            "today (FTS5, one model call per question)": throughput(engines["fts5"], texts),
            "tantivy, one model call per question": throughput(engines["tantivy"], texts),
            "tantivy + batched embedding": throughput(batched, texts),
        },
    }
    lexical.close()
    return out


RATES = (50, 100, 150, 200)  # questions sent per second, open loop
SECONDS = 8.0


def throughput(search: HybridSearch, texts: list[str], workers: int = 16) -> dict:
    """Questions sent open-loop at each rate for SECONDS (as they arrive at a bot, from a pool
    of worker threads): how many were answered per second, and the latency from arrival."""
    out = {}
    for rate in RATES:
        pool = ThreadPoolExecutor(workers)
        latencies: list[float] = []
        start = time.perf_counter()
        due = [start + n / rate for n in range(int(rate * SECONDS))]

        def answer(text: str, arrived: float, into: list[float] = latencies) -> None:
            search.search(text, k=5)
            into.append((time.perf_counter() - arrived) * 1000)

        for n, arrive in enumerate(due):
            time.sleep(max(0.0, arrive - time.perf_counter()))
            pool.submit(answer, texts[n % len(texts)], arrive)
        pool.shutdown(wait=True)
        elapsed = time.perf_counter() - start
        out[rate] = {
            "answered_per_s": len(latencies) / elapsed,
            "drain_s": elapsed - SECONDS,  # time after the last arrival until all answered
            "latency_ms_p50": pct(latencies, 50),
            "latency_ms_p95": pct(latencies, 95),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, default=Path("bench/out/speed.json"))
    parser.add_argument("--only", choices=("search",))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    questions = real_questions()
    embedder = onnx_embedder()
    if args.only == "search":
        report = {"search": search_speed(args.entries, args.queries, embedder, questions)}
        console.print_json(data=report)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        return
    report = {
        "embedding": embedding(questions),
        "startup_s": startup(questions),
        "import": import_speed(questions, embedder),
        "search": search_speed(args.entries, args.queries, embedder, questions),
    }
    console.print_json(data=report)
    table = Table(title="Speed (ratios against a baseline measured in the same run)")
    for column in ("measure", "value", "baseline", "ratio"):
        table.add_column(column)
    e, s, i, q = report["embedding"], report["startup_s"], report["import"], report["search"]
    table.add_row(
        "embed one question, onnx (ms p50)",
        f"{e['onnx']['one_question_ms_p50']:.2f}",
        f"torch {e['torch']['one_question_ms_p50']:.2f}",
        f"{e['onnx_speedup_one']:.1f}x faster",
    )
    table.add_row(
        "bulk embedding, onnx (texts/s)",
        f"{e['onnx']['bulk_texts_per_s']:.0f}",
        f"torch {e['torch']['bulk_texts_per_s']:.0f}",
        f"{e['onnx_speedup_bulk']:.2f}x",
    )
    table.add_row(
        "start-up to first answer, onnx (s)",
        f"{s['search, onnx']:.2f}",
        f"torch {s['search, torch']:.2f}",
        f"{s['torch_over_onnx']:.1f}x faster",
    )
    table.add_row(
        "import 2,000 real questions (s)",
        f"{i['import_s']:.2f}",
        f"bare embedding {i['bare_embedding_s']:.2f}",
        f"{i['ratio']:.2f}",
    )
    for name in ("tantivy", "fts5"):
        table.add_row(
            f"search at {q['entries']:,} ({q['index_kind']}, {name}), p50 ms",
            f"{q['search_ms'][name]['p50']:.2f}",
            f"bare embedding {q['bare_embed_ms']['p50']:.2f}",
            f"{q['ratio_p50'][name]:.2f}",
        )
    table.add_row(
        "lexical part alone, tantivy (ms p50)",
        f"{q['lexical_ms_p50']['tantivy']:.2f}",
        f"FTS5 {q['lexical_ms_p50']['fts5']:.2f}",
        f"{q['lexical_ms_p50']['fts5'] / q['lexical_ms_p50']['tantivy']:.0f}x faster",
    )
    table.add_row(
        "lone question, batched embedder (ms p50)",
        f"{q['search_ms_batched_embedder_alone']['p50']:.2f}",
        f"unbatched {q['search_ms']['tantivy']['p50']:.2f}",
        f"{q['search_ms_batched_embedder_alone']['p50'] / q['search_ms']['tantivy']['p50']:.2f}",
    )
    console.print(table)
    flow = Table(title="Throughput: questions sent open-loop at each rate (answered/s, "
                 "drain s after the last, latency p50/p95 ms)")
    flow.add_column("variant")
    for rate in RATES:
        flow.add_column(f"{rate}/s", justify="right")
    for name, rates in q["throughput"].items():
        flow.add_row(name, *(
            "{answered_per_s:.0f}, {drain_s:.1f} s, {latency_ms_p50:.0f}/{latency_ms_p95:.0f}"
            .format(**rates[r]) for r in RATES
        ))
    console.print(flow)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
