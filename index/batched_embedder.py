"""Questions that arrive together are embedded together.

The model answers a batch of short texts in little more time than one (and two threads each
running the model on one text fight over the same cores). `BatchedEmbedder` wraps an embedder
so that concurrent callers share model calls, without ever waiting on purpose:

- a caller who finds the model idle runs it at once on its own texts (a lone question pays
  only a lock);
- callers who arrive while it is busy queue up; when the running call ends, its caller returns
  and hands the model to the first of them, who runs everything queued so far as one batch
  (up to `max_texts`), and so on.

So a batch holds exactly the questions that arrived during the previous model call. Large calls
(bulk indexing) go straight to the model. Results are the wrapped embedder's, row for row.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from index.embedder import Embedder

MAX_TEXTS = 32  # texts per shared model call; a bulk call larger than this runs on its own


@dataclass(eq=False)
class _Request:
    texts: Sequence[str]
    ready: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None
    leads: bool = False  # woken to run the next batch rather than with a result


class BatchedEmbedder:
    """An Embedder whose concurrent callers share model calls (see the module docstring)."""

    def __init__(self, inner: Embedder, max_texts: int = MAX_TEXTS) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self.max_texts = max_texts
        self.calls = 0  # model calls made for batched requests (for benches and tests)
        self._lock = threading.Lock()
        self._busy = False
        self._queue: list[_Request] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) > self.max_texts or not texts:
            return self.inner.embed(texts)
        request = _Request(texts)
        with self._lock:
            if self._busy:
                self._queue.append(request)
            else:
                self._busy = request.leads = True
        if not request.leads:
            request.ready.wait()
        if request.leads:
            self._run(request)
        if request.error is not None:
            raise request.error
        return cast(np.ndarray, request.result)  # set by whoever ran its batch

    def _run(self, leader: _Request) -> None:
        """Run the leader's texts and whatever is queued (up to max_texts), then hand over."""
        batch, size = [leader], len(leader.texts)
        with self._lock:
            while self._queue and size + len(self._queue[0].texts) <= self.max_texts:
                size += len(self._queue[0].texts)
                batch.append(self._queue.pop(0))
        try:
            self.calls += 1
            vectors = self.inner.embed([t for r in batch for t in r.texts])
            start = 0
            for r in batch:
                r.result, start = vectors[start : start + len(r.texts)], start + len(r.texts)
        except BaseException as error:  # every caller in the batch sees the model's error
            for r in batch:
                r.error = error
        with self._lock:
            if self._queue:
                following = self._queue.pop(0)
                following.leads = True
                following.ready.set()
            else:
                self._busy = False
        for r in batch[1:]:
            r.ready.set()
