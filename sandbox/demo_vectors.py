"""The demo knowledge base's embeddings, shipped beside it (sandbox/demo/vectors.npz), so a first
`make run` does not spend its first seconds embedding 126 entries.

They only seed the store's vector cache, keyed by the exact text each entry embeds and by the
model's name: an entry whose text changed, or another model, is simply embedded as usual. After
editing sandbox/demo/knowledge.jsonl, regenerate them:

    HF_HUB_OFFLINE=1 python -m sandbox.demo_vectors
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.embedder import Embedder
from index.entry_index import embedding_text, text_hash
from knowledge.importing import read_entries
from knowledge.store import Store

DEMO = Path(__file__).parent / "demo"
KNOWLEDGE = DEMO / "knowledge.jsonl"
VECTORS = DEMO / "vectors.npz"


def write(embedder: Embedder, path: Path = VECTORS) -> int:
    """Embed the demo entries' texts with `embedder` and save them; returns how many."""
    drafts = read_entries(KNOWLEDGE).drafts
    texts = sorted({embedding_text(d.question, d.answer) for d in drafts}
                   | {d.question.strip() for d in drafts})
    vectors = embedder.embed(texts).astype(np.float32)
    np.savez_compressed(path, model=np.array(embedder.model_name),
                        hashes=np.array([text_hash(t) for t in texts]), vectors=vectors)
    return len(texts)


def seed(store: Store, model: str, path: Path = VECTORS) -> int:
    """Put the shipped vectors of the store's entries into its vector cache (for `model` only);
    returns how many were seeded."""
    if not path.exists():
        return 0
    with np.load(path) as shipped:
        if str(shipped["model"]) != model:
            return 0
        by_hash = dict(zip(shipped["hashes"].tolist(), shipped["vectors"], strict=True))
    rows, alone = [], []
    for entry in store.iter_entries():
        digest = text_hash(embedding_text(entry.question, entry.answer))
        if digest in by_hash:
            rows.append((entry.id, digest, by_hash[digest].tobytes()))
        digest = text_hash(entry.question.strip())
        if digest in by_hash:  # the question alone (index/entry_index.py)
            alone.append((entry.id, digest, by_hash[digest].tobytes()))
    store.vector_cache.save(model, rows)
    store.question_alone_cache.save(model, alone)
    return len(rows)


if __name__ == "__main__":
    import os

    from index.embedder import load_embedder
    from switchboard.settings import Settings

    settings = Settings.from_env(os.environ)
    embedder = load_embedder(settings.embedder_backend, settings.model_cache)
    print(f"wrote {write(embedder)} vectors to {VECTORS}")
