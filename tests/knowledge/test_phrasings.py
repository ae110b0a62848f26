"""Phrasings: the wordings people confirmed for an entry, learned, voted, carried and removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.capture import capture_answer
from knowledge.errors import ImportRejected, InvalidInput
from knowledge.models import EntryDraft
from knowledge.phrasings import PhrasingSource, read_verdicts
from knowledge.questions import AskInput, QuestionBook, QuestionSource, Verdict
from knowledge.store import Store


def entry(store: Store, question: str, external_id: str | None = None) -> int:
    return store.add_entry(EntryDraft(question, "An answer.", external_id=external_id)).id


def ask(store: Store, text: str, asker: str = "UASKER", **fields: str) -> int:
    book = QuestionBook(store)
    question, _ = book.receive(AskInput(asker, text, QuestionSource.DM, **fields))
    return question.id


def searchable_phrasings(store: Store, entry_id: int) -> str:
    """The entry's active phrasings as its lexical text (kept by triggers in both dialects)."""
    return store.query("SELECT phrasings FROM entries WHERE id = ?", [entry_id])[0]["phrasings"]


def test_a_solved_verdict_keeps_the_askers_words_redacted(store: Store) -> None:
    refund = entry(store, "How do I refund an annual plan?")
    qid = ask(store, "customer jane@example.com wants her yearly money back")
    cursor = store.changes.cursor()
    assert QuestionBook(store).record_feedback(qid, "UASKER", Verdict.SOLVED, refund)

    [phrasing] = store.phrasings.of_entry(refund)
    assert phrasing.text == "customer [email] wants her yearly money back"
    assert searchable_phrasings(store, refund) == "customer [email] wants her yearly money back"
    if store.lexical is not None:  # SQLite's FTS5 table reads that column
        assert store.lexical.search("yearly money", 5)[0][0] == refund
    assert (phrasing.polarity, phrasing.source, phrasing.votes) == (1, PhrasingSource.SOLVED, 1)
    changed, _ = store.changes.since(cursor)
    assert refund in changed  # the derived indexes re-read the entry


def test_not_helpful_keeps_a_negative_phrasing(store: Store) -> None:
    refund = entry(store, "How do I refund an annual plan?")
    qid = ask(store, "how do refunds work for monthly plans")
    QuestionBook(store).record_feedback(qid, "UASKER", Verdict.NOT_HELPFUL, refund)
    [phrasing] = store.phrasings.of_entry(refund)
    assert phrasing.polarity == -1 and phrasing.source is PhrasingSource.NOT_HELPFUL
    assert store.phrasings.texts_by_entry([refund]) == {}  # only positive ones are searched


def test_votes_count_people_not_clicks(store: Store) -> None:
    refund = entry(store, "How do I refund an annual plan?")
    learn = store.phrasings.learn
    first = learn(refund, "Money back for a yearly plan?", "UA", PhrasingSource.SOLVED)
    again = learn(refund, "money back for a YEARLY plan", "UA", PhrasingSource.SOLVED)
    other = learn(refund, "Money back for a yearly plan", "UB", PhrasingSource.SOLVED)
    assert first is not None and again is not None and other is not None
    assert first.id == again.id == other.id
    assert other.votes == 2 and len(store.phrasings.of_entry(refund)) == 1


def test_nothing_is_learned_from_too_few_words_or_the_entrys_own_question(store: Store) -> None:
    refund = entry(store, "How do I refund an annual plan?")
    assert store.phrasings.learn(refund, "help?", "UA", PhrasingSource.SOLVED) is None
    assert store.phrasings.learn(refund, "how do i refund an annual plan", "UA",
                                 PhrasingSource.SOLVED) is None
    assert store.phrasings.of_entry(refund) == []


