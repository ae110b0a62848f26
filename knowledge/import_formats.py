"""Reading import files into records: JSONL lines, CSV records, Markdown files with front matter.

Whatever the bytes, reading ends in one of two ways, never in another exception:

    InvalidInput     the file as a whole cannot be read: missing, not a file, an unknown type,
                     unreadable, empty, UTF-16, too large, or a CSV header without 'question' and
                     'answer' or naming a column twice
    Record           (source, line, fields), or (source, line, RowProblem) for a row that cannot
                     be read: not UTF-8, not valid JSON or CSV, bad front matter

Line numbers are physical lines: a JSONL line, the line where a CSV record starts (records may
span lines), the line of a Markdown file's front matter that is wrong (else 1). Reasons are
single printable lines: text taken from the file is shown escaped, never raw. Checking the
fields themselves is `knowledge.importing`'s job.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import InvalidInput, RowProblem

FIELDS = (
    "id",
    "question",
    "answer",
    "answered_by",
    "tags",
    "created_at",
    "source_url",
    "kind",
    "visibility",
    "status",
)
MAX_FILE_BYTES = 512 * 1024 * 1024
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # NUL, lone surrogates, undecodable bytes
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8 (surrogateescape)
_FENCE = re.compile(r"-{3,}")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Record = tuple[str, int, "dict[str, Any] | RowProblem"]


def printable(text: str) -> str:
    """`text` as one printable line: control characters, newlines and undecodable bytes escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def read_records(path: Path) -> Iterator[Record]:
    """The records of an import file (by extension) or of a folder of Markdown files."""
    shown = printable(str(path)[:300])
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
    except (OSError, ValueError) as error:  # e.g. a name too long, or no permission
        reason = printable(getattr(error, "strerror", None) or str(error)[:100])
        raise InvalidInput(f"{shown}: cannot use this path ({reason}).") from None
    if not exists:
        raise InvalidInput(f"{shown} does not exist.")
    suffix = path.suffix.lower()
    if is_dir:
        return _markdown_records(path)
    if not is_file:
        raise InvalidInput(f"{shown} is not a regular file: import a .jsonl, .csv or .md file.")
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl_records(path)
    if suffix == ".csv":
        return _csv_records(path)
    if suffix in (".md", ".markdown"):
        return _markdown_records(path)
    raise InvalidInput(
        f"{printable(path.name)}: unknown file type. Import .jsonl, .csv, or a folder of .md files."
    )


class _Unreadable(Exception):
    """A file or row that cannot be read: why (without the file's name), and on which line."""

    def __init__(self, reason: str, line: int = 1) -> None:
        super().__init__(reason)
        self.line = line


def _read_bytes(path: Path) -> bytes:
    """The file's bytes without a UTF-8 BOM; _Unreadable if it is too big, unreadable or UTF-16."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _Unreadable(
                f"the file is {size / 2**20:,.0f} MiB; split it into files under "
                f"{MAX_FILE_BYTES // 2**20} MiB."
            )
        data = path.read_bytes()
    except OSError as error:
        reason = printable(error.strerror or str(error))
        raise _Unreadable(f"cannot read the file ({reason}).") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Unreadable("the file is UTF-16 (or UTF-32); save it as UTF-8 and import it again.")
    return data.removeprefix(codecs.BOM_UTF8)


def _whole_file(path: Path) -> bytes:
    try:
        return _read_bytes(path)
    except _Unreadable as error:
        raise InvalidInput(f"{printable(path.name)}: {error}") from None


def _not_utf8(byte: int, where: str = "") -> str:
    return f"not UTF-8 (byte 0x{byte:02X}{where}); save the file as UTF-8 and import it again."


def _jsonl_records(path: Path) -> Iterator[Record]:
    name = printable(path.name)
    for number, raw in enumerate(_whole_file(path).splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = _json_object(raw)
        except _Unreadable as error:
            yield name, number, RowProblem(name, number, str(error))
        else:
            yield name, number, record


def _json_object(raw: bytes) -> dict[str, Any]:
    """One JSONL line as a dict; _Unreadable says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Unreadable(_not_utf8(raw[error.start], f" at column {error.start + 1}")) from None
    try:
        record = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise _Unreadable(f"not valid JSON ({error.msg} at column {error.colno}).") from None
    except RecursionError:
        raise _Unreadable("not usable JSON: nested too deeply; a row is one flat object.") from None
    except _JsonRefused as error:
        raise _Unreadable(f"not usable JSON: {error}.") from None
    except ValueError:  # an int with more digits than sys.get_int_max_str_digits()
        raise _Unreadable(
            "not usable JSON: a number has thousands of digits; write it as text."
        ) from None
    if not isinstance(record, dict):
        raise _Unreadable("each line must be a JSON object.")
    return record


