"""The composition root: builds the store, model, index and search from Settings, lazily.

Commands that need no model (stats, export) never load it; the first use of `search` loads the
model and the index once.
"""

from __future__ import annotations

from functools import cached_property

from index.embedder import Embedder, load_embedder
from index.entry_index import EntryIndex, Progress
from index.search import HybridSearch, Thresholds
from knowledge.store import Store
from switchboard.settings import Settings


class Services:
    """Everything a command or the bot needs, made on first use and closed together."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = Store.open(settings.database_path)
        self._given_embedder = embedder
        self.progress: Progress | None = None

    @cached_property
    def embedder(self) -> Embedder:
        if self._given_embedder is not None:
            return self._given_embedder
        return load_embedder(self.settings.embedder_backend, self.settings.model_cache)

    @cached_property
    def entry_index(self) -> EntryIndex:
        return EntryIndex.open(self.store, self.embedder, self.settings.index_dir, self.progress)

    @cached_property
    def search(self) -> HybridSearch:
        defaults = Thresholds()
        answer, suggest = self.settings.answer_threshold, self.settings.suggest_threshold
        thresholds = Thresholds(
            answer=defaults.answer if answer is None else answer,
            suggest=defaults.suggest if suggest is None else suggest,
        )
        return HybridSearch(self.store, self.entry_index, self.embedder, thresholds)

    def close(self) -> None:
        """Save the index if it was loaded (so the next start is quick), then close the store."""
        if "entry_index" in self.__dict__:
            self.entry_index.checkpoint()
        self.store.close()