def test_an_admin_removes_a_phrasing_and_a_later_vote_does_not_bring_it_back(
    store: Store,
) -> None:
    refund = entry(store, "How do I refund an annual plan?")
    phrasing = store.phrasings.learn(refund, "yearly money back", "UA", PhrasingSource.SOLVED)
    assert phrasing is not None
    removed = store.phrasings.remove(phrasing.id, "UADMIN")
    assert not removed.is_active and removed.removed_by == "UADMIN"
    assert store.phrasings.of_entry(refund) == []
    assert store.phrasings.of_entry(refund, include_removed=True) == [removed]
    again = store.phrasings.learn(refund, "yearly money back", "UB", PhrasingSource.SOLVED)
    assert again is not None and not again.is_active and again.votes == 1
    assert searchable_phrasings(store, refund) == ""
    if store.lexical is not None:
        assert store.lexical.search("yearly money", 5) == []
    assert store.audit_log(refund)[0].action == "phrasing_removed"


def test_a_merge_carries_phrasings_and_the_folded_question(store: Store) -> None:
    keep = entry(store, "How do I refund an annual plan?")
    fold = entry(store, "Can annual subscriptions be refunded?")
    store.phrasings.learn(keep, "yearly money back please", "UA", PhrasingSource.SOLVED)
    store.phrasings.learn(fold, "yearly money back please", "UB", PhrasingSource.SOLVED)
    store.phrasings.learn(fold, "return my annual payment", "UC", PhrasingSource.SOLVED)

    store.merge_entries(keep, fold, "UADMIN")

    texts = {p.text: p.votes for p in store.phrasings.of_entry(keep)}
    assert texts == {"yearly money back please": 2, "return my annual payment": 1,
                     "Can annual subscriptions be refunded?": 1}
    assert store.phrasings.of_entry(fold) == []


def test_an_experts_captured_answer_keeps_the_original_question(store: Store) -> None:
    qid = ask(store, "Does the EU plan include VAT on invoices?")
    question = QuestionBook(store).get(qid)
    captured = capture_answer(store, question, answered_by="UEXPERT", answer="Yes, always.",
                              source_url=None, publish=True)
    [phrasing] = store.phrasings.of_entry(captured.entry_id)
    assert phrasing.source is PhrasingSource.EXPERT
    assert phrasing.text == "Does the EU plan include VAT on invoices?"


def write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line)
                              for line in lines) + "\n")
    return path


def test_the_learn_file_reports_every_bad_line_and_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    entry(store, "How do I refund an annual plan?", external_id="refund")
    path = write(tmp_path / "verdicts.jsonl", [
        {"id": "refund", "question": "yearly money back", "verdict": "solved"},
        {"id": "nope", "question": "where is the wifi", "verdict": "solved"},
        {"id": "refund", "question": "money back", "verdict": "maybe"},
        "{not json",
        {"id": "refund", "question": "help", "verdict": "solved"},
        {"id": "refund", "question": "yearly refund", "verdict": "solved", "extra": 1},
    ])
    with pytest.raises(ImportRejected) as rejected:
        read_verdicts(store, path)
    lines = sorted(p.line for p in rejected.value.problems)
    assert lines == [2, 3, 4, 5, 6]
    assert "verdicts.jsonl:2: no entry has the id 'nope'" in str(rejected.value)
    assert "--skip-invalid" not in str(rejected.value)
    assert store.query("SELECT count(*) AS n FROM phrasings")[0]["n"] == 0


def test_the_learn_file_records_verdicts_in_one_go(store: Store, tmp_path: Path) -> None:
    refund = entry(store, "How do I refund an annual plan?", external_id="refund")
    path = write(tmp_path / "verdicts.jsonl", [
        {"id": "refund", "question": "yearly money back", "verdict": "solved"},
        {"id": "refund", "question": "refund a monthly plan", "verdict": "not_helpful"},
    ])
    rows = read_verdicts(store, path)
    assert store.phrasings.learn_many(rows, "learn:verdicts.jsonl") == 2
    assert sorted(p.polarity for p in store.phrasings.of_entry(refund)) == [-1, 1]


def test_an_empty_learn_file_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="nothing to learn"):
        read_verdicts(store, write(tmp_path / "empty.jsonl", [""]))
