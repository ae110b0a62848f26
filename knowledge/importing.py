"""Reading knowledge from files: JSONL, CSV, or a folder of Markdown files; and writing JSONL.

Every row is checked before anything is written. A bad row is reported with its file, line and
reason; the caller decides whether to import nothing (the default) or only the good rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from knowledge.errors import InvalidInput, RowProblem
from knowledge.models import (
    Entry,
    EntryDraft,
    EntryKind,
    EntryStatus,
    Visibility,
    format_time,
    parse_time,
)
from knowledge.store import Store

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
MAX_QUESTION = 4_000
MAX_ANSWER = 100_000
_STATUS_ALIASES = {"pending": "pending_review", "review": "pending_review", "": "published"}
_KIND_ALIASES = {"past_case": "case", "expert": "expert_answer", "faq": "article", "": "case"}


@dataclass(frozen=True)
class ParsedRow:
    source: str
    line: int
    draft: EntryDraft


@dataclass
class ParsedFile:
    """The good rows of an import and the problems found in the bad ones."""

    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def drafts(self) -> list[EntryDraft]:
        return [row.draft for row in self.rows]


def read_entries(path: Path) -> ParsedFile:
    """Parse an import file (by extension) or a folder of Markdown files."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist.")
    if path.is_dir():
        records = _markdown_records(path)
    elif path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        records = _jsonl_records(path)
    elif path.suffix.lower() == ".csv":
        records = _csv_records(path)
    elif path.suffix.lower() in (".md", ".markdown"):
        records = _markdown_records(path)
    else:
        raise InvalidInput(
            f"{path.name}: unknown file type. Import .jsonl, .csv, or a folder of .md files."
        )
    parsed = ParsedFile()
    seen_ids: dict[str, int] = {}
    unknown: set[str] = set()
    for source, line, record in records:
        if isinstance(record, RowProblem):
            parsed.problems.append(record)
            continue
        unknown.update(k for k in record if k not in FIELDS)
        try:
            draft = draft_from_record(record)
        except InvalidInput as problem:
            parsed.problems.append(RowProblem(source, line, str(problem)))
            continue
        if draft.external_id is not None:
            if draft.external_id in seen_ids:
                parsed.problems.append(
                    RowProblem(
                        source,
                        line,
                        f"id {draft.external_id!r} already used on line "
                        f"{seen_ids[draft.external_id]}: ids must be unique.",
                    )
                )
                continue
            seen_ids[draft.external_id] = line
        parsed.rows.append(ParsedRow(source, line, draft))
    if unknown:
        parsed.warnings.append(
            f"ignored unknown field(s): {', '.join(sorted(unknown))} (known: {', '.join(FIELDS)})"
        )
    return parsed


def draft_from_record(record: dict[str, Any]) -> EntryDraft:
    """Check one record's fields and turn it into an EntryDraft (InvalidInput says what's wrong)."""
    question = _text(record, "question", required=True, limit=MAX_QUESTION)
    answer = _text(record, "answer", required=True, limit=MAX_ANSWER)
    raw_id = record.get("id")
    if isinstance(raw_id, bool) or (raw_id is not None and not isinstance(raw_id, str | int)):
        raise InvalidInput("'id' must be a string or a whole number.")
    external_id = str(raw_id).strip() if raw_id not in (None, "") else None
    source_url = _text(record, "source_url") or None
    if source_url and not source_url.startswith(("http://", "https://")):
        raise InvalidInput(f"'source_url' {source_url!r} must start with http:// or https://.")
    created = _text(record, "created_at")
    return EntryDraft(
        question=question,
        answer=answer,
        external_id=external_id,
        answered_by=_text(record, "answered_by") or None,
        tags=_tags(record.get("tags")),
        source_url=source_url,
        kind=_choice(record, "kind", EntryKind, _KIND_ALIASES),
        status=_choice(record, "status", EntryStatus, _STATUS_ALIASES),
        visibility=Visibility.parse(_text(record, "visibility")),
        created_at=parse_time(created) if created else None,
    )


def _text(record: dict[str, Any], name: str, required: bool = False, limit: int = 2_000) -> str:
    value = record.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be text, not {type(value).__name__}.")
    text = str(value).strip()
    if required and not text:
        raise InvalidInput(f"'{name}' is missing or empty.")
    if len(text) > limit:
        raise InvalidInput(f"'{name}' is {len(text):,} characters long; the limit is {limit:,}.")
    return text


