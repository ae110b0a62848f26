"""Near-duplicate entries, found through the index, offered to admins for merging.

Finding pairs (`near_duplicate_ids`) compares entries through the vector index and is worth
doing in the background; turning found ids into pairs to show (`resolve_pairs`) reads a few
entries and drops pairs that are no longer both published (merged, retired since).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.entry_index import EntryIndex
from knowledge.models import Entry, EntryStatus
from knowledge.store import Store

SAME_ANSWER = 0.92  # cosine above which two entries almost surely say the same thing


@dataclass(frozen=True)
class DuplicatePair:
    keep: Entry  # the one to keep: verified, more helpful, more used, older
    fold: Entry
    similarity: float


def _worth(entry: Entry) -> tuple:
    return (entry.verified_at is not None, entry.helpful_count - entry.not_helpful_count,
            entry.usage_count, -entry.id)


def near_duplicate_ids(index: EntryIndex, threshold: float = SAME_ANSWER, limit: int = 20,
                       scan: int = 5_000) -> list[tuple[int, int, float]]:
    """(lower id, higher id, cosine) of published entries at least `threshold` similar, most
    similar first, among the `scan` most recent entries (each compared with the whole index)."""
    index.sync()
    rows = index.store.query(
        "SELECT id FROM entries WHERE status = 'published' ORDER BY id DESC LIMIT ?", [scan])
    pairs: dict[tuple[int, int], float] = {}
    for entry_id, near in index.neighbours_of([r["id"] for r in rows], 4).items():
        for other, score in near:
            if other == entry_id or score < threshold:
                continue
            key = (min(entry_id, other), max(entry_id, other))
            pairs[key] = max(pairs.get(key, 0.0), score)
    best = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [(a, b, score) for (a, b), score in best]


def resolve_pairs(store: Store, pairs: Iterable[tuple[int, int, float]]) -> list[DuplicatePair]:
    """The pairs whose two entries are still published, each with the one to keep first."""
    pairs = list(pairs)
    entries = store.get_entries(i for a, b, _ in pairs for i in (a, b))
    out = []
    for a, b, score in pairs:
        both = [entries.get(a), entries.get(b)]
        if any(e is None or e.status is not EntryStatus.PUBLISHED for e in both):
            continue
        keep, fold = sorted(both, key=_worth, reverse=True)
        out.append(DuplicatePair(keep, fold, score))
    return out


def near_duplicates(index: EntryIndex, threshold: float = SAME_ANSWER, limit: int = 20,
                    scan: int = 5_000) -> list[DuplicatePair]:
    """Pairs of published entries at least `threshold` similar, most similar first (see
    `near_duplicate_ids`)."""
    return resolve_pairs(index.store, near_duplicate_ids(index, threshold, limit, scan))
