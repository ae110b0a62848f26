"""The composition root: builds the store, model, index and search from Settings, lazily.

Commands that need no model (stats, export) never load it; the first use of `search` loads the
model and the index once.
"""

from __future__ import annotations

from functools import cached_property

from index.batched_embedder import BatchedEmbedder
from index.embedder import Embedder, load_embedder
from index.entry_index import EntryIndex, Progress
from index.lexical_index import LexicalIndex
from index.routing_fit import RoutingFitter
from index.search import HybridSearch, Thresholds
from knowledge.store import Store
from switchboard.settings import Settings


class Services:
    """Everything a command or the bot needs, made on first use and closed together."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = Store.connect(settings.database)
        self._given_embedder = embedder
        self.progress: Progress | None = None

    @cached_property
    def embedder(self) -> Embedder:
        """The model, shared by concurrent questions (they are embedded together)."""
        if self._given_embedder is not None:
            return BatchedEmbedder(self._given_embedder)
        return BatchedEmbedder(
            load_embedder(self.settings.embedder_backend, self.settings.model_cache)
        )

    @cached_property
    def entry_index(self) -> EntryIndex:
        return EntryIndex.open(self.store, self.embedder, self.settings.index_dir, self.progress)

    @cached_property
    def lexical_index(self) -> LexicalIndex:
        """BM25 in tantivy, saved (and the change log pruned) together with the vectors."""
        index = LexicalIndex.open(
            self.store, self.settings.index_dir / "lexical", self.store.phrasings.texts_by_entry
        )
        self.entry_index.companions.append(index)
        return index

    @cached_property
    def routing_fitter(self) -> RoutingFitter:
        """Fits the routing weights to this organisation's answered history."""
        return RoutingFitter(self.store, self.entry_index, self.embedder)

    def reindex(self) -> int:
        """Rebuild both search indexes from the database; return how many entries they hold."""
        self.entry_index.rebuild(self.progress)
        self.lexical_index.rebuild()
        return len(self.entry_index.vectors)

    @cached_property
    def search(self) -> HybridSearch:
        defaults = Thresholds()
        answer, suggest = self.settings.answer_threshold, self.settings.suggest_threshold
        thresholds = Thresholds(
            answer=defaults.answer if answer is None else answer,
            suggest=defaults.suggest if suggest is None else suggest,
        )
        return HybridSearch(
            self.store, self.entry_index, self.embedder, thresholds, lexical=self.lexical_index
        )

    def close(self) -> None:
        """Save the indexes if they were loaded (the next start is quick), then close the store."""
        if "entry_index" in self.__dict__:
            self.entry_index.checkpoint()  # saves the lexical index too, if it was opened
        if "lexical_index" in self.__dict__:
            self.lexical_index.close()
        self.store.close()