class _JsonRefused(ValueError):
    """Valid-looking JSON that a row must not hold."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _JsonRefused(f"the key {printable(key[:40])!r} appears twice")
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _JsonRefused(f"{name} is not a JSON value")


def _csv_records(path: Path) -> Iterator[Record]:
    name = printable(path.name)
    text = _whole_file(path).decode("utf-8", "surrogateescape")
    lines = list(io.StringIO(text, newline=""))  # split on \n, \r\n and \r only, as csv does
    rows = (row for row in _csv_rows(lines) if not isinstance(row[2], list) or any(
        cell.strip() for cell in row[2]))
    header = next(rows, None)
    if header is None:
        raise InvalidInput(f"{name} holds no rows: nothing to import.")
    columns = _csv_header(name, lines, *header)
    for start, end, cells in rows:
        if isinstance(cells, str):
            yield name, start, RowProblem(name, start, cells)
        elif (problem := _csv_row_problem(lines, start, end, cells, len(columns))) is not None:
            yield name, start, RowProblem(name, start, problem)
        else:
            yield name, start, {k: v for k, v in zip(columns, cells, strict=False) if k}


def _csv_rows(lines: list[str]) -> Iterator[tuple[int, int, list[str] | str]]:
    """(first line, last line, cells) per record; cells is the reason when a record is broken.

    After a broken record (an unclosed quote, text after a closing quote, a huge cell), reading
    starts again on the line after the one where it began, so one defect costs one row.
    """
    start = 1
    while start <= len(lines):
        reader = csv.reader((lines[i] for i in range(start - 1, len(lines))), strict=True)
        consumed = 0
        try:
            for cells in reader:
                yield start + consumed, start + reader.line_num - 1, cells
                consumed = reader.line_num
        except csv.Error as error:
            yield start + consumed, start + consumed, _csv_reason(str(error))
            start += consumed + 1
        else:
            return


def _csv_reason(message: str) -> str:
    if "unexpected end of data" in message:
        return (
            "a quoted cell starting on this row is never closed, so it would swallow every "
            'line after it; close the quote (write a quote inside a cell as "").'
        )
    if "expected after" in message:
        return (
            "text follows a closing quote inside a cell; quote the whole cell and write a "
            'quote inside it as "".'
        )
    if "field limit" in message:
        return (
            f"a cell is over {csv.field_size_limit():,} characters long, longer than any field "
            "may be; shorten it."
        )
    return f"not valid CSV ({printable(message)})."


def _csv_header(name: str, lines: list[str], start: int, end: int,
                cells: list[str] | str) -> list[str]:
    """The header row's column names; InvalidInput if no row can be read with them."""
    problem = cells if isinstance(cells, str) else _csv_row_problem(lines, start, end, cells, None)
    if problem is not None:
        raise InvalidInput(f"{name}:{start}: the header row is unusable: {problem}")
    columns = [c.strip() for c in cells]
    first: dict[str, int] = {}
    for index, column in enumerate(columns, 1):
        if column in first:
            raise InvalidInput(
                f"{name}:{start}: the column {printable(column[:40])!r} appears twice in the "
                f"header row (columns {first[column]} and {index}); keep one."
            )
        if column:
            first[column] = index
    missing = [c for c in ("question", "answer") if c not in columns]
    if missing:
        found = ", ".join(repr(printable(c[:40])) for c in columns[:10])
        raise InvalidInput(
            f"{name}:{start}: the header row must name the 'question' and 'answer' columns "
            f"(it names {found}); use the field names: {', '.join(FIELDS)}."
        )
    return columns


