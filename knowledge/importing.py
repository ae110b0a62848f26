"""Turning import files into checked entry drafts; writing entries back as JSONL.

Reading the bytes is `knowledge.import_formats`'s job; here each record's fields are checked.
Every row is checked before anything is written: `read_entries` returns the good rows and a
RowProblem (file, line, one printable line saying what to fix) for each bad one, or raises
InvalidInput when the file as a whole is unusable. The caller imports nothing when any row is
bad (the default) or only the good rows (`--skip-invalid`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.errors import InvalidInput, RowProblem
from knowledge.import_formats import FIELDS, NOT_TEXT, printable, read_records
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

__all__ = ["FIELDS", "ParsedFile", "ParsedRow", "draft_from_record", "entry_record",
           "read_entries", "write_jsonl"]

MAX_QUESTION = 4_000
MAX_ANSWER = 100_000
MAX_ID = 200
MAX_TAGS = 50
MAX_TAG = 100
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # created_at must fall in [EARLIEST, LATEST)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
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
    """Parse an import file (by extension) or a folder of Markdown files, checking every row."""
    records = read_records(path)
    parsed = ParsedFile()
    seen_ids: dict[str, tuple[str, int]] = {}
    seen_texts: dict[tuple[str, str], tuple[str, int]] = {}
    unknown: set[str] = set()
    for source, line, record in records:
        if isinstance(record, RowProblem):
            parsed.problems.append(record)
            continue
        unknown.update(k for k in record if k not in FIELDS)
        try:
            draft = draft_from_record(record)
        except InvalidInput as problem:
            parsed.problems.append(RowProblem(source, line, printable(str(problem))))
            continue
        if draft.external_id is not None:
            if draft.external_id in seen_ids:
                first_source, first_line = seen_ids[draft.external_id]
                where = f"line {first_line}" if first_source == source else first_source
                parsed.problems.append(RowProblem(
                    source, line, f"id {draft.external_id!r} already used on {where}: ids must "
                    "be unique."))
                continue
            seen_ids[draft.external_id] = (source, line)
        else:  # matched to an entry by its text: the same text twice would write one entry twice
            if (draft.question, draft.answer) in seen_texts:
                first_source, first_line = seen_texts[(draft.question, draft.answer)]
                where = f"line {first_line}" if first_source == source else first_source
                parsed.problems.append(RowProblem(
                    source, line, f"repeats the question and answer of {where}: keep one row, "
                    "or give each row its own id."))
                continue
        seen_texts.setdefault((draft.question, draft.answer), (source, line))
        parsed.rows.append(ParsedRow(source, line, draft))
    if not parsed.rows and not parsed.problems:
        raise InvalidInput(f"{printable(path.name)} holds no rows: nothing to import.")
    if unknown:
        names = sorted(printable(k[:40]) for k in unknown)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        parsed.warnings.append(
            f"ignored unknown field(s): {', '.join(names[:10])}{more} (known: {', '.join(FIELDS)})"
        )
    return parsed


def draft_from_record(record: dict[str, Any]) -> EntryDraft:
    """Check one record's fields and turn it into an EntryDraft (InvalidInput says what's wrong)."""
    question = _text(record, "question", required=True, limit=MAX_QUESTION)
    answer = _text(record, "answer", required=True, limit=MAX_ANSWER)
    raw_id = record.get("id")
    if isinstance(raw_id, bool) or (raw_id is not None and not isinstance(raw_id, str | int)):
        raise InvalidInput("'id' must be a string or a whole number.")
    external_id = _text(record, "id", limit=MAX_ID) or None
    source_url = _text(record, "source_url") or None
    if source_url and not source_url.startswith(("http://", "https://")):
        raise InvalidInput(f"'source_url' {source_url!r} must start with http:// or https://.")
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
        created_at=_created_at(_text(record, "created_at")),
    )


def _text(record: dict[str, Any], name: str, required: bool = False, limit: int = 2_000) -> str:
    value = record.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be text, not {type(value).__name__}.")
    try:
        text = str(value).strip()
    except ValueError:  # an int too long to print (more than sys.get_int_max_str_digits())
        raise InvalidInput(
            f"'{name}' is a number with thousands of digits; write it as text."
        ) from None
    _check_characters(name, text)
    if required and not text:
        raise InvalidInput(f"'{name}' is missing or empty.")
    if len(text) > limit:
        raise InvalidInput(f"'{name}' is {len(text):,} characters long; the limit is {limit:,}.")
    return text


def _check_characters(name: str, text: str) -> None:
    bad = NOT_TEXT.search(text)
    if bad is None:
        return
    char = bad.group()
    if char == "\x00":
        raise InvalidInput(f"'{name}' holds a NUL character (\\x00); remove it.")
    raise InvalidInput(
        f"'{name}' holds {char!r}, which is not text (a lone surrogate, or a byte that is not "
        "UTF-8); fix the text and save the file as UTF-8."
    )


def _tags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.replace(";", ",").split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise InvalidInput("'tags' must be a list of strings or a comma-separated string.")
    tags = tuple(dict.fromkeys(t.strip().lower() for t in items if t.strip()))
    for tag in tags:
        _check_characters("tags", tag)
        if len(tag) > MAX_TAG:
            raise InvalidInput(f"a tag is {len(tag):,} characters long; the limit is {MAX_TAG}.")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"{len(tags):,} tags; the limit is {MAX_TAGS}.")
    return tags


def _choice(record: dict[str, Any], name: str, kind: type, aliases: dict[str, str]) -> Any:
    raw = _text(record, name).lower().replace(" ", "_").replace("-", "_")
    raw = aliases.get(raw, raw)
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"'{name}' is {raw[:50]!r}; use one of: {allowed}.") from None


def _created_at(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_time(text)
    except OverflowError:  # e.g. year 1 with a positive offset: before datetime.min in UTC
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise InvalidInput(
            f"'created_at' {text[:40]!r} is out of range: use a date from {EARLIEST.year} to "
            f"{LATEST.year - 1}, e.g. 2024-05-01."
        )
    return moment


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
