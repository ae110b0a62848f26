"""Phrasings: other wordings of an entry's question, learned from the people who use it.

When someone says an entry solved their question, their wording becomes a phrasing of that
entry, so the next person who asks it that way finds the entry at once. "Not helpful" keeps the
wording as a negative phrasing: the entry is pushed down for similar wordings. An expert's
routed answer makes the original question a phrasing of the entry it was captured into, and a
merge carries the folded entry's question and phrasings over to the kept one.

Trust: the same wording from another person adds a vote, not a row, and search weighs a
phrasing by how many different people confirmed it, so one person's clicks cannot take over an
entry. Phrasings are redacted like captured answers, are only ever used to find their own entry
(so they share its visibility), are listed on the entry for admins and can be removed.

Everything here is plain SQL on the store; the derived indexes embed and index phrasings when
the change log (written by the triggers of migration 0012) names their entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import ImportRejected, InvalidInput, NotFound, RowProblem
from knowledge.import_formats import printable, read_records
from knowledge.models import format_time, parse_time
from knowledge.redaction import redact
from knowledge.text import lexical_terms, storable, words

if TYPE_CHECKING:
    from knowledge.store import Store

MIN_WORDS = 2  # a wording with fewer content words ("help?") teaches nothing
MAX_CHARS = 1_000  # the model reads ~256 tokens; a phrasing is a question, not an essay
CHUNK = 500  # ids per SQL statement


class PhrasingSource(StrEnum):
    """Where a phrasing came from."""

    SOLVED = "solved"  # the asker said this entry solved it
    NOT_HELPFUL = "not_helpful"  # the asker said this entry did not help
    EXPERT = "expert"  # the question an expert's routed answer was captured from
    MERGE = "merge"  # the question of an entry merged into this one
    LEARN = "learn"  # recorded in bulk (`switchboard learn`)


POLARITY = {PhrasingSource.NOT_HELPFUL: -1}  # every other source is positive


@dataclass(frozen=True)
class Phrasing:
    id: int
    entry_id: int
    text: str
    polarity: int  # +1: finds the entry; -1: pushes it down
    source: PhrasingSource
    created_by: str
    created_at: datetime
    votes: int  # how many different people confirmed it
    removed_by: str | None = None
    removed_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True)
class Signal:
    """What search needs of an active phrasing: whose it is, which way it points, how trusted."""

    entry_id: int
    polarity: int
    votes: int


@dataclass(frozen=True)
class VerdictRow:
    """One line of a `switchboard learn` file."""

    line: int
    entry_id: int
    question: str
    source: PhrasingSource


def normalise(text: str) -> str:
    """A wording folded for matching: lower case, words only."""
    return " ".join(words(text))


class Phrasings:
    """The phrasings of every entry (`store.phrasings`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- learning ----------------------------------------------------------------------------

    def learn(self, entry_id: int, wording: str, user: str, source: PhrasingSource,
              question_id: int | None = None) -> Phrasing | None:
        """Keep `wording` as a phrasing of the entry, confirmed by `user`.

        Returns the phrasing (new, or an existing one with the same words and direction, now
        with this person's vote), or None when there is nothing to learn: too few words, or the
        entry's own question. Removed phrasings stay removed: a vote does not bring one back.
        """
        text = storable(redact(wording).text.strip())[:MAX_CHARS].strip()
        norm = normalise(text)
        if len(lexical_terms(text)) < MIN_WORDS:
            return None
        polarity = POLARITY.get(source, 1)
        now = format_time(self.store.clock())
        with self.store.transaction():
            rows = self.store.query("SELECT question FROM entries WHERE id = ?", [entry_id])
            if not rows:
                raise NotFound(f"There is no entry #{entry_id}.")
            same = normalise(rows[0]["question"]) == norm
            if same and polarity == 1 and source is not PhrasingSource.EXPERT:
                return None
            self.store.db.execute(
                "INSERT INTO phrasings (entry_id, text, norm, polarity, source, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [entry_id, text, norm, polarity, source.value, user, now],
            )
            [row] = self.store.query(
                "SELECT id FROM phrasings WHERE entry_id = ? AND norm = ? AND polarity = ?",
                [entry_id, norm, polarity],
            )
            self.store.db.execute(
                "INSERT INTO phrasing_votes (phrasing_id, user, question_id, created_at) "
                "SELECT id, ?, ?, ? FROM phrasings WHERE id = ? AND removed_at IS NULL "
                "ON CONFLICT DO NOTHING",
                [user, question_id, now, row["id"]],
            )
            return self.get(row["id"])

    def learn_many(self, rows: Iterable[VerdictRow], user: str) -> int:
        """Record checked verdicts in one transaction; how many phrasings they touched."""
        learned = 0
        with self.store.transaction():
            for row in rows:
                learned += self.learn(row.entry_id, row.question, user, row.source) is not None
        return learned

    # -- curation ----------------------------------------------------------------------------

    def remove(self, phrasing_id: int, admin: str) -> Phrasing:
        """Stop using a phrasing (the row stays, saying who removed it and when)."""
        with self.store.transaction():
            phrasing = self.get(phrasing_id)
            if not phrasing.is_active:
                return phrasing
            self.store.db.execute(
                "UPDATE phrasings SET removed_by = ?, removed_at = ? WHERE id = ?",
                [admin, format_time(self.store.clock()), phrasing_id],
            )
            self.store.db.execute(
                "INSERT INTO entry_audit (entry_id, actor, action, note, at) "
                "VALUES (?, ?, 'phrasing_removed', ?, ?)",
                [phrasing.entry_id, admin, f"removed phrasing {phrasing.text[:200]!r}",
                 format_time(self.store.clock())],
            )
        return self.get(phrasing_id)

    def carry_over(self, fold_id: int, keep_id: int, fold_question: str, admin: str) -> None:
        """On a merge: the folded entry's phrasings and question become the kept one's.

        Called inside the merge's transaction. Where the kept entry already has the same
        wording, the votes join it and the folded copy is removed.
        """
        now = format_time(self.store.clock())
        db = self.store.db
        for row in self.store.query(
            "SELECT f.id AS fold, k.id AS keep FROM phrasings f JOIN phrasings k "
            "ON k.entry_id = ? AND k.norm = f.norm AND k.polarity = f.polarity "
            "WHERE f.entry_id = ?", [keep_id, fold_id],
        ):
            db.execute(
                "INSERT INTO phrasing_votes (phrasing_id, user, question_id, "
                "created_at) SELECT ?, user, question_id, created_at FROM phrasing_votes "
                "WHERE phrasing_id = ? ON CONFLICT DO NOTHING", [row["keep"], row["fold"]],
            )
            db.execute(
                "UPDATE phrasings SET removed_by = ?, removed_at = ? WHERE id = ?",
                [admin, now, row["fold"]],
            )
        db.execute(
            "UPDATE phrasings SET entry_id = ? WHERE entry_id = ? AND id NOT IN "
            "(SELECT f.id FROM phrasings f JOIN phrasings k ON k.entry_id = ? AND "
            "k.norm = f.norm AND k.polarity = f.polarity WHERE f.entry_id = ?)",
            [keep_id, fold_id, keep_id, fold_id],
        )
        self.learn(keep_id, fold_question, admin, PhrasingSource.MERGE)

    # -- reading -----------------------------------------------------------------------------

    def get(self, phrasing_id: int) -> Phrasing:
        found = self._select("p.id = ?", [phrasing_id])
        if not found:
            raise NotFound(f"There is no phrasing #{phrasing_id}.")
        return found[0]

    def of_entry(self, entry_id: int, include_removed: bool = False) -> list[Phrasing]:
        """An entry's phrasings, most confirmed first, then newest."""
        where = "p.entry_id = ?" + ("" if include_removed else " AND p.removed_at IS NULL")
        found = self._select(where, [entry_id])
        return sorted(found, key=lambda p: (not p.is_active, -p.votes, -p.id))

    def counts(self, entry_ids: Iterable[int]) -> dict[int, int]:
        """How many active phrasings each of these entries has (entries with none left out)."""
        out: dict[int, int] = {}
        for chunk in _chunks(entry_ids):
            rows = self.store.query(
                "SELECT entry_id, count(*) AS n FROM phrasings WHERE removed_at IS NULL AND "
                f"entry_id IN ({','.join('?' * len(chunk))}) GROUP BY entry_id", chunk,
            )
            out.update({r["entry_id"]: r["n"] for r in rows})
        return out

    def texts_by_entry(self, entry_ids: Iterable[int]) -> dict[int, list[str]]:
        """The active positive phrasings' texts of these entries (for lexical indexes)."""
        out: dict[int, list[str]] = {}
        for chunk in _chunks(entry_ids):
            rows = self.store.query(
                "SELECT entry_id, text FROM phrasings WHERE removed_at IS NULL AND polarity = 1 "
                f"AND entry_id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk,
            )
            for r in rows:
                out.setdefault(r["entry_id"], []).append(r["text"])
        return out

    def active(self, entry_ids: Iterable[int], model: str
               ) -> Iterator[tuple[int, int, str, bytes | None]]:
        """(phrasing id, entry id, text, cached vector or None) of these entries' active
        phrasings; the vector only if `model` made it."""
        for chunk in _chunks(entry_ids):
            rows = self.store.query(
                "SELECT id, entry_id, text, CASE WHEN model = ? THEN vector END AS vector "
                "FROM phrasings WHERE removed_at IS NULL "
                f"AND entry_id IN ({','.join('?' * len(chunk))}) ORDER BY id", [model, *chunk],
            )
            for r in rows:
                yield r["id"], r["entry_id"], r["text"], r["vector"]

    def vectors(self, phrasing_ids: Iterable[int], model: str) -> dict[int, bytes]:
        """The cached vectors (bytes) of these phrasings made by `model`."""
        out: dict[int, bytes] = {}
        for chunk in _chunks(phrasing_ids):
            rows = self.store.query(
                "SELECT id, vector FROM phrasings WHERE model = ? AND vector IS NOT NULL AND "
                f"id IN ({','.join('?' * len(chunk))})", [model, *chunk],
            )
            out.update({r["id"]: r["vector"] for r in rows})
        return out

    def save_vectors(self, model: str, rows: Iterable[tuple[int, bytes]]) -> None:
        """Cache (phrasing id, vector bytes) made by `model` (does not log a change)."""
        with self.store.transaction():
            self.store.db.executemany(
                "UPDATE phrasings SET model = ?, vector = ? WHERE id = ?",
                [(model, blob, phrasing_id) for phrasing_id, blob in rows],
            )

    def signals(self, phrasing_ids: Iterable[int]) -> dict[int, Signal]:
        """What search weighs for each of these phrasings (active ones only)."""
        out: dict[int, Signal] = {}
        for chunk in _chunks(phrasing_ids):
            rows = self.store.query(
                "SELECT p.id, p.entry_id, p.polarity, (SELECT count(*) FROM phrasing_votes v "
                "WHERE v.phrasing_id = p.id) AS votes FROM phrasings p WHERE p.removed_at IS NULL "
                f"AND p.id IN ({','.join('?' * len(chunk))})", chunk,
            )
            out.update({r["id"]: Signal(r["entry_id"], r["polarity"], r["votes"]) for r in rows})
        return out

    def _select(self, where: str, params: list[Any]) -> list[Phrasing]:
        rows = self.store.query(
            "SELECT p.*, (SELECT count(*) FROM phrasing_votes v WHERE v.phrasing_id = p.id) "
            f"AS votes FROM phrasings p WHERE {where}", params,
        )
        return [_phrasing(r) for r in rows]


def read_verdicts(store: Store, path: Path) -> list[VerdictRow]:
    """Parse and check a `switchboard learn` file: every bad line is reported with its number
    (ImportRejected) and nothing is returned unless all lines are good."""
    rows: list[VerdictRow] = []
    problems: list[RowProblem] = []
    parsed: list[tuple[str, int, str, str, PhrasingSource]] = []
    for source, line, record in read_records(path):
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        try:
            parsed.append((source, line, *_verdict(record)))
        except InvalidInput as problem:
            problems.append(RowProblem(source, line, printable(str(problem))))
    ids = _entry_ids(store, {external for _, _, external, _, _ in parsed})
    for source, line, external, question, kind in parsed:
        if external not in ids:
            shown = printable(external)
            problems.append(RowProblem(source, line, f"no entry has the id {shown!r}."))
        elif len(lexical_terms(question)) < MIN_WORDS:
            problems.append(RowProblem(source, line, "the question has too few words to learn "
                                                     "from (at least two that are not stopwords)."))
        else:
            rows.append(VerdictRow(line, ids[external], question, kind))
    if problems:
        raise ImportRejected(problems, hint="Fix them and run it again")
    if not rows:
        raise InvalidInput(f"{printable(path.name)} holds no verdicts: nothing to learn.")
    return rows


def _verdict(record: dict[str, Any]) -> tuple[str, str, PhrasingSource]:
    known = {"id", "question", "verdict"}
    unknown = sorted(k for k in record if k not in known)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)[:80]} (expected id, question, "
                           "verdict).")
    external, question, verdict = record.get("id"), record.get("question"), record.get("verdict")
    if isinstance(external, int) and not isinstance(external, bool):
        external = str(external)
    if not isinstance(external, str) or not external.strip():
        raise InvalidInput("`id` must be the entry's id (a string), as given at import.")
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("`question` must be the wording someone asked (a non-empty string).")
    if len(question) > MAX_CHARS:
        raise InvalidInput(f"`question` is longer than {MAX_CHARS} characters.")
    kinds = {"solved": PhrasingSource.LEARN, "not_helpful": PhrasingSource.NOT_HELPFUL}
    if verdict not in kinds:
        raise InvalidInput(f"`verdict` must be \"solved\" or \"not_helpful\" "
                           f"(got {printable(repr(verdict))[:40]}).")
    return external.strip(), storable(question.strip()), kinds[verdict]


def _entry_ids(store: Store, externals: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(externals)):
        rows = store.query(
            f"SELECT id, external_id FROM entries WHERE external_id IN "
            f"({','.join('?' * len(chunk))})", chunk,
        )
        out.update({r["external_id"]: r["id"] for r in rows})
    return out


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(dict.fromkeys(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _phrasing(row: dict[str, Any]) -> Phrasing:
    return Phrasing(
        id=row["id"],
        entry_id=row["entry_id"],
        text=row["text"],
        polarity=row["polarity"],
        source=PhrasingSource(row["source"]),
        created_by=row["created_by"],
        created_at=parse_time(row["created_at"]),
        votes=row["votes"],
        removed_by=row["removed_by"],
        removed_at=parse_time(row["removed_at"]) if row["removed_at"] else None,
    )
