"""Malformed import files through the real `switchboard import`: no traceback, no half-write.

    HF_HUB_OFFLINE=1 python -m bench.chaos_imports [--quick] [--files 400] [--seed 14]

Seeded random files (.jsonl, .csv, .md, folders of .md, odd paths) each mix a few good rows
with one or more defects: bytes that are not UTF-8, UTF-16, lone surrogates, NUL, created_at
at year 1 or 9999, deep JSON, 5,000-digit ids, repeated keys, NaN, CSV cells over 128 KiB,
unclosed quotes, text after a closing quote, duplicated or missing header columns, front
matter with integer keys, tags or lists, unclosed front matter, empty files, binary noise,
random byte flips, missing paths, fifos, names that are not UTF-8. Each file is imported twice
by `switchboard.cli.main` (click's CliRunner, a real home with the real model): without and
then with --skip-invalid.

Figures: files, runs, tracebacks (an exception other than a clean exit, or "Traceback" in the
output), partial_writes (a refused import that changed the entries or their audit log),
skip_invalid_aborts (--skip-invalid exiting non-zero on a file that held good rows),
good_rows_lost (good rows a --skip-invalid run did not import, where their number is known),
errors_without_location (a refusal whose message names no file, or a problem line with no line
number), refused, clean_imports, rows_imported, seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from bench.common import MODEL_CACHE
from switchboard.cli import main
from switchboard.settings import Settings


@dataclass(frozen=True)
class Case:
    """A generated import: its path, its kind, and how many good rows it holds (None: unknown)."""

    path: Path
    kind: str
    good: int | None


def good_rows(rng: random.Random, count: int) -> list[dict]:
    return [
        {"id": f"g{rng.randrange(10**9)}", "question": f"How do I fix problem {rng.random():.9f}?",
         "answer": f"Restart it, then {rng.choice(['wait', 'retry', 'ask IT'])}.",
         "tags": rng.sample(["it", "vpn", "billing", "hr"], 2), "created_at": "2024-03-01"}
        for _ in range(count)
    ]


def jsonl_lines(rows: list[dict]) -> list[bytes]:
    return [json.dumps(row).encode() for row in rows]


BAD_JSONL: dict[str, Callable[[random.Random], bytes]] = {
    "latin1": lambda r: '{"question": "café?", "answer": "oui"}'.encode("latin-1"),
    "bad_byte": lambda r: b'{"question": "a\xffb", "answer": "x"}',
    "surrogate": lambda r: b'{"question": "a\\ud800b", "answer": "x"}',
    "surrogate_key": lambda r: b'{"question": "q", "answer": "x", "\\udcff": 1}',
    "nul": lambda r: b'{"question": "q", "answer": "x\\u0000"}',
    "year1": lambda r: b'{"question": "q", "answer": "x", "created_at": "0001-01-01T00:00+01"}',
    "year9999": lambda r: b'{"question": "q", "answer": "x", "created_at": "9999-12-31T23-05"}',
    "bad_date": lambda r: b'{"question": "q", "answer": "x", "created_at": "last tuesday"}',
    "deep": lambda r: b'{"question": "q", "answer": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "digits": lambda r: b'{"question": "q", "answer": "x", "id": ' + b"7" * 5_000 + b"}",
    "long_id": lambda r: json.dumps({"question": "q", "answer": "x", "id": "7" * 5_000}).encode(),
    "repeated_key": lambda r: b'{"question": "q", "answer": "x", "answer": "y"}',
    "nan": lambda r: b'{"question": "q", "answer": NaN}',
    "not_object": lambda r: r.choice([b"[1, 2]", b'"text"', b"42", b"null", b"true"]),
    "truncated": lambda r: b'{"question": "q", "answ',
    "noise": lambda r: bytes(r.randrange(256) for _ in range(r.randrange(1, 80))).replace(
        b"\n", b" "),
    "wrong_types": lambda r: json.dumps(
        {"question": r.choice([["q"], {"a": 1}, True, None]), "answer": "x"}).encode(),
    "bad_fields": lambda r: json.dumps({"question": "q", "answer": "x", **r.choice([
        {"visibility": "team:all"}, {"source_url": "javascript:alert(1)"}, {"status": "gone"},
        {"tags": [1, 2]}, {"kind": "[/bold]"}, {"answer": "a" * 100_001}])}).encode(),
    "markup": lambda r: json.dumps({"question": "q", "answer": "", "[/]": "[bold]x"}).encode(),
}

BAD_CSV: dict[str, Callable[[random.Random], bytes]] = {
    "latin1": lambda r: "café?,oui".encode("latin-1"),
    "bad_byte": lambda r: b'"two\nlines\xff",x',
    "unclosed_quote": lambda r: b'"never closed,x',
    "after_quote": lambda r: b'"quoted"tail,x',
    "huge_cell": lambda r: b"big," + b"a" * 140_000,
    "extra_values": lambda r: b"q,a,b,c,d,e,f,g",
    "nul": lambda r: b"q\x00,x",
    "year1": lambda r: b"q,x,0001-01-01",
    "noise": lambda r: bytes(r.randrange(256) for _ in range(r.randrange(1, 80))).replace(
        b"\n", b" ").replace(b"\r", b" ").replace(b'"', b"'"),
    "surrogate": lambda r: "q\ud800,x".encode("utf-8", "surrogatepass"),
}

BAD_MARKDOWN: dict[str, Callable[[random.Random], bytes]] = {
    "int_key": lambda r: b"---\n1: 2\nquestion: q\n---\nbody\n",
    "list": lambda r: b"---\n- a\n- b\n---\nbody\n",
    "unclosed": lambda r: b"---\nquestion: q\nbody\n",
    "yaml_error": lambda r: b"---\ntags: [unclosed\n---\nbody\n",
    "latin1": lambda r: "---\nquestion: café\n---\nbody\n".encode("latin-1"),
    "binary_value": lambda r: b"---\nquestion: !!binary aGk=\n---\nbody\n",
    "python_tag": lambda r: b"---\nquestion: !!python/object/apply:os.system [ls]\n---\nb\n",
    "digits": lambda r: b"---\nquestion: " + b"9" * 5_000 + b"\n---\nbody\n",
    "deep": lambda r: b"---\nquestion: " + b"[" * 5_000 + b"]" * 5_000 + b"\n---\nbody\n",
    "year1": lambda r: b"---\nquestion: q\ncreated_at: 0001-01-01\n---\nbody\n",
    "bool": lambda r: b"---\nquestion: yes\n---\nbody\n",
    "empty": lambda r: b"",
    "utf16": lambda r: "# q?\nanswer".encode("utf-16"),
}


def mutate(rng: random.Random, data: bytes) -> bytes:
    """`data` with a few bytes inserted, replaced or deleted."""
    buffer = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(buffer) + 1)
        chunk = rng.choice([b'"', b",", b"\n", b"\r", b"\xff", b"\x00", b"{", b"---\n", b":",
                            bytes([rng.randrange(256)])])
        if rng.random() < 0.5:
            buffer[at:at] = chunk
        else:
            del buffer[at : at + rng.randrange(1, 4)]
    return bytes(buffer)


def make_case(rng: random.Random, folder: Path, number: int) -> Case:
    """One generated import under `folder`."""
    kind = rng.choice(["jsonl", "jsonl", "csv", "csv", "md", "mutated", "file", "path"])
    good = good_rows(rng, rng.randrange(0, 4))
    base = folder / f"{number:04d}"
    base.mkdir()
    if kind == "jsonl":
        name, bad = rng.choice(sorted(BAD_JSONL.items()))
        lines = jsonl_lines(good) + [bad(rng) for _ in range(rng.randrange(1, 3))]
        rng.shuffle(lines)
        path = base / "kb.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        return Case(path, f"jsonl:{name}", len(good))
    if kind == "csv":
        name, bad = rng.choice(sorted(BAD_CSV.items()))
        header = b"question,answer,created_at"
        lines = [f"{row['question']},\"{row['answer']}\",2024-03-01".encode() for row in good]
        lines.insert(rng.randrange(len(lines) + 1), bad(rng))  # rows after it must survive too
        path = base / "kb.csv"
        path.write_bytes(b"\r\n".join([header, *lines]) + b"\r\n")
        return Case(path, f"csv:{name}", len(good))
    if kind == "md":
        name, bad = rng.choice(sorted(BAD_MARKDOWN.items()))
        (base / "kb").mkdir()
        for index, row in enumerate(good):
            (base / "kb" / f"good{index}.md").write_text(f"# {row['question']}\n{row['answer']}\n")
        (base / "kb" / "bad.md").write_bytes(bad(rng))
        return Case(base / "kb", f"md:{name}", len(good))
    if kind == "mutated":
        suffix = rng.choice([".jsonl", ".csv", ".md"])
        path = base / f"kb{suffix}"
        text = {".jsonl": b"\n".join(jsonl_lines(good or good_rows(rng, 2))),
                ".csv": b'question,answer\n"a, b",c\nd,"e\nf"\n',
                ".md": b"---\ntags: [a, b]\ncreated_at: 2024-01-01\n---\n# q?\nbody\n"}[suffix]
        path.write_bytes(mutate(rng, text))
        return Case(path, f"mutated:{suffix}", None)
    if kind == "file":
        name = rng.choice(["empty.jsonl", "blank.csv", "header.csv", "dup_header.csv",
                           "no_answer.csv", "utf16.csv", "binary.jsonl", "binary.csv", "bom.csv"])
        content = {"empty.jsonl": b"", "blank.csv": b"\n\n", "header.csv": b"question,answer\n",
                   "dup_header.csv": b"question,answer,answer\nq,a,b\n",
                   "no_answer.csv": b"question,tags\nq,t\n",
                   "utf16.csv": "question,answer\nq,a\n".encode("utf-16"),
                   "binary.jsonl": bytes(rng.randrange(256) for _ in range(3000)),
                   "binary.csv": bytes(rng.randrange(256) for _ in range(3000)),
                   "bom.csv": b"\xef\xbb\xbfquestion,answer\nq?,a\n"}[name]
        (base / name).write_bytes(content)
        return Case(base / name, f"file:{name}", 1 if name == "bom.csv" else 0)
    name = rng.choice(["missing", "empty_folder", "fifo", "unknown_type", "long_name",
                       "undecodable_name"])
    path = base / "missing.jsonl"
    if name == "empty_folder":
        path = base / "empty"
        path.mkdir()
    elif name == "fifo":
        path = base / "pipe.csv"
        os.mkfifo(path)
    elif name == "unknown_type":
        path = base / "kb.xlsx"
        path.write_bytes(b"PK\x03\x04")
    elif name == "long_name":
        path = base / ("x" * 5_000 + ".jsonl")
    elif name == "undecodable_name":
        path = base / "kb"
        path.mkdir()
        (path / os.fsdecode(b"caf\xe9.md")).write_text("# q?\nanswer\n")
    return Case(path, f"path:{name}", 0)


_PROBLEM_LINE = re.compile(r"^  (\S.*:\d+: \S|\.\.\. and \d+ more$)")


def located(output: str) -> bool:
    """Whether a refusal names a file and, for bad rows, the line of each."""
    lines = [line for line in output.strip().splitlines() if not line.startswith("warning: ")]
    if not lines or not lines[0].startswith("Error: "):
        return False
    return all(_PROBLEM_LINE.match(line) for line in lines[1:])


def run(quick: bool = False, files: int | None = None, seed: int = 14) -> dict:
    """Import `files` generated files twice each; return the figures (see the module docstring)."""
    count = files or (16 if quick else 400)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="chaos-imports-"))
    env = {"SWITCHBOARD_HOME": str(workdir / "home"), "SWITCHBOARD_MODEL_CACHE": str(MODEL_CACHE),
           "HF_HUB_OFFLINE": "1"}
    database = Settings.from_env(env).database_path
    runner = CliRunner()

    def snapshot() -> str:
        with sqlite3.connect(database) as conn:
            rows = [*conn.execute("SELECT * FROM entries ORDER BY id"),
                    *conn.execute("SELECT * FROM entry_audit ORDER BY id")]
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    (workdir / "files").mkdir()
    seed_file = workdir / "seed.jsonl"
    seed_file.write_bytes(b"\n".join(jsonl_lines(good_rows(rng, 3))))
    runner.invoke(main, ["import", str(seed_file)], env=env, catch_exceptions=False)
    figures: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    for number in range(count):
        case = make_case(rng, workdir / "files", number)
        kinds[case.kind.split(":")[0]] += 1
        for skip in (False, True):
            before = snapshot()
            args = ["import", str(case.path), *(["--skip-invalid"] if skip else [])]
            result = runner.invoke(main, args, env=env)
            figures["runs"] += 1
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            if crashed or "Traceback" in result.output:
                figures["tracebacks"] += 1
                figures["skip_invalid_aborts"] += bool(skip and case.good)
                print(f"traceback: {case.kind} {case.path}: {result.exception!r}", file=sys.stderr)
                continue
            if result.exit_code != 0:
                figures["refused"] += 1
                figures["partial_writes"] += snapshot() != before
                if not located(result.output):
                    figures["errors_without_location"] += 1
                    print(f"unlocated: {case.kind}: {result.output[:300]!r}", file=sys.stderr)
                if skip and case.good:
                    figures["skip_invalid_aborts"] += 1
                    print(f"abort: {case.kind}: {result.output[:200]}", file=sys.stderr)
                continue
            imported = re.search(r"Imported (\d+) row", result.output)
            rows = int(imported.group(1)) if imported else 0
            figures["rows_imported"] += rows
            figures["clean_imports"] += not skip
            if skip and case.good is not None and rows < case.good:
                figures["good_rows_lost"] += case.good - rows
                print(f"lost: {case.kind}: {result.output[:300]}", file=sys.stderr)
        if number % 50 == 49:
            print(f"{number + 1}/{count} files", file=sys.stderr)
    return {
        "files": count,
        "runs": figures["runs"],
        "tracebacks": figures["tracebacks"],
        "partial_writes": figures["partial_writes"],
        "skip_invalid_aborts": figures["skip_invalid_aborts"],
        "good_rows_lost": figures["good_rows_lost"],
        "errors_without_location": figures["errors_without_location"],
        "refused": figures["refused"],
        "clean_imports": figures["clean_imports"],
        "rows_imported": figures["rows_imported"],
        "kinds": ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--files", type=int)
    parser.add_argument("--seed", type=int, default=14)
    options = parser.parse_args()
    print(json.dumps(run(options.quick, options.files, options.seed), indent=2))


if __name__ == "__main__":
    main_cli()
