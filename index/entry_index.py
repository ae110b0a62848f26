"""Keeps the vector index in step with the knowledge store.

The store logs every change that can affect search (see knowledge.migrations). This module
replays that log into the faiss index: a published entry is (re)embedded if its text changed
and added; anything else is removed. The saved index records the log cursor it reflects, so a
crash between a SQLite commit and an index save is repaired by the replay at the next start,
and changes made by another process (the CLI importing while the bot runs) show up in the
next search.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from index.embedder import Embedder
from index.vectors import EXACT_LIMIT, Builder, Manifest, VectorIndex
from knowledge.change_log import ChangesPruned
from knowledge.errors import IndexUnusable
from knowledge.models import Entry, EntryStatus
from knowledge.phrasings import Signal
from knowledge.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


class Companion(Protocol):
    """Another index derived from the same change log (index/lexical_index.py): saved with the
    vectors, and the log is pruned only up to the change both have saved. It is caught up with
    the changes the vectors read, so one read of the log per search serves both."""

    def checkpoint(self) -> int:
        """Save; return the change-log cursor the saved state reflects."""
        ...

    def catch_up(self, start: int, changed: set[int], cursor: int) -> None:
        """Apply `changed`, the entries the log holds after `start` up to `cursor`, if the
        companion reflects `start`; else read the log itself."""
        ...


EMBED_CHUNK = 256
REBUILD_BATCH = 5_000  # entries read from the store per step of a rebuild
ANSWER_WORDS = 48  # how much of the answer joins the question in the embedded text


def embedding_text(question: str, answer: str) -> str:
    """The text embedded for an entry: the question, then the opening of its answer.

    Questions carry most of the signal; the answer's first words add the vocabulary a
    paraphrase may use instead (measured in bench/retrieval.py). Long answers are cut early so
    bulk embedding stays fast (cost grows with token count).
    """
    opening = " ".join(answer.split()[:ANSWER_WORDS])
    return f"{question.strip()}\n{opening}" if opening else question.strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EntryIndex:
    """The searchable vectors of the published entries, always caught up with the store."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        directory: Path | None = None,
        exact_limit: int = EXACT_LIMIT,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.directory = directory
        self.exact_limit = exact_limit
        self.vectors = VectorIndex.empty(embedder.dimension)
        self.phrasings = VectorIndex.empty(embedder.dimension)  # by phrasing id
        self._phrasings_of: dict[int, set[int]] = {}  # entry id -> its phrasings in the index
        # phrasing id -> its entry, polarity and votes: re-read with the phrasing's entry when
        # the change log names it (a vote logs its entry too), so a search asks the store nothing
        self._signals: dict[int, Signal] = {}
        self._questions_complete = False  # every entry has its question-alone vector
        self.cursor = 0
        self._saved_at: int | None = None  # the cursor of the vectors saved in `directory`
        self.companions: list[Companion] = []
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        store: Store,
        embedder: Embedder,
        directory: Path | None,
        progress: Progress | None = None,
        exact_limit: int = EXACT_LIMIT,
    ) -> EntryIndex:
        """Load the saved index if it fits this database and model, else rebuild; then catch up."""
        index = cls(store, embedder, directory, exact_limit)
        if directory is not None and index._load():
            index._rebuild_phrasings()
            index.fill_question_vectors(limit=EMBED_CHUNK)  # the rest in the background
            index.sync(progress)
            expected = len(store.searchable_ids())
            if len(index.vectors) == expected:
                return index
            log.warning(
                "index holds %d vectors but %d entries are published; rebuilding",
                len(index.vectors),
                expected,
            )
        index.rebuild(progress)
        return index

    def _load(self) -> bool:
        if self.directory is None:
            return False
        try:
            vectors, manifest = VectorIndex.load(
                self.directory, self.embedder.model_name, self.embedder.dimension
            )
        except IndexUnusable as problem:
            if (self.directory / "manifest.json").exists():
                log.warning("not using the saved index: %s Rebuilding it.", problem)
            return False
        if manifest.database_id != self.store.changes.database_id():
            log.warning("the saved index belongs to another database; rebuilding it")
            return False
        if manifest.cursor < self.store.changes.pruned_through():
            log.warning("the saved index is older than the change log keeps; rebuilding it")
            return False
        self.vectors = vectors
        self.cursor = self._saved_at = manifest.cursor
        return True

    # -- keeping up --------------------------------------------------------------------------

    def sync(self, progress: Progress | None = None) -> int:
        """Apply every store change since the last one seen, to the vectors and then to the
        companions (one read of the change log for all); return how many entries changed."""
        with self._lock:
            start = self.cursor
            try:
                changed, cursor = self.store.changes.since(start)
            except ChangesPruned:
                log.info("change log pruned past our cursor; reloading the saved index")
                if not self._load():
                    self.rebuild(progress)
                    return len(self.vectors)
                self._rebuild_phrasings()
                start = self.cursor
                changed, cursor = self.store.changes.since(start)
            if changed:
                self._apply(sorted(changed), progress)
            self.cursor = cursor
            self._reshape_if_needed()
        for companion in self.companions:
            companion.catch_up(start, changed, cursor)
        return len(changed)

    def _apply(self, entry_ids: list[int], progress: Progress | None) -> None:
        entries = self.store.get_entries(entry_ids)
        live = [entries[i] for i in entry_ids if i in entries and entries[i].is_searchable]
        self.vectors.remove(
            i for i in entry_ids if i not in entries or not entries[i].is_searchable
        )
        for ids, vectors in self._embedded(live, progress):
            self.vectors.add(ids, vectors)
        self._apply_phrasings(entry_ids, [e.id for e in live])

    def _apply_phrasings(self, changed: list[int], live: list[int]) -> None:
        """Drop the phrasings of changed entries, then add the active ones of the live ones."""
        gone = [p for e in changed for p in self._phrasings_of.pop(e, ())]
        self.phrasings.remove(gone)
        for phrasing_id in gone:
            self._signals.pop(phrasing_id, None)
        rows = list(self.store.phrasings.active(live, self.embedder.model_name))
        if rows:
            self._signals.update(self.store.phrasings.signals(pid for pid, *_ in rows))
        fresh = [(pid, text) for pid, _, text, blob in rows if blob is None]
        made = self.embedder.embed([text for _, text in fresh]) if fresh else []
        if fresh:
            self.store.phrasings.save_vectors(
                self.embedder.model_name,
                ((pid, v.tobytes()) for (pid, _), v in zip(fresh, made, strict=True)),
            )
        vectors = {pid: v for (pid, _), v in zip(fresh, made, strict=True)}
        for pid, entry_id, _, blob in rows:
            if blob is not None:
                vectors[pid] = np.frombuffer(blob, dtype=np.float32)
            self._phrasings_of.setdefault(entry_id, set()).add(pid)
        if vectors:
            ids = np.array(list(vectors), dtype=np.int64)
            self.phrasings.add(ids, np.stack([vectors[i] for i in ids.tolist()]))
        self.phrasings = self._reshaped(self.phrasings)

    def _rebuild_phrasings(self) -> None:
        """The phrasings of every indexed entry, afresh (vectors from the database's cache)."""
        with self._lock:
            self.phrasings = VectorIndex.empty(self.embedder.dimension)
            self._phrasings_of = {}
            self._signals = {}
            ids = self.vectors.ids().tolist()
            for start in range(0, len(ids), EMBED_CHUNK * 4):
                chunk = ids[start : start + EMBED_CHUNK * 4]
                self._apply_phrasings(chunk, chunk)

    def _embedded(
        self, entries: list[Entry], progress: Progress | None
    ) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in chunks, from the cache where the text is unchanged, else embedded."""
        model = self.embedder.model_name
        done = 0
        for start in range(0, len(entries), EMBED_CHUNK):
            chunk = entries[start : start + EMBED_CHUNK]
            texts = {e.id: embedding_text(e.question, e.answer) for e in chunk}
            hashes = {i: text_hash(t) for i, t in texts.items()}
            cached = self.store.vector_cache.cached(texts, model)
            fresh = [i for i in texts if i not in cached or cached[i][0] != hashes[i]]
            vectors = {
                i: np.frombuffer(cached[i][1], dtype=np.float32) for i in texts if i not in fresh
            }
            questions = self._questions_to_embed(chunk)
            if fresh or questions:
                made = self.embedder.embed(  # one model call for both kinds of text
                    [texts[i] for i in fresh] + [text for _, text in questions.values()]
                )
                searched, alone = made[: len(fresh)], made[len(fresh) :]
                self.store.vector_cache.save(
                    model,
                    ((i, hashes[i], v.tobytes()) for i, v in zip(fresh, searched, strict=True)),
                )
                self._save_questions(questions, alone)
                vectors.update(zip(fresh, searched, strict=True))
            ids = np.array(list(texts), dtype=np.int64)
            yield ids, np.stack([vectors[i] for i in texts])
            done += len(chunk)
            if progress:
                progress(done, len(entries))

    def _questions_to_embed(self, entries: list[Entry]) -> dict[int, tuple[str, str]]:
        """Entry id -> (hash, text) of the questions whose question-alone vector is missing or
        stale in the cache.

        Beside the vector it searches (question and answer), every entry keeps one of its
        question alone in the database (`store.question_alone_cache`), never in memory: search
        reads it for the few hits it returns, as confidence evidence (`question_cosine`).
        """
        texts = {e.id: e.question.strip() for e in entries}
        cached = self.store.question_alone_cache.cached(texts, self.embedder.model_name)
        out = {}
        for entry_id, text in texts.items():
            digest = text_hash(text)
            if entry_id not in cached or cached[entry_id][0] != digest:
                out[entry_id] = (digest, text)
        return out

    def _save_questions(self, questions: dict[int, tuple[str, str]], made: np.ndarray) -> None:
        """Cache the question-alone vectors made for `questions` (from _questions_to_embed)."""
        self.store.question_alone_cache.save(
            self.embedder.model_name,
            ((i, digest, v.tobytes())
             for (i, (digest, _)), v in zip(questions.items(), made, strict=True)),
        )

    def fill_question_vectors(self, limit: int | None = None) -> int:
        """Embed the question-alone vectors that published entries lack (a database made
        before they were kept), at most `limit` of them; returns how many it embedded. Until
        an entry has one, search uses its searched cosine in its place. The bot fills a few
        each scheduler tick, so a large database upgrades without a long start."""
        if self._questions_complete:
            return 0  # new and edited entries get theirs as they are indexed
        model = self.embedder.model_name
        # (No LIMIT for "all": PostgreSQL refuses SQLite's LIMIT -1.)
        rows = self.store.query(
            "SELECT e.id FROM entries e WHERE e.status = 'published' AND NOT EXISTS (SELECT 1 "
            "FROM entry_question_vectors v WHERE v.entry_id = e.id AND v.model = ?) "
            "ORDER BY e.id" + ("" if limit is None else " LIMIT ?"),
            [model] if limit is None else [model, limit],
        )
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), EMBED_CHUNK):
            entries = list(self.store.get_entries(ids[start : start + EMBED_CHUNK]).values())
            questions = self._questions_to_embed(entries)
            if questions:
                made = self.embedder.embed([text for _, text in questions.values()])
                self._save_questions(questions, made)
        self._questions_complete = limit is None or len(ids) < limit
        return len(ids)

    def question_similarity(self, query: np.ndarray, entry_ids: Iterable[int]) -> dict[int, float]:
        """Cosine between a query vector and each entry's question alone (those cached)."""
        rows = self.store.question_alone_cache.blobs(entry_ids, self.embedder.model_name)
        if not rows:
            return {}
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32)
        scores = matrix.reshape(len(rows), -1) @ np.asarray(query, dtype=np.float32)
        return dict(zip((i for i, _ in rows), scores.tolist(), strict=True))

    def _reshape_if_needed(self) -> None:
        self.vectors = self._reshaped(self.vectors)

    def _reshaped(self, vectors: VectorIndex) -> VectorIndex:
        """`vectors`, or the same vectors in the kind of index that suits their number now."""
        count = len(vectors)
        wrong_kind = (vectors.kind == "flat" and count > self.exact_limit) or (
            vectors.kind != "flat" and count < self.exact_limit // 2
        )
        if not wrong_kind:
            return vectors
        ids = vectors.ids()
        stored = vectors.vectors(ids.tolist())
        matrix = np.stack([stored[i] for i in ids.tolist()])
        return VectorIndex.build(ids, matrix, self.exact_limit)

    def rebuild(self, progress: Progress | None = None) -> None:
        """Build the index afresh from the store (reusing cached embeddings where valid).

        Streams: entries are read a page at a time and their vectors go into the builder, so
        neither every entry nor every float32 vector is held at once (bench/scale.py's peak)."""
        with self._lock:
            cursor = self.store.changes.cursor()
            total = len(self.store.searchable_ids())
            builder = VectorIndex.builder(total, self.embedder.dimension, self.exact_limit)
            done, batch = 0, []
            for entry in self.store.iter_entries([EntryStatus.PUBLISHED]):
                batch.append(entry)
                if len(batch) == REBUILD_BATCH:
                    done = self._feed(builder, batch, done, total, progress)
                    batch = []
            self._feed(builder, batch, done, total, progress)
            self.vectors = builder.finish()
            self._rebuild_phrasings()
            self.cursor = cursor
            self._saved_at = None
            self.sync(progress)

    def _feed(
        self,
        builder: Builder,
        batch: list[Entry],
        done: int,
        total: int,
        progress: Progress | None,
    ) -> int:
        def step(finished: int, _: int) -> None:
            if progress:
                progress(done + finished, total)

        for ids, vectors in self._embedded(batch, step):
            builder.add(ids, vectors)
        return done + len(batch)

    def checkpoint(self) -> None:
        """Save the index and its companions, then let the store forget the changes that every
        one of them has saved (a change one of them has not applied yet is kept)."""
        saved = [companion.checkpoint() for companion in self.companions]
        if self.directory is None:
            return
        with self._lock:
            # Unchanged since the last save: the hourly checkpoint of an idle replica writes
            # nothing (the vector file is 761 MB at 1M entries).
            if self._saved_at != self.cursor:
                manifest = Manifest(
                    model=self.embedder.model_name,
                    dimension=self.embedder.dimension,
                    count=len(self.vectors),
                    kind=self.vectors.kind,
                    cursor=self.cursor,
                    database_id=self.store.changes.database_id(),
                    file="",
                )
                self.vectors.save(self.directory, manifest)
                self._saved_at = self.cursor
            self.store.changes.prune(min([self.cursor, *saved]), follower=self.follower)

    @property
    def follower(self) -> str | None:
        """How this replica's indexes are named among the change log's followers."""
        if self.directory is None:
            return None
        return f"{socket.gethostname()}:{self.directory.resolve()}"

    # -- reading -----------------------------------------------------------------------------

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k published entries nearest to one query vector, as (id, cosine), best first."""
        with self._lock:
            scores, ids = self.vectors.search(query.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def nearest_phrasings(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k phrasings nearest to one query vector, as (phrasing id, cosine), best first."""
        with self._lock:
            scores, ids = self.phrasings.search(query.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def phrasing_signals(self, phrasing_ids: Iterable[int]) -> dict[int, Signal]:
        """What search weighs of these phrasings (those in the index), as of the last sync."""
        with self._lock:
            return {i: self._signals[i] for i in phrasing_ids if i in self._signals}

    def neighbours_of(self, entry_ids: Iterable[int], k: int) -> dict[int, list[tuple[int, float]]]:
        """For entries in the index, their k nearest entries (themselves included)."""
        with self._lock:
            stored = self.vectors.vectors(entry_ids)
            if not stored:
                return {}
            ids = list(stored)
            scores, found = self.vectors.search(np.stack([stored[i] for i in ids]), k)
        return {
            entry_id: [(int(o), float(s)) for o, s in zip(found[row], scores[row], strict=True)
                       if o >= 0]
            for row, entry_id in enumerate(ids)
        }

    def similarity(self, query: np.ndarray, entry_ids: Iterable[int]) -> dict[int, float]:
        """Cosine between one query vector and each of these entries (those in the index)."""
        with self._lock:
            return self.vectors.cosines(query, entry_ids)
