"""Near-duplicate entries, found through the index, offered to admins for merging."""

from __future__ import annotations

from dataclasses import dataclass

from index.entry_index import EntryIndex
from knowledge.models import Entry

SAME_ANSWER = 0.92  # cosine above which two entries almost surely say the same thing


@dataclass(frozen=True)
class DuplicatePair:
    keep: Entry  # the one to keep: verified, more helpful, more used, older
    fold: Entry
    similarity: float


def _worth(entry: Entry) -> tuple:
    return (entry.verified_at is not None, entry.helpful_count - entry.not_helpful_count,
            entry.usage_count, -entry.id)


def near_duplicates(index: EntryIndex, threshold: float = SAME_ANSWER, limit: int = 20,
                    scan: int = 5_000) -> list[DuplicatePair]:
    """Pairs of published entries at least `threshold` similar, most similar first, among the
    `scan` most recent entries (each compared with the whole index)."""
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
    best = sorted(pairs.items(), key=lambda kv: -kv[1])[:limit]
    entries = index.store.get_entries(i for pair, _ in best for i in pair)
    out = []
    for (a, b), score in best:
        if a not in entries or b not in entries:
            continue
        keep, fold = sorted((entries[a], entries[b]), key=_worth, reverse=True)
        out.append(DuplicatePair(keep, fold, score))
    return out
