"""The lexical index: BM25 over the published entries in tantivy, outside the database.

One document per published entry (field `text`: the question, tags and answer together; field
`phrasings`: the wordings people confirmed; and the entry id as a fast field), kept in step
with the store through the same change log as the vector index (index/entry_index.py): each
search first replays the entries changed since the cursor the index reflects (delete the
entry's document, re-add it if still published), and commits.

On disk (under `directory`):

    manifest.json          database id, cursor, count, format, and the generation it names
    g-<cursor>-<pid>-<n>/  a saved generation: a complete tantivy index as of that cursor
    w-<pid>-<n>/           the working copy of one running process (removed when it closes)

A process never writes a saved generation: it opens its own working copy, made of hard links to
the files of the generation the manifest names (tantivy never changes a file once written, so
links are as good as copies), and `checkpoint` links the working files into a new generation and
then replaces the manifest. So a crash mid-save leaves the old pair intact, and several
processes (the bot, a CLI command) can each hold the index open at once. The manifest's cursor
is only ever behind what its generation holds, never ahead, and replaying a change twice is
harmless, so a crash between a database commit and an index save is repaired at the next start.
A manifest for another database, of another format, or older than the change log's pruned
point is refused and the index rebuilt: it is never used stale.

Scores: plain BM25 over the entry's whole text, one field and one length, as SQLite FTS5
scores a row with equal column weights (knowledge/lexical.py), with FTS5's IDF in place of
tantivy's, so that both engines give the scores the fusion and the confidence calibration were
fitted on; a word in both the entry's text and a phrasing counts once, the better of the two.
One field rather than weighted per-field scores: on both shared data sets, the whole text ranks
better than the question, answer and tags scored apart with their former weights (1, 0.35,
0.5); bench/lexical_fields.py chooses the answer's weight leaving one data set out. No postings
budget is needed: tantivy's block-max WAND skips documents that cannot reach the top `limit`.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import tantivy

from knowledge.change_log import ChangesPruned
from knowledge.errors import IndexUnusable
from knowledge.models import Entry, EntryStatus
from knowledge.store import Store
from knowledge.text import lexical_terms

log = logging.getLogger(__name__)

FORMAT = 2  # 2: one `text` field (1: question, answer and tags apart)
MANIFEST = "manifest.json"
ANALYZER = "switchboard_en"
# The entry's own words, and the wordings people confirmed (phrasings: the better of the two
# counts for a word).
FIELDS = ("text", "phrasings")
WRITER_HEAP = 32_000_000  # bytes of indexing buffer; tantivy flushes a segment when it is full
BUILD_BATCH = 5_000  # entries read from the store per step of a rebuild

# The texts of the active phrasings of some entries, by entry id (store.phrasings.texts_by_entry).
Phrasings = Callable[[list[int]], dict[int, list[str]]]


def idf(total: int, documents: int) -> float:
    """FTS5's BM25 inverse document frequency (a word in half the entries or more: ~0).

    The fusion's saturation and the confidence calibration were fitted on FTS5's scale; tantivy's
    own IDF, ln(1 + (N - n + 0.5) / (n + 0.5)), gives common words far more weight (measured in
    bench/lexical_quality.py), so each term query is boosted from the one to the other.
    """
    return max(math.log((total - documents + 0.5) / (documents + 0.5)), 1e-6)


def entry_text(entry: Entry) -> str:
    """What the `text` field holds: the question, the tags and the answer."""
    return "\n".join((entry.question, " ".join(entry.tags), entry.answer))


def tantivy_idf(total: int, documents: int) -> float:
    return math.log(1 + (total - documents + 0.5) / (documents + 0.5))


class KeywordSearch(Protocol):
    """What hybrid search needs of a lexical engine (this index, or FTS5's knowledge.lexical)."""

    def search(self, text: str, limit: int) -> list[tuple[int, float]]: ...


@dataclass(frozen=True)
class LexicalManifest:
    """Which saved generation is current and which database state it reflects."""

    database_id: str
    cursor: int
    count: int
    generation: str
    format: int = FORMAT


def _analyzer() -> tantivy.TextAnalyzer:
    # FTS5's `porter unicode61 remove_diacritics 2`, near enough: words of letters and digits,
    # lower-cased, accents folded, English stems.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    for field in FIELDS:
        builder.add_text_field(field, tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


class LexicalIndex:
    """Ranked keyword search over the published entries, always caught up with the store."""

    def __init__(self, store: Store, directory: Path, phrasings: Phrasings | None = None) -> None:
        self.store = store
        self.directory = directory
        self.phrasings = phrasings
        self.cursor = 0
        self.rebuilt = False  # whether `open` had to rebuild (no usable saved index)
        self._analyzer = _analyzer()
        self._schema = _schema()
        self._lock = threading.RLock()
        self._work: Path | None = None
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None

    @classmethod
    def open(
        cls, store: Store, directory: Path, phrasings: Phrasings | None = None
    ) -> LexicalIndex:
        """Load the saved index if it fits this database, else rebuild; then catch up."""
        index = cls(store, directory, phrasings)
        directory.mkdir(parents=True, exist_ok=True)
        index._remove_abandoned()
        if index._load():
            index.sync()
            expected = len(store.searchable_ids())
            if index.count() == expected:
                return index
            log.warning(
                "lexical index holds %d entries but %d are published; rebuilding",
                index.count(),
                expected,
            )
        index.rebuild()
        return index

    # -- reading -----------------------------------------------------------------------------

    def search(self, text: str, limit: int) -> list[tuple[int, float]]:
        """Published entries sharing any of the query's words, best BM25 first (id, score).

        Caught up with the store first, so an entry edited a moment ago is found by its new
        words. Scores are positive; words are OR-ed (natural questions rarely share every word
        with their answer) and tantivy skips what cannot reach the top `limit`.
        """
        self.sync()
        return self.query(text, limit)

    def query(self, text: str, limit: int) -> list[tuple[int, float]]:
        """`search` as the index stands, without reading the change log first (for a caller
        that has just caught it up: hybrid search, through the vector index it follows)."""
        with self._lock:
            searcher = self._require().searcher()
        query = self._query(searcher, text)
        if query is None or limit <= 0:
            return []
        result = searcher.search(query, limit, count=False)
        if not result.hits:
            return []
        ids = searcher.fast_field_values("id", [address for _, address in result.hits])
        return [(int(i), float(score)) for (score, _), i in zip(result.hits, ids, strict=True)]

    def count(self) -> int:
        """How many entries the index holds."""
        with self._lock:
            return int(self._require().searcher().num_docs)

    def _query(self, searcher: tantivy.Searcher, text: str) -> tantivy.Query | None:
        """Per word, the better of its term queries on the entry's text and on its phrasings,
        each boosted to FTS5's IDF x tantivy's BM25 term-frequency part (see `idf`)."""
        tokens = dict.fromkeys(
            token for term in lexical_terms(text) for token in self._analyzer.analyze(term)
        )
        total = searcher.num_docs
        clauses = []
        for token in tokens:
            frequency = {field: searcher.doc_freq(field, token) for field in FIELDS}
            # FTS5 counts entries with the word in any column: at least the largest field's
            # count (which, until segments merge, may still count deleted documents).
            documents = min(max(frequency.values()), total)
            if documents == 0:
                continue
            wanted = idf(total, documents)
            boosted = [
                tantivy.Query.boost_query(
                    self._term(field, token), wanted / tantivy_idf(total, frequency[field])
                )
                for field in FIELDS
                if frequency[field]
            ]
            if len(boosted) > 1:
                boosted = [tantivy.Query.disjunction_max_query(boosted)]
            clauses.append((tantivy.Occur.Should, boosted[0]))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def _term(self, field: str, token: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, field, token, index_option="freq")

    # -- keeping up --------------------------------------------------------------------------

    def sync(self) -> int:
        """Apply every store change since the last one seen; return how many entries changed."""
        with self._lock:
            try:
                changed, cursor = self.store.changes.since(self.cursor)
            except ChangesPruned:
                log.info("change log pruned past the lexical index's cursor; reloading it")
                if not self._load():
                    self.rebuild()
                    return self.count()
                changed, cursor = self.store.changes.since(self.cursor)
            if changed:
                self._apply(sorted(changed))
            self.cursor = cursor
            return len(changed)

    def catch_up(self, start: int, changed: set[int], cursor: int) -> None:
        """Apply `changed`, the entries changed after `start` up to `cursor` as the vector index
        read them from the log, if this index reflects `start`; else read the log itself."""
        with self._lock:
            if self.cursor != start:
                self.sync()
                return
            if changed:
                self._apply(sorted(changed))
            self.cursor = cursor

    def _apply(self, entry_ids: list[int]) -> None:
        writer = self._writable()
        entries = self.store.get_entries(entry_ids)
        # (delete_documents_by_term takes a Python int for an i64, so it never matches a u64)
        writer.delete_documents_by_query(
            tantivy.Query.term_set_query(self._schema, "id", entry_ids)
        )
        live = [entries[i] for i in entry_ids if i in entries and entries[i].is_searchable]
        self._add(writer, live)
        writer.commit()
        self._require().reload()

    def _add(self, writer: tantivy.IndexWriter, entries: list[Entry]) -> None:
        extra = self.phrasings([e.id for e in entries]) if self.phrasings and entries else {}
        for entry in entries:
            document = tantivy.Document()
            document.add_unsigned("id", entry.id)
            document.add_text("text", entry_text(entry))
            for phrasing in extra.get(entry.id, ()):
                document.add_text("phrasings", phrasing)
            writer.add_document(document)

    def rebuild(self) -> None:
        """Build the index afresh from the store, reading it in batches (never all at once)."""
        with self._lock:
            cursor = self.store.changes.cursor()
            self._open_work(None)
            writer = self._writable()
            batch: list[Entry] = []
            for entry in self.store.iter_entries([EntryStatus.PUBLISHED]):
                batch.append(entry)
                if len(batch) == BUILD_BATCH:
                    self._add(writer, batch)
                    batch = []
            self._add(writer, batch)
            writer.commit()
            self._require().reload()
            self.cursor = cursor
            self.rebuilt = True
            self.sync()

    # -- persistence -------------------------------------------------------------------------

    def checkpoint(self) -> int:
        """Save the index as a new generation, then name it in the manifest; return the cursor
        it reflects (the change log may be pruned up to there, never further)."""
        with self._lock:
            self.sync()
            if self._writer is not None:
                self._writer.commit()
                self._writer.wait_merging_threads()  # the files are final once merges are done
                self._writer = None
            work = self._require_work()
            name = f"g-{self.cursor}-{os.getpid()}-{next(_serial)}"
            _link_tree(work, self.directory / name)
            manifest = LexicalManifest(
                database_id=self.store.changes.database_id(),
                cursor=self.cursor,
                count=self.count(),
                generation=name,
            )
            temporary = self.directory / (MANIFEST + ".tmp")
            temporary.write_text(json.dumps(asdict(manifest), indent=2))
            os.replace(temporary, self.directory / MANIFEST)
            for old in self.directory.glob("g-*"):
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
            return self.cursor

    def close(self) -> None:
        """Let go of the working copy (call `checkpoint` first to keep what it holds)."""
        with self._lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer = None
            self._index = None
            if self._work is not None:
                shutil.rmtree(self._work, ignore_errors=True)
                self._work = None

    def _load(self) -> bool:
        try:
            manifest = self._usable_manifest()
        except IndexUnusable as problem:
            if (self.directory / MANIFEST).exists():
                log.warning("not using the saved lexical index: %s Rebuilding it.", problem)
            return False
        self._open_work(self.directory / manifest.generation)
        if self.count() != manifest.count:
            log.warning("the saved lexical index does not match its manifest; rebuilding it")
            return False
        self.cursor = manifest.cursor
        return True

    def _usable_manifest(self) -> LexicalManifest:
        manifest = read_manifest(self.directory)
        if manifest is None:
            raise IndexUnusable(f"No readable lexical index manifest in {self.directory}.")
        if manifest.format != FORMAT:
            raise IndexUnusable(f"The lexical index has format {manifest.format}, not {FORMAT}.")
        if manifest.database_id != self.store.changes.database_id():
            raise IndexUnusable("The saved lexical index belongs to another database.")
        if not (self.directory / manifest.generation / "meta.json").exists():
            raise IndexUnusable(f"The generation {manifest.generation} is missing.")
        try:
            self.store.changes.since(manifest.cursor)
        except ChangesPruned:
            raise IndexUnusable(
                f"The saved lexical index reflects change {manifest.cursor}, but the change "
                "log has been pruned past it."
            ) from None
        return manifest

    def _open_work(self, source: Path | None) -> None:
        """A fresh working copy: hard links to `source`'s files, or an empty index."""
        self.close()
        work = self.directory / f"w-{os.getpid()}-{next(_serial)}"
        if source is not None:
            _link_tree(source, work)
        else:
            work.mkdir(parents=True)
        self._work = work
        self._index = tantivy.Index(self._schema, path=str(work), reuse=source is not None)
        self._index.register_tokenizer(ANALYZER, _analyzer())
        self._index.config_reader("Manual")

    def _writable(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._require().writer(WRITER_HEAP, 1)
        return self._writer

    def _require(self) -> tantivy.Index:
        if self._index is None:
            raise IndexUnusable("The lexical index is closed; open it again.")
        return self._index

    def _require_work(self) -> Path:
        if self._work is None:
            raise IndexUnusable("The lexical index is closed; open it again.")
        return self._work

    def _remove_abandoned(self) -> None:
        """Working copies of processes that are gone (a crash leaves them behind)."""
        for work in self.directory.glob("w-*"):
            pid = int(work.name.split("-")[1])
            if pid != os.getpid() and not _alive(pid):
                shutil.rmtree(work, ignore_errors=True)


def read_manifest(directory: Path) -> LexicalManifest | None:
    """The manifest of the lexical index saved in `directory`, or None if none is readable."""
    try:
        return LexicalManifest(**json.loads((directory / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError):
        return None


_serial = itertools.count()
_LOCKS = (".tantivy-writer.lock", ".tantivy-meta.lock")


def _link_tree(source: Path, target: Path) -> None:
    """`target` as a new directory of hard links to `source`'s files (copies where links fail)."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for file in source.iterdir():
        if file.name in _LOCKS or not file.is_file():
            continue
        try:
            os.link(file, partial / file.name)
        except OSError:
            shutil.copy2(file, partial / file.name)
    os.replace(partial, target)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
