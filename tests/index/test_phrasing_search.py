"""Search learns from phrasings: a confirmed wording finds its entry at once (dense and lexical),
within the entry's visibility; removal, retirement and "not helpful" take effect; a restart
rebuilds them without the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.models import EntryDraft, EntryStatus, Visibility
from knowledge.phrasings import PhrasingSource
from knowledge.store import Store
from tests.conftest import CountingEmbedder

ODD = "the purple gizmo keeps blinking at me"


def world(store: Store, embedder: CountingEmbedder, tmp_path: Path) -> tuple[HybridSearch, dict]:
    ids = {
        "router": store.add_entry(EntryDraft(
            "How do I restart the office router?", "Unplug it for ten seconds.")).id,
        "badge": store.add_entry(EntryDraft(
            "My door badge stopped working", "Ask reception for a new badge.")).id,
        "vpn": store.add_entry(EntryDraft(
            "How do I connect to the VPN from home?", "Install the client and sign in.")).id,
    }
    index = EntryIndex.open(store, embedder, tmp_path / "index")
    return HybridSearch(store, index, embedder), ids


def test_a_solved_wording_finds_its_entry_at_once(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    before = search.search(ODD, k=3)
    assert before[0].entry.id != ids["router"] or before[0].tier.value != "answer"

    store.phrasings.learn(ids["router"], ODD, "UA", PhrasingSource.SOLVED)
    after = search.search(ODD, k=3)
    assert after[0].entry.id == ids["router"]
    assert after[0].confidence > before[0].confidence
    # found by words too: the phrasing's rare word reaches the entry through BM25
    assert before[0].bm25 == 0 and after[0].bm25 > 0.5
    # a similar wording benefits; an unrelated question does not
    assert search.search("purple gizmo blinking", k=1)[0].entry.id == ids["router"]
    assert search.search("connect VPN from home", k=1)[0].entry.id == ids["vpn"]


def test_more_people_confirming_a_wording_trust_it_more(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    similar = "my purple gizmo is blinking"  # not the very wording (that counts in full)
    store.phrasings.learn(ids["router"], ODD, "UA", PhrasingSource.SOLVED)
    one = search.search(similar, k=1)[0]
    store.phrasings.learn(ids["router"], ODD, "UB", PhrasingSource.SOLVED)
    two = search.search(similar, k=1)[0]
    assert one.entry.id == two.entry.id == ids["router"]
    assert two.cosine > one.cosine  # trust grows with the number of people
    assert search.search(ODD, k=1)[0].cosine > 0.99  # the very wording: the verdict in full


def test_a_vote_through_another_connection_counts_at_the_next_search(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    similar = "my purple gizmo is blinking"
    phrasing = store.phrasings.learn(ids["router"], ODD, "UA", PhrasingSource.SOLVED)
    assert phrasing is not None
    one = search.search(similar, k=1)[0]
    other = Store.open(tmp_path / "switchboard.db")  # another process, say
    try:
        other.phrasings.learn(ids["router"], ODD, "UB", PhrasingSource.SOLVED)
    finally:
        other.close()
    two = search.search(similar, k=1)[0]  # the index holds the votes; the change log told it
    assert two.entry.id == ids["router"] and two.cosine > one.cosine
    held = search.entries.phrasing_signals([phrasing.id])
    assert held == store.phrasings.signals([phrasing.id]) and held[phrasing.id].votes == 2


def test_phrasings_never_show_an_entry_outside_its_visibility(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, _ = world(store, counting_embedder, tmp_path)
    secret = store.add_entry(EntryDraft(
        "Deal desk discount approvals", "Ask the deal desk.",
        visibility=Visibility(scope="channel", members=("CDEAL",)))).id
    store.phrasings.learn(secret, ODD, "UA", PhrasingSource.SOLVED)

    def outsider(entry) -> bool:
        return entry.visibility.is_public

    assert all(hit.entry.id != secret for hit in search.search(ODD, k=4, visible=outsider))
    assert search.search(ODD, k=1)[0].entry.id == secret  # those who may see it find it


def test_removal_and_retirement_take_effect(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    phrasing = store.phrasings.learn(ids["router"], ODD, "UA", PhrasingSource.SOLVED)
    assert phrasing is not None
    assert search.search(ODD, k=1)[0].entry.id == ids["router"]

    store.set_status(ids["router"], EntryStatus.RETIRED)
    assert all(h.entry.id != ids["router"] for h in search.search(ODD, k=3))
    store.set_status(ids["router"], EntryStatus.PUBLISHED)
    assert search.search(ODD, k=1)[0].entry.id == ids["router"]  # restored with its phrasings

    store.phrasings.remove(phrasing.id, "UADMIN")
    hits = search.search(ODD, k=3)
    assert len(search.entries.phrasings) == 0
    assert hits[0].entry.id != ids["router"] or hits[0].tier.value != "answer"


def test_not_helpful_pushes_the_entry_down_for_that_wording_only(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    wording = "how do I restart the router at home"
    first = search.search(wording, k=1)[0]
    assert first.entry.id == ids["router"]
    store.phrasings.learn(ids["router"], wording, "UA", PhrasingSource.NOT_HELPFUL)
    store.phrasings.learn(ids["router"], wording, "UB", PhrasingSource.NOT_HELPFUL)
    pushed = next(h for h in search.search(wording, k=3) if h.entry.id == ids["router"])
    assert pushed.score < first.score
    other = search.search("How do I restart the office router?", k=1)[0]
    assert other.entry.id == ids["router"] and other.tier.value == "answer"


def test_a_restart_rebuilds_phrasings_from_the_database_without_the_model(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    store.phrasings.learn(ids["router"], ODD, "UA", PhrasingSource.SOLVED)
    search.search(ODD, k=1)
    search.entries.checkpoint()

    embedded = len(counting_embedder.texts)
    reopened = EntryIndex.open(store, counting_embedder, tmp_path / "index")
    assert len(reopened.phrasings) == 1
    assert len(counting_embedder.texts) == embedded  # cached vectors, no model call
    again = HybridSearch(store, reopened, counting_embedder)
    assert again.search(ODD, k=1)[0].entry.id == ids["router"]


def test_a_merge_keeps_finding_the_kept_entry_by_the_folded_wording(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    search, ids = world(store, counting_embedder, tmp_path)
    store.phrasings.learn(ids["badge"], ODD, "UA", PhrasingSource.SOLVED)
    store.merge_entries(ids["router"], ids["badge"], "UADMIN")
    hits = search.search(ODD, k=3)
    assert hits[0].entry.id == ids["router"]
    assert all(h.entry.id != ids["badge"] for h in hits)



def test_a_large_phrasing_index_scores_within_float16_rounding(
    store: Store, counting_embedder: CountingEmbedder
) -> None:
    entry = store.add_entry(EntryDraft("How do I restart the office router?", "Unplug it.")).id
    index = EntryIndex(store, counting_embedder, exact_limit=8)
    wordings = [f"router problem number {n} on floor {n % 7} again" for n in range(40)]
    for n, wording in enumerate(wordings):
        store.phrasings.learn(entry, wording, f"U{n}", PhrasingSource.SOLVED)
    index.sync()
    assert index.phrasings.kind == "ivf-fp16" and len(index.phrasings) == 40
    query = counting_embedder.inner.embed(["router problem on floor 3"])[0]
    found = index.nearest_phrasings(query, 5)
    stored = store.phrasings.vectors([i for i, _ in found], counting_embedder.model_name)
    for phrasing_id, cosine in found:
        exact = float(np.frombuffer(stored[phrasing_id], dtype=np.float32) @ query)
        assert abs(cosine - exact) < 1e-4  # float16 in memory, nothing read from the database
