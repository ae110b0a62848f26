"""The lexical index follows the store through the change log: adds, edits, retirements,
merges, crashes, reindexing, and saved indexes that must not be trusted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from index.entry_index import EntryIndex
from index.lexical_index import FORMAT, MANIFEST, LexicalIndex, read_manifest
from index.search import HybridSearch
from knowledge.models import EntryDraft, EntryStatus
from knowledge.phrasings import PhrasingSource
from knowledge.store import Store
from switchboard.services import Services
from switchboard.settings import Settings
from tests.conftest import CountingEmbedder


def add(store: Store, question: str, answer: str = "An answer.", tags: tuple = ()) -> int:
    return store.add_entry(EntryDraft(question=question, answer=answer, tags=tags)).id


def found(index: LexicalIndex, text: str) -> list[int]:
    return [entry_id for entry_id, _ in index.search(text, 10)]


def test_follows_add_edit_retire_restore_delete(store: Store, tmp_path: Path) -> None:
    index = LexicalIndex.open(store, tmp_path / "lexical")
    wifi = add(store, "What is the office wifi password?", tags=("network",))
    refund = add(store, "How do I refund an annual plan?", "Use the billing page.")
    assert found(index, "wifi password") == [wifi]
    assert found(index, "network") == [wifi]  # tags are searched
    assert found(index, "billing") == [refund]  # and answers

    store.update_entry(wifi, question="Where do I book a meeting room?")
    assert found(index, "wifi password") == []
    assert found(index, "meeting rooms") == [wifi]  # stemmed: rooms ~ room

    store.set_status(refund, EntryStatus.RETIRED)
    assert found(index, "refund") == []
    store.set_status(refund, EntryStatus.PUBLISHED)
    assert found(index, "refund") == [refund]

    store.db.execute("DELETE FROM entries WHERE id = ?", [wifi])
    assert found(index, "meeting room") == [] and index.count() == 1


def test_drafts_are_not_indexed_and_merged_entries_leave(store: Store, tmp_path: Path) -> None:
    store.add_entry(EntryDraft("Draft about printers?", "x", status=EntryStatus.DRAFT))
    keep = add(store, "How do I reset my VPN token?")
    fold = add(store, "VPN token reset steps?", "Ask the helpdesk for a hardware token.")
    index = LexicalIndex.open(store, tmp_path / "lexical")
    assert found(index, "printers") == []
    assert set(found(index, "vpn token")) == {keep, fold}
    store.merge_entries(keep, fold, actor="U1")
    assert found(index, "vpn token") == [keep]
    assert found(index, "hardware helpdesk") == []  # the folded entry's own words went with it


def test_scores_rank_the_better_match_first(store: Store, tmp_path: Path) -> None:
    both = add(store, "Kubernetes ingress timeout", "Raise the ingress timeout annotation.")
    once = add(store, "Kubernetes pod logs", "Use kubectl logs.")
    add(store, "Lunch menu", "Ask the kitchen.")
    hits = LexicalIndex.open(store, tmp_path / "lexical").search("kubernetes ingress timeout", 10)
    assert [i for i, _ in hits] == [both, once]
    assert hits[0][1] > hits[1][1] > 0


def test_crash_between_commit_and_index_save_is_repaired(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "lexical"
    first = LexicalIndex.open(store, directory)
    kept = add(store, "How do I export invoices?")
    first.checkpoint()
    generation = directory / read_manifest(directory).generation
    saved = {f.name: f.read_bytes() for f in generation.iterdir()}
    # Committed to SQLite (and even applied to the working copy), then the process dies
    # before the index is saved again: nothing of it reached the saved generation.
    lost = add(store, "How do I rotate API keys?")
    store.set_status(kept, EntryStatus.RETIRED)
    first.sync()
    assert {f.name: f.read_bytes() for f in generation.iterdir()} == saved
    again = LexicalIndex.open(store, directory)
    assert not again.rebuilt
    assert found(again, "rotate api keys") == [lost]
    assert found(again, "export invoices") == []


def test_two_processes_hold_the_index_at_once(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "lexical"
    bot = LexicalIndex.open(store, directory)  # e.g. the running bot
    cli = LexicalIndex.open(store, directory)  # e.g. `switchboard import`
    new = add(store, "Imported while the bot ran?")
    cli.checkpoint()
    cli.close()
    assert found(bot, "imported") == [new]
    bot.checkpoint()
    assert read_manifest(directory).cursor == store.changes.cursor()
    assert len(list(directory.glob("g-*"))) == 1  # older generations are removed


def test_an_index_from_another_database_is_rebuilt(tmp_path: Path) -> None:
    one, two = Store.open(tmp_path / "one.db"), Store.open(tmp_path / "two.db")
    add(one, "Only in one: printers?")
    LexicalIndex.open(one, tmp_path / "lexical").checkpoint()
    mine = add(two, "Only in two: printers?")
    index = LexicalIndex.open(two, tmp_path / "lexical")
    assert index.rebuilt and found(index, "printers") == [mine]


def test_a_stale_or_tampered_saved_index_is_rebuilt(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "lexical"
    old = add(store, "An old question about printers?")
    LexicalIndex.open(store, directory).checkpoint()
    stale = tmp_path / "stale"
    shutil.copytree(directory, stale)
    store.set_status(old, EntryStatus.RETIRED)
    new = add(store, "A new question about printers?")
    LexicalIndex.open(store, directory).checkpoint()
    store.changes.prune(store.changes.cursor())  # the log no longer reaches the stale cursor
    shutil.rmtree(directory)
    shutil.copytree(stale, directory)
    index = LexicalIndex.open(store, directory)
    assert index.rebuilt and found(index, "printers") == [new]

    index.checkpoint()
    manifest = directory / MANIFEST
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "count": 7}))
    assert LexicalIndex.open(store, directory).rebuilt
    manifest.write_text("{ not json")
    rebuilt = LexicalIndex.open(store, directory)
    assert rebuilt.rebuilt and found(rebuilt, "printers") == [new]

    # an index of the former layout (format 1: question, answer and tags as separate fields)
    # is not opened with this schema but rebuilt, as after an upgrade
    rebuilt.checkpoint()
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format": 1}))
    upgraded = LexicalIndex.open(store, directory)
    assert upgraded.rebuilt and found(upgraded, "printers") == [new]
    upgraded.checkpoint()
    assert read_manifest(directory).format == FORMAT == 2


def test_the_log_is_pruned_only_past_what_both_indexes_saved(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    vectors = EntryIndex.open(store, counting_embedder, tmp_path / "index")
    lexical = LexicalIndex.open(store, tmp_path / "index" / "lexical")
    vectors.companions.append(lexical)
    add(store, "Vectors saw this one?")
    vectors.sync()  # the vectors apply it; the lexical index has not searched since
    vectors.checkpoint()
    assert read_manifest(tmp_path / "index" / "lexical").cursor == store.changes.cursor()
    reopened = LexicalIndex.open(store, tmp_path / "index" / "lexical")
    assert not reopened.rebuilt and found(reopened, "vectors") != []


def test_both_engines_score_the_entry_as_one_document(store: Store, tmp_path: Path) -> None:
    """tantivy gives FTS5's scores: one document of question, tags and answer, no field
    weights (the fusion and the confidence were fitted on FTS5's scale; the sandbox and the
    tests search with FTS5, the bot with tantivy)."""
    for question, answer, tags in [
        ("How do I reset my VPN token?", "Ask the helpdesk for a new hardware token.", ("vpn",)),
        ("Where is the expense policy?", "The finance wiki has the expense and travel rules.",
         ("finance",)),
        ("Can I expense a taxi to the airport?", "Yes, taxis are travel; keep the receipt.",
         ("travel", "finance")),
        ("How do I book a meeting room?", "Use the calendar: add the room as a guest.", ()),
    ]:
        add(store, question, answer, tags)
    index = LexicalIndex.open(store, tmp_path / "lexical")
    assert store.lexical is not None
    for text in ("expense taxi receipt", "travel policy", "finance", "room calendar guest"):
        fts5, ours = store.lexical.search(text, 10), index.search(text, 10)
        assert [i for i, _ in ours] == [i for i, _ in fts5], text
        for (_, mine), (_, theirs) in zip(ours, fts5, strict=True):
            assert abs(mine - theirs) < 1e-5 * theirs, text
    # an answer's words count as much as the question's: "receipt" (answer) and "airport"
    # (question) are each in one entry, with the same length and document frequency
    (receipt,), (airport,) = index.search("receipt", 10), index.search("airport", 10)
    assert receipt == airport


def test_phrasings_are_searched_like_the_question(store: Store, tmp_path: Path) -> None:
    phrasings: dict[int, list[str]] = {}
    entry = add(store, "How do I claim travel expenses?")
    index = LexicalIndex.open(
        store, tmp_path / "lexical", lambda ids: {i: phrasings[i] for i in ids if i in phrasings}
    )
    assert found(index, "reimbursement") == []
    phrasings[entry] = ["Where is the reimbursement form for trips?"]
    store.db.execute("INSERT INTO index_changes(entry_id) VALUES (?)", [entry])  # as the store does
    assert found(index, "reimbursement form") == [entry]
    # A word in both the question and a phrasing counts once (the better of the two).
    alone = index.search("travel", 1)[0][1]
    phrasings[entry] = ["travel travel travel"]
    store.db.execute("INSERT INTO index_changes(entry_id) VALUES (?)", [entry])
    assert index.search("travel", 1)[0][1] >= alone
    assert index.search("travel", 1)[0][1] < 2 * alone


def test_reindex_and_close_save_both_indexes(
    counting_embedder: CountingEmbedder, tmp_path: Path, model_cache: Path
) -> None:
    settings = Settings.from_env(
        {"SWITCHBOARD_HOME": str(tmp_path), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}
    )
    services = Services(settings, embedder=counting_embedder)
    entry = add(services.store, "Where are the parking permits?")
    assert services.reindex() == 1
    assert [h.entry.id for h in services.search.search("parking permits", k=1)] == [entry]
    services.close()
    directory = settings.index_dir / "lexical"
    assert read_manifest(directory).count == 1
    assert not list(directory.glob("w-*"))  # the working copy went with the process


def test_learned_phrasings_reach_the_index_through_the_change_log(
    store: Store, tmp_path: Path
) -> None:
    entry = add(store, "How do I claim travel expenses?")
    index = LexicalIndex.open(store, tmp_path / "lexical", store.phrasings.texts_by_entry)
    phrasing = store.phrasings.learn(
        entry, "where is the reimbursement form for trips", "U1", PhrasingSource.SOLVED
    )
    assert phrasing is not None
    assert found(index, "reimbursement form") == [entry]
    store.phrasings.learn(entry, "mileage allowance claims", "U2", PhrasingSource.NOT_HELPFUL)
    assert found(index, "mileage allowance") == []  # a "not helpful" wording is no match
    store.phrasings.remove(phrasing.id, admin="U9")
    assert found(index, "reimbursement form") == []


def test_one_read_of_the_change_log_per_search_sees_another_connections_edit(
    store: Store, counting_embedder: CountingEmbedder, tmp_path: Path
) -> None:
    parking = add(store, "Where are the parking permits?", "At the front desk.")
    add(store, "How do I book a meeting room?", "Use the calendar.")
    vectors = EntryIndex.open(store, counting_embedder, tmp_path / "index")
    lexical = LexicalIndex.open(store, tmp_path / "index" / "lexical")
    vectors.companions.append(lexical)
    search = HybridSearch(store, vectors, counting_embedder, lexical=lexical)
    reads: list[int] = []
    since = store.changes.since

    def counted(cursor: int) -> tuple[set[int], int]:  # the real read, counted
        reads.append(cursor)
        return since(cursor)

    store.changes.since = counted  # type: ignore[method-assign]
    other = Store.open(tmp_path / "switchboard.db")  # the CLI, say, on its own connection
    try:
        other.update_entry(parking, question="Where do I collect a bicycle locker key?")
    finally:
        other.close()
    hits = search.search("bicycle locker key", k=1)
    assert len(reads) == 1  # both indexes caught up from one read
    assert hits[0].entry.id == parking and hits[0].bm25 > 0  # the new words, in both indexes
    assert lexical.cursor == vectors.cursor == store.changes.cursor()
    assert found(lexical, "parking permits") == []
    lexical.cursor -= 1  # a companion behind the vectors reads the log for itself
    reads.clear()
    search.search("meeting room", k=1)
    assert reads == [vectors.cursor, vectors.cursor - 1] and lexical.cursor == vectors.cursor
