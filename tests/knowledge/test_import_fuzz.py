"""Whatever an import file holds, reading it gives checked rows or a named error, and a bad file
changes nothing: hypothesis over bytes, JSON values, CSV text and front matter, then the real
`switchboard import` command end to end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.errors import SwitchboardError
from knowledge.importing import FIELDS, ParsedFile, read_entries
from knowledge.store import Store
from switchboard.cli import main
from switchboard.settings import Settings

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

GOOD = {
    ".jsonl": b'{"id": "k1", "question": "How do I reset MFA?", "answer": "Ask IT.", '
              b'"tags": ["it"], "created_at": "2024-01-02"}\n'
              b'{"question": "Where is the VPN config?", "answer": "IT portal."}\n',
    ".csv": b'id,question,answer,tags\nk1,How do I reset MFA?,"Ask\nIT.",it\n'
            b'k2,"Where is the ""VPN"" config?",IT portal.,"a,b"\n',
    ".md": b"---\nid: k1\ntags: [it]\ncreated_at: 2024-01-02\n---\n# How do I reset MFA?\n\n"
           b"Ask IT.\n",
}


def check_read(path: Path) -> ParsedFile | None:
    """Read `path`; assert the outcome is a named, one-line error or rows that can all be stored."""
    try:
        parsed = read_entries(path)
    except SwitchboardError as error:
        message = str(error)
        assert message.isprintable() and message.startswith(path.name), message
        return None
    lines = max(1, len(path.read_bytes().splitlines()))
    for problem in parsed.problems:
        text = str(problem)
        assert text.isprintable() and text.startswith(f"{path.name}:{problem.line}: "), text
        assert 1 <= problem.line <= lines
    assert all(warning.isprintable() for warning in parsed.warnings)
    assert all(1 <= row.line <= lines for row in parsed.rows)
    store = Store.in_memory()  # every good row can be written, all in one go
    result = store.upsert_entries(parsed.drafts)
    assert len(result.created) + len(result.unchanged) == len(parsed.rows)
    return parsed


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("import-fuzz")


def fuzz_file(folder: Path, suffix: str, data: bytes) -> Path:
    """`data` as the file kb<suffix> in a new subfolder of `folder`."""
    path = folder / str(len(list(folder.iterdir()))) / f"kb{suffix}"
    path.parent.mkdir()
    path.write_bytes(data)
    return path


@st.composite
def mutated(draw: st.DrawFn, suffix: str) -> bytes:
    """A good file with a few bytes inserted, replaced or deleted."""
    data = bytearray(GOOD[suffix])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "replace", "delete"]))
        chunk = draw(st.binary(min_size=1, max_size=4)
                     | st.sampled_from([b'"', b",", b"\n", b"\r", b"\xff", b"\xed\xa0\x80",
                                        b"\x00", b"---\n", b":", b"[", b"{", b"\\ud800"]))
        if action == "insert":
            data[at:at] = chunk
        elif action == "replace":
            data[at : at + len(chunk)] = chunk
        else:
            del data[at : at + len(chunk)]
    return bytes(data)


@FUZZ
@given(st.sampled_from(sorted(GOOD)).flatmap(
    lambda suffix: st.tuples(st.just(suffix), st.binary(max_size=600) | mutated(suffix))))
def test_any_bytes_read_as_rows_or_a_named_error(scratch: Path, case: tuple[str, bytes]) -> None:
    check_read(fuzz_file(scratch, *case))


def joined(tokens: list[str], max_size: int) -> st.SearchStrategy[str]:
    """Strings made of `tokens` (so that rare, awkward characters come up often)."""
    return st.lists(st.sampled_from(tokens), max_size=max_size).map("".join)


odd_text = joined(["Q", "a", " ", "\ud800", "\udcff", "\x00", "[/]", "\n", "é", "9" * 5_000,
                   "0001-01-01+01:00", "users:", "U01"], 6)
json_values = st.recursive(
    odd_text | st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
field_values = (odd_text | st.sampled_from(["Q?", "A.", "2024-01-02", "faq", "9" * 300])
                | json_values)
json_rows = (
    st.fixed_dictionaries(
        {"question": field_values, "answer": field_values},
        optional={name: field_values for name in FIELDS if name not in ("question", "answer")},
    )
    | st.dictionaries(st.sampled_from(FIELDS) | odd_text, json_values, max_size=4)
    | json_values
)


@FUZZ
@given(st.lists(json_rows, min_size=1, max_size=5), st.booleans())
def test_any_json_values_read_as_rows_or_a_named_error(scratch: Path, rows: list,
                                                       ascii_only: bool) -> None:
    text = "\n".join(json.dumps(row, ensure_ascii=ascii_only) for row in rows)
    parsed = check_read(fuzz_file(scratch, ".jsonl", text.encode("utf-8", "surrogatepass")))
    if parsed is not None:
        assert len(parsed.rows) + len(parsed.problems) == len(rows)


csv_text = joined([*'qa,"\n\r \t\x00é\ud800;', "Q?", "A."], 120)


@FUZZ
@given(st.sampled_from(["question,answer", "id,question,answer,tags", "question,answer,answer",
                        "question", '"question","answer"']), csv_text)
def test_any_csv_text_reads_as_rows_or_a_named_error(scratch: Path, header: str, body: str) -> None:
    data = f"{header}\n{body}".encode("utf-8", "surrogatepass")
    parsed = check_read(fuzz_file(scratch, ".csv", data))
    if parsed is not None:
        lines = [r.line for r in parsed.rows] + [p.line for p in parsed.problems]
        assert len(lines) == len(set(lines))  # one outcome per record


yaml_text = joined([*FIELDS, ": ", "- ", "\n", " ", "[", "]", "{", "}", "!!", "&a", "*a", '"', "'",
                    "1", "2024-01-02", "~", "yes", "?", "|", "\t", "\\ud800", "\ud800"], 40)


@FUZZ
@given(yaml_text, st.text(max_size=40), st.booleans())
def test_any_front_matter_reads_as_a_row_or_a_problem(scratch: Path, front: str, body: str,
                                                      fenced: bool) -> None:
    text = f"---\n{front}\n---\n{body}" if fenced else f"---\n{front}\n{body}"
    parsed = check_read(fuzz_file(scratch, ".md", text.encode("utf-8", "surrogatepass")))
    assert parsed is not None and len(parsed.rows) + len(parsed.problems) == 1


# -- the command itself ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(model_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run `switchboard import` in-process on one home that already holds two entries."""
    home = tmp_path_factory.mktemp("home")
    env = {"SWITCHBOARD_HOME": str(home), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}
    database = Settings.from_env(env).database_path

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(main, ["import", *args], env=env)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    def snapshot() -> list[tuple]:
        with sqlite3.connect(database) as conn:
            return [*conn.execute("SELECT * FROM entries ORDER BY id"),
                    *conn.execute("SELECT * FROM entry_audit ORDER BY id")]

    invoke(str(fuzz_file(home, ".jsonl", GOOD[".jsonl"])))
    invoke.snapshot = snapshot  # type: ignore[attr-defined]
    return invoke


