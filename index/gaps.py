"""Knowledge gaps: questions nothing answered, grouped by meaning, biggest group first, so admins
know what to write next.

`group_gaps` is the pure grouping over vectors already made (the bot reads them from
`question_vectors`, see index/question_vectors.py); `knowledge_gaps` embeds first (the report).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder
from knowledge.analytics import Unanswered

SAME_TOPIC = 0.55  # cosine to a group's centre to join it (paraphrases score ~0.7+)
MAX_CHARS = 2_000  # of each question embedded (the model reads 256 tokens at most anyway)
# Texts per call to the model. A long question pads to 256 tokens, the model's working memory
# grows with batch x tokens^2 and ONNX Runtime keeps it: 64 long questions embedded 32 at a
# time took a process from 230 MB to 1 GB, 4 at a time to 310 MB.
EMBED_BATCH = 4


@dataclass(frozen=True)
class Gap:
    size: int
    example: str  # the question closest to the group's centre
    question_ids: tuple[int, ...]


def group_gaps(questions: Sequence[Unanswered], vectors: np.ndarray,
               threshold: float = SAME_TOPIC, top: int = 10) -> list[Gap]:
    """The `top` biggest groups of these questions, given one L2-normalised vector per question
    (same order). Each question joins the most similar group so far if it is at least
    `threshold` alike, else starts its own: O(questions x groups)."""
    if len(vectors) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(vectors)} vectors")
    if not questions:
        return []
    centres: list[np.ndarray] = []
    sums: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        if centres:
            scores = np.stack(centres) @ vector
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                members[best].append(i)
                sums[best] = sums[best] + vector
                centres[best] = sums[best] / np.linalg.norm(sums[best])
                continue
        centres.append(vector.copy())
        sums.append(vector.copy())
        members.append([i])
    gaps = []
    for centre, group in zip(centres, members, strict=True):
        closest = max(group, key=lambda i: float(vectors[i] @ centre))
        gaps.append(Gap(len(group), questions[closest].text,
                        tuple(questions[i].question_id for i in group)))
    gaps.sort(key=lambda g: (-g.size, g.question_ids[0]))
    return gaps[:top]


def embed_in_small_batches(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """The embeddings of `texts`, asking the model for EMBED_BATCH at a time."""
    if not texts:
        return np.zeros((0, embedder.dimension), np.float32)
    return np.concatenate([embedder.embed(texts[start:start + EMBED_BATCH])
                           for start in range(0, len(texts), EMBED_BATCH)])


def knowledge_gaps(embedder: Embedder, questions: Sequence[Unanswered],
                   threshold: float = SAME_TOPIC, top: int = 10) -> list[Gap]:
    """Embed these questions (each cut to MAX_CHARS) and group them (see `group_gaps`)."""
    if not questions:
        return []
    vectors = embed_in_small_batches(embedder, [q.text[:MAX_CHARS] for q in questions])
    return group_gaps(questions, vectors, threshold, top)