def _tags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.replace(";", ",").split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise InvalidInput("'tags' must be a list of strings or a comma-separated string.")
    return tuple(dict.fromkeys(t.strip().lower() for t in items if t.strip()))


def _choice(record: dict[str, Any], name: str, kind: type, aliases: dict[str, str]) -> Any:
    raw = _text(record, name).lower().replace(" ", "_").replace("-", "_")
    raw = aliases.get(raw, raw)
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"'{name}' is {raw!r}; use one of: {allowed}.") from None


Record = tuple[str, int, "dict[str, Any] | RowProblem"]


def _jsonl_records(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield (
                    path.name,
                    number,
                    RowProblem(path.name, number, f"not valid JSON ({error.msg})."),
                )
                continue
            if not isinstance(record, dict):
                yield (
                    path.name,
                    number,
                    RowProblem(path.name, number, "each line must be a JSON object."),
                )
                continue
            yield path.name, number, record


def _csv_records(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "question" not in reader.fieldnames:
            yield (
                path.name,
                1,
                RowProblem(path.name, 1, "the header row must name a 'question' column."),
            )
            return
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                yield (
                    path.name,
                    start,
                    RowProblem(path.name, start, "more values than header columns."),
                )
            elif any(v is not None and v.strip() for v in row.values()):
                yield path.name, start, {k.strip(): v for k, v in row.items() if k}
            start = reader.line_num + 1


def _markdown_records(path: Path) -> Iterator[Record]:
    files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
    if not files:
        yield path.name, 1, RowProblem(path.name, 1, "the folder holds no .md files.")
    for file in files:
        name = str(file.relative_to(path)) if path.is_dir() else file.name
        try:
            post = frontmatter.loads(file.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            yield name, 1, RowProblem(name, 1, f"unreadable front matter ({error}).")
            continue
        record = dict(post.metadata)
        body = post.content.strip()
        if "question" not in record and body.startswith("# "):
            heading, _, body = body.partition("\n")
            record["question"] = heading[2:].strip()
        record.setdefault("answer", body.strip())
        record.setdefault(
            "id", file.relative_to(path).with_suffix("").as_posix() if path.is_dir() else file.stem
        )
        yield name, 1, _plain(record)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """YAML front matter gives dates as date objects; imports read them as ISO text."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in record.items()}


def entry_record(entry: Entry) -> dict[str, Any]:
    """An entry as an import record (what `export` writes; `import` reads it back unchanged)."""
    return {
        # Entries made in Slack have no external id; a re-import matches them by their text.
        "id": entry.external_id,
        "question": entry.question,
        "answer": entry.answer,
        "answered_by": entry.answered_by,
        "tags": list(entry.tags),
        "created_at": format_time(entry.created_at),
        "source_url": entry.source_url,
        "kind": entry.kind.value,
        "visibility": str(entry.visibility),
        "status": entry.status.value,
    }


def write_jsonl(entries: Iterable[Entry], path: Path) -> int:
    """Write entries as JSONL to `path` (atomically); return how many were written."""
    temporary = path.with_name(path.name + ".tmp")
    count = 0
    with temporary.open("w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry_record(entry), ensure_ascii=False) + "\n")
            count += 1
    temporary.replace(path)
    return count


@dataclass(frozen=True)
class ChannelImport:
    """Where an import of a Slack channel's history stands (see bot/history_import.py)."""

    channel: str
    cursor: str | None  # the next page, when a run was interrupted
    oldest: str | None  # only messages after this ts (what a finished run had seen)
    threads: int
    candidates: int
    done: bool


class ChannelImports:
    """Progress of Slack channel imports, saved after every page so a run can resume."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, channel: str) -> ChannelImport | None:
        rows = self.store.query("SELECT * FROM slack_imports WHERE channel = ?", [channel])
        if not rows:
            return None
        r = rows[0]
        return ChannelImport(channel, r["cursor"], r["oldest"], r["threads"], r["candidates"],
                             bool(r["done"]))

    def save(self, state: ChannelImport) -> None:
        with self.store.transaction():
            self.store.db.execute(
                "INSERT INTO slack_imports (channel, cursor, oldest, threads, candidates, done, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel) DO UPDATE SET "
                "cursor = excluded.cursor, oldest = excluded.oldest, threads = excluded.threads,"
                " candidates = excluded.candidates, done = excluded.done, "
                "updated_at = excluded.updated_at",
                [state.channel, state.cursor, state.oldest, state.threads, state.candidates,
                 int(state.done), format_time(self.store.clock())],
            )