def test_cli_rejects_each_bad_file_in_one_line_and_changes_nothing(cli, tmp_path: Path) -> None:
    before = cli.snapshot()
    assert len(before) == 4  # two entries, two audit records
    updates_then_breaks = tmp_path / "kb.jsonl"
    updates_then_breaks.write_bytes(
        b'{"id": "k1", "question": "How do I reset MFA?", "answer": "Changed."}\n'
        b'{"question": "caf\xe9?", "answer": "x"}\n'
    )
    cases = {
        updates_then_breaks: "kb.jsonl:2: not UTF-8 (byte 0xE9 at column 18)",
        tmp_path / "missing.csv": "missing.csv does not exist.",
        fuzz_file(tmp_path, ".csv", b"question,answer,answer\nq,a,b\n"):
            "kb.csv:1: the column 'answer'",
        fuzz_file(tmp_path, ".jsonl", b""): "kb.jsonl holds no rows: nothing to import.",
        fuzz_file(tmp_path, ".xlsx", b"PK\x03\x04"): "kb.xlsx: unknown file type.",
    }
    for path, message in cases.items():
        result = cli(str(path))
        assert result.exit_code == 1 and message in result.output, result.output
        assert cli.snapshot() == before
    single = cli(str(fuzz_file(tmp_path, ".csv", b"question,tags\nq,t\n")))
    assert single.output.count("\n") == 1 and single.output.startswith("Error: kb.csv:1: ")


def test_cli_skip_invalid_imports_good_rows_whatever_the_bad_ones_hold(cli, tmp_path: Path) -> None:
    before = len(cli.snapshot())
    data = (
        'question,answer\n"[/yellow] [bold]markup?",yes\nbig,' + "a" * 140_000
        + '\nnul\x00,x\n'
    ).encode() + b'bad \xff,x\nfine?,"yes\nit is"\n"unclosed,quote\nafter?,ok\n'
    result = cli(str(fuzz_file(tmp_path, ".csv", data)), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "Imported 3 row(s)" in result.output and "3 new" in result.output
    assert "4 skipped" in result.output
    skipped = [line for line in result.output.splitlines() if line.startswith("skipped ")]
    assert [line.split(":")[1] for line in skipped] == ["3", "4", "5", "8"]
    assert "a quoted cell starting on this row is never closed" in skipped[3]
    assert len(cli.snapshot()) == before + 6  # three entries, three audit records