def _csv_row_problem(lines: list[str], start: int, end: int, cells: list[str],
                     width: int | None) -> str | None:
    """What is wrong with a record the csv module could read: bytes not UTF-8, too many cells."""
    for number in range(start, end + 1):
        bad = _ESCAPED_BYTE.search(lines[number - 1])
        if bad is not None:
            where = f" on line {number}" if number != start else ""
            return _not_utf8(ord(bad.group()) - 0xDC00, where)
    if width is not None and len(cells) > width and any(c.strip() for c in cells[width:]):
        return (
            f"{len(cells)} values for {width} header columns; quote cells that hold commas."
        )
    return None


def _markdown_records(path: Path) -> Iterator[Record]:
    if path.is_dir():
        try:
            files = sorted(file for file in path.rglob("*.md") if file.is_file())
        except OSError as error:
            raise InvalidInput(
                f"{printable(str(path))}: cannot read the folder ({printable(str(error))})."
            ) from None
        if not files:
            raise InvalidInput(f"{printable(str(path))}: the folder holds no .md files.")
    else:
        files = [path]
    for file in files:
        relative = file.relative_to(path) if path.is_dir() else Path(file.name)
        name = printable(str(relative))
        try:
            record = _markdown_record(_read_bytes(file))
        except _Unreadable as error:
            yield name, error.line, RowProblem(name, error.line, str(error))
            continue
        record.setdefault("id", relative.with_suffix("").as_posix())
        yield name, 1, record


def _markdown_record(data: bytes) -> dict[str, Any]:
    """A Markdown file as a record: its front matter's fields, and its body as the answer.

    Without a `question` field, a first line "# heading" of the body is the question.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Unreadable(_not_utf8(data[error.start], f" on line {line}"), line) from None
    lines = text.splitlines(keepends=True)
    record: dict[str, Any] = {}
    body = text
    if lines and _FENCE.fullmatch(lines[0].strip()):
        close = next(
            (i for i in range(1, len(lines)) if _FENCE.fullmatch(lines[i].strip())
             or lines[i].strip() == "..."),
            None,
        )
        if close is None:
            raise _Unreadable(
                "the front matter opened on line 1 is never closed; end it with a line '---'."
            )
        record = _front_matter("".join(lines[1:close]))
        body = "".join(lines[close + 1 :])
    body = body.strip()
    if "question" not in record and body.startswith("# "):
        heading, _, body = body.partition("\n")
        record["question"] = heading[2:].strip()
    record.setdefault("answer", body.strip())
    return record


def _front_matter(text: str) -> dict[str, Any]:
    """The YAML between the fences as plain fields (dates as ISO text); _Unreadable if not."""
    try:
        loaded = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 2 if error.problem_mark else 1
        reason = printable(error.problem or error.context or "unreadable")
        raise _Unreadable(f"unreadable front matter ({reason}).", line) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        reason = "a number has thousands of digits" if isinstance(error, ValueError) else (
            "nested too deeply" if isinstance(error, RecursionError) else printable(str(error)))
        raise _Unreadable(f"unreadable front matter ({reason}).") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise _Unreadable(
            f"the front matter must be 'field: value' lines, not a {type(loaded).__name__}."
        )
    for key in loaded:
        if not isinstance(key, str):
            raise _Unreadable(
                f"the front matter key {printable(repr(key)[:40])} is not a field name; use "
                f"names such as {', '.join(FIELDS[:5])}."
            )
    # YAML reads unquoted dates as date objects; the fields take them as ISO text.
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in loaded.items()}
