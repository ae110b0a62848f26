from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.errors import InvalidInput
from knowledge.importing import draft_from_record, entry_record, read_entries, write_jsonl
from knowledge.models import EntryKind, EntryStatus
from knowledge.store import Store


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_rows_become_drafts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "kb.jsonl",
        "\n".join(
            [
                json.dumps(
                    {
                        "id": 7,
                        "question": "Q1?",
                        "answer": "A1",
                        "tags": ["Billing", "billing", "x"],
                        "kind": "expert",
                        "status": "pending",
                        "created_at": "2024-02-01",
                        "visibility": "channel:C0SUPPORT",
                        "answered_by": "U01",
                    }
                ),
                "",
                json.dumps({"question": "Q2?", "answer": "A2", "tags": "a; b, c"}),
            ]
        ),
    )
    parsed = read_entries(path)
    assert parsed.problems == []
    first, second = parsed.drafts
    assert first.external_id == "7" and first.tags == ("billing", "x")
    assert first.kind is EntryKind.EXPERT_ANSWER and first.status is EntryStatus.PENDING_REVIEW
    assert str(first.visibility) == "channel:C0SUPPORT"
    assert second.status is EntryStatus.PUBLISHED and second.tags == ("a", "b", "c")


def test_bad_jsonl_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "kb.jsonl",
        "\n".join(
            [
                json.dumps({"id": "a", "question": "Fine?", "answer": "Yes"}),
                "{not json",
                json.dumps({"question": "", "answer": "x"}),
                json.dumps(["a", "list"]),
                json.dumps({"id": "a", "question": "Dup?", "answer": "x"}),
                json.dumps({"question": "Q", "answer": "A", "status": "archived"}),
                json.dumps({"question": "Q", "answer": "A", "source_url": "javascript:alert(1)"}),
                json.dumps({"question": "Q", "answer": "A", "created_at": "last tuesday"}),
                json.dumps({"question": "Q", "answer": "A", "visibility": "team:everyone"}),
            ]
        ),
    )
    parsed = read_entries(path)
    assert len(parsed.rows) == 1
    by_line = {p.line: p.reason for p in parsed.problems}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "not valid JSON" in by_line[2]
    assert "'question' is missing" in by_line[3]
    assert "JSON object" in by_line[4]
    assert "already used on line 1" in by_line[5]
    assert "published" in by_line[6]  # lists the allowed values
    assert "http" in by_line[7]
    assert "ISO 8601" in by_line[8]
    assert "visibility" in by_line[9]
    assert str(parsed.problems[0]).startswith("kb.jsonl:2: ")


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path / "kb.csv",
        (
            "id,question,answer,tags\n"
            '1,"How do I\nexport?","Click\nExport",billing\n'
            "2,,missing question,\n"
            '3,Fine?,Yes,"a,b"\n'
        ),
    )
    parsed = read_entries(path)
    assert [p.line for p in parsed.problems] == [5]  # row 1 spans lines 2-4
    assert [r.line for r in parsed.rows] == [2, 6]
    assert parsed.rows[0].draft.question == "How do I\nexport?"
    assert parsed.rows[1].draft.tags == ("a", "b")


def test_csv_without_question_column_is_refused(tmp_path: Path) -> None:
    parsed = read_entries(write(tmp_path / "kb.csv", "q,a\nx,y\n"))
    assert parsed.rows == [] and "'question' column" in parsed.problems[0].reason


def test_markdown_folder(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "billing").mkdir(parents=True)
    write(
        folder / "billing" / "refunds.md",
        "---\ntags: [billing]\ncreated_at: 2024-03-01\nanswered_by: U02\n---\n"
        "# Can we refund after 30 days?\n\nYes, pro-rated.\n",
    )
    write(folder / "vpn.md", "---\nquestion: Where is the VPN config?\n---\nIn the IT portal.\n")
    write(folder / "broken.md", "---\ntags: [unclosed\n---\nbody\n")
    parsed = read_entries(folder)
    drafts = {d.external_id: d for d in parsed.drafts}
    assert drafts["billing/refunds"].question == "Can we refund after 30 days?"
    assert drafts["billing/refunds"].answer == "Yes, pro-rated."
    assert drafts["billing/refunds"].created_at is not None
    assert drafts["vpn"].answer == "In the IT portal."
    assert [p.source for p in parsed.problems] == ["broken.md"]


def test_unknown_fields_are_ignored_with_a_warning(tmp_path: Path) -> None:
    parsed = read_entries(
        write(
            tmp_path / "kb.jsonl", json.dumps({"question": "Q", "answer": "A", "priority": "high"})
        )
    )
    assert len(parsed.rows) == 1 and "priority" in parsed.warnings[0]


def test_unknown_file_type_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown file type"):
        read_entries(write(tmp_path / "kb.xlsx", "x"))
    with pytest.raises(InvalidInput, match="does not exist"):
        read_entries(tmp_path / "nope.jsonl")


def test_export_round_trips_through_import(tmp_path: Path, store: Store) -> None:
    source = write(
        tmp_path / "in.jsonl",
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "id": "x1",
                    "question": "Q1?",
                    "answer": "A1",
                    "tags": ["t"],
                    "kind": "article",
                    "visibility": "users:U01,U02",
                    "status": "retired",
                    "created_at": "2024-01-02T03:04:05Z",
                    "source_url": "https://wiki.example.com/x1",
                    "answered_by": "Dana",
                },
                {"question": "Ünïcode 🎉?", "answer": "Oui."},
            ]
        ),
    )
    store.upsert_entries(read_entries(source).drafts)
    exported = tmp_path / "out.jsonl"
    assert write_jsonl(store.iter_entries(), exported) == 2
    again = Store.in_memory()
    again.upsert_entries(read_entries(exported).drafts)
    assert [entry_record(e) for e in again.iter_entries()] == [
        entry_record(e) for e in store.iter_entries()
    ]
    assert store.upsert_entries(read_entries(exported).drafts).unchanged == [1, 2]


records = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "question",
            "answer",
            "tags",
            "kind",
            "status",
            "visibility",
            "created_at",
            "source_url",
            "answered_by",
            "other",
        ]
    ),
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.lists(st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers()),
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(records)
def test_any_record_is_either_a_draft_or_a_friendly_error(record: dict) -> None:
    try:
        draft = draft_from_record(record)
    except InvalidInput as error:
        assert str(error)
    else:
        assert draft.question.strip() and draft.answer.strip()
