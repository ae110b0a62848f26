from __future__ import annotations

import json
import os
import re
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


def test_csv_without_question_and_answer_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^kb.csv:1: .*'question' and 'answer' columns"):
        read_entries(write(tmp_path / "kb.csv", "q,a\nx,y\n"))


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
    write(folder / "notes.txt", "not markdown, not read")
    parsed = read_entries(folder)
    drafts = {d.external_id: d for d in parsed.drafts}
    assert drafts["billing/refunds"].question == "Can we refund after 30 days?"
    assert drafts["billing/refunds"].answer == "Yes, pro-rated."
    assert drafts["billing/refunds"].created_at is not None
    assert drafts["vpn"].answer == "In the IT portal."
    assert [str(p) for p in parsed.problems] == [
        "broken.md:3: unreadable front matter (did not find expected ',' or ']')."
    ]


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


# -- every defect gets one line naming the file and line; nothing else escapes ------------------


def reasons(path: Path) -> dict[int, str]:
    """Each problem of a file by line, checking that it reads `file:line: reason` on one line."""
    parsed = read_entries(path)
    for problem in parsed.problems:
        text = str(problem)
        assert text.startswith(f"{path.name}:{problem.line}: ") and text.isprintable()
    return {p.line: p.reason for p in parsed.problems}


def test_bytes_that_are_not_utf8_are_named_with_line_and_byte(tmp_path: Path) -> None:
    jsonl = tmp_path / "kb.jsonl"
    jsonl.write_bytes(b'{"question": "ok?", "answer": "yes"}\n'
                      b'{"question": "caf\xe9?", "answer": "x"}\n')
    assert reasons(jsonl) == {
        2: "not UTF-8 (byte 0xE9 at column 18); save the file as UTF-8 and import it again."
    }
    csv_file = tmp_path / "kb.csv"
    csv_file.write_bytes(b'question,answer\nfine,yes\n"two\nlines \xff",x\nlast,row\n')
    parsed = read_entries(csv_file)
    assert [r.line for r in parsed.rows] == [2, 5]
    assert reasons(csv_file) == {
        3: "not UTF-8 (byte 0xFF on line 4); save the file as UTF-8 and import it again."
    }
    markdown = tmp_path / "kb.md"
    markdown.write_bytes(b"---\nquestion: ok\n---\ncaf\xe9\n")
    assert reasons(markdown) == {
        4: "not UTF-8 (byte 0xE9 on line 4); save the file as UTF-8 and import it again."
    }


def test_utf8_bom_is_accepted_and_utf16_refused(tmp_path: Path) -> None:
    for name, text in [("a.jsonl", '{"question": "Q?", "answer": "A"}\n'),
                       ("a.csv", "question,answer\nQ?,A\n"), ("a.md", "# Q?\nA\n")]:
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert [d.question for d in read_entries(path).drafts] == ["Q?"]
        path.write_bytes(text.encode("utf-16"))
        utf16 = "the file is UTF-16 (or UTF-32); save it as UTF-8 and import it again."
        if name.endswith(".md"):  # one Markdown file of a folder: a bad row, not a bad import
            assert reasons(path) == {1: utf16}
            continue
        with pytest.raises(InvalidInput, match=re.escape(f"{name}: {utf16}")):
            read_entries(path)


def test_lone_surrogates_and_nul_characters_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "kb.jsonl", "\n".join([
        '{"question": "a\\ud800b", "answer": "x"}',
        '{"question": "q", "answer": "x", "id": "\\udcff"}',
        '{"question": "q", "answer": "x\\u0000"}',
        '{"question": "q", "answer": "x", "tags": ["ok", "\\udfff"]}',
        '{"question": "ok", "answer": "x"}',
    ]))
    found = reasons(path)
    assert sorted(found) == [1, 2, 3, 4]
    assert found[1].startswith("'question' holds '\\ud800', which is not text")
    assert found[2].startswith("'id' holds '\\udcff'") and "'tags'" in found[4]
    assert found[3] == "'answer' holds a NUL character (\\x00); remove it."
    front = write(tmp_path / "kb.md", '---\nquestion: "\\ud800"\n---\nbody\n')
    assert reasons(front) == {
        2: "unreadable front matter (found invalid Unicode character escape code)."
    }


@pytest.mark.parametrize("created_at", [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "0001-01-01", "9999-12-31",
    "1969-12-31T23:59:59Z", "2100-01-01",
])
def test_created_at_out_of_range_is_refused(tmp_path: Path, created_at: str) -> None:
    path = write(tmp_path / "kb.jsonl", json.dumps(
        {"question": "Q", "answer": "A", "created_at": created_at}))
    assert reasons(path) == {1: f"'created_at' {created_at!r} is out of range: use a date from "
                                "1970 to 2099, e.g. 2024-05-01."}


def test_front_matter_must_be_named_text_fields(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    cases = {
        "int_key.md": "---\n1: 2\nquestion: q\n---\nbody\n",
        "none_key.md": "---\n~: 2\nquestion: q\n---\nbody\n",
        "list.md": "---\n- a\n- b\n---\nbody\n",
        "list_value.md": "---\nquestion: q\nanswered_by: [1, 2]\n---\nbody\n",
        "bool_value.md": "---\nquestion: yes\n---\nbody\n",
        "binary_value.md": "---\nquestion: !!binary aGk=\n---\nbody\n",
        "python_tag.md": "---\nquestion: !!python/name:os.system\n---\nbody\n",
        "big_int.md": "---\nquestion: " + "9" * 5000 + "\n---\nbody\n",
        "deep.md": "---\nquestion: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n",
        "year_one.md": "---\nquestion: q\ncreated_at: 0001-01-01\n---\nbody\n",
        "unclosed.md": "---\nquestion: q\nbody\n",
        "number.md": "---\nquestion: 42\n---\nbody\n",
    }
    for name, text in cases.items():
        write(folder / name, text)
    parsed = read_entries(folder)
    found = {p.source: p.reason for p in parsed.problems}
    assert [d.question for d in parsed.drafts] == ["42"]
    assert set(found) == set(cases) - {"number.md"}
    assert found["int_key.md"].startswith("the front matter key 1 is not a field name")
    assert found["none_key.md"].startswith("the front matter key None is not a field name")
    assert found["list.md"] == "the front matter must be 'field: value' lines, not a list."
    assert found["list_value.md"] == "'answered_by' must be text, not list."
    assert found["bool_value.md"] == "'question' must be text, not bool."
    assert found["binary_value.md"] == "'question' must be text, not bytes."
    assert found["python_tag.md"].startswith("unreadable front matter (")
    assert found["big_int.md"] == "unreadable front matter (a number has thousands of digits)."
    assert found["deep.md"].startswith("unreadable front matter (")
    assert "'created_at' '0001-01-01' is out of range" in found["year_one.md"]
    assert found["unclosed.md"].startswith("the front matter opened on line 1 is never closed")


def test_json_that_no_row_should_hold_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "kb.jsonl", "\n".join([
        '{"question": "q", "answer": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"question": "q", "answer": "a", "id": ' + "9" * 5_000 + "}",
        json.dumps({"question": "q", "answer": "a", "id": "9" * 5_000}),
        '{"question": "q", "answer": "a", "question": "again"}',
        '{"question": "q", "answer": NaN}',
        '{"question": "q", "answer": "a", "id": 1.5}',
        json.dumps({"question": "ok", "answer": "a", "id": 10**300}),
    ]))
    found = reasons(path)
    assert found == {
        1: "not usable JSON: nested too deeply; a row is one flat object.",
        2: "not usable JSON: a number has thousands of digits; write it as text.",
        3: "'id' is 5,000 characters long; the limit is 200.",
        4: "not usable JSON: the key 'question' appears twice.",
        5: "not usable JSON: NaN is not a JSON value.",
        6: "'id' must be a string or a whole number.",
        7: "'id' is 301 characters long; the limit is 200.",
    }


def test_csv_cell_over_the_field_limit_costs_only_its_row(tmp_path: Path) -> None:
    path = write(tmp_path / "kb.csv", "question,answer\nbig," + "a" * 200_000 + "\nok?,yes\n")
    assert reasons(path) == {2: "a cell is over 131,072 characters long, longer than any field "
                                "may be; shorten it."}
    assert [r.line for r in read_entries(path).rows] == [3]


def test_csv_unclosed_quote_is_reported_and_swallows_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "kb.csv",
                 'question,answer\nfirst?,yes\n"second?,no closing quote\nthird?,ok\nfourth?,ok\n')
    found = reasons(path)
    assert list(found) == [3] and found[3].startswith("a quoted cell starting on this row is never")
    parsed = read_entries(path)
    assert [(r.line, r.draft.question) for r in parsed.rows] == [
        (2, "first?"), (4, "third?"), (5, "fourth?")]
    after_quote = write(tmp_path / "b.csv", 'question,answer\n"a"b,c\nok?,yes\n')
    assert reasons(after_quote)[2].startswith("text follows a closing quote")


def test_csv_header_defects_refuse_the_file(tmp_path: Path) -> None:
    cases = {
        "question,answer,answer\nq,a,b\n": "the column 'answer' appears twice in the header row "
                                            "(columns 2 and 3); keep one.",
        "question,tags\nq,t\n": "the header row must name the 'question' and 'answer' columns",
        'question,"answer\n': "the header row is unusable: a quoted cell",
        "question,ans\xffwer\n": "the header row is unusable: not UTF-8 (byte 0xFF)",
    }
    for text, message in cases.items():
        path = tmp_path / "kb.csv"
        path.write_bytes(text.encode("utf-8", "surrogateescape") if "\xff" not in text
                         else text.encode("latin-1"))
        with pytest.raises(InvalidInput) as refused:
            read_entries(path)
        assert str(refused.value).startswith(f"kb.csv:1: {message}")


def test_csv_rows_with_too_many_values_or_blank_are_handled(tmp_path: Path) -> None:
    path = write(tmp_path / "kb.csv", "question,answer\nq1,a1,extra\nq2,a2,,\n\n,\nq3,a3\n")
    parsed = read_entries(path)
    assert [r.line for r in parsed.rows] == [3, 6]  # trailing empty cells are fine, blanks skipped
    assert reasons(path) == {2: "3 values for 2 header columns; quote cells that hold commas."}


@pytest.mark.parametrize("name,content", [
    ("empty.jsonl", b""), ("blank.jsonl", b"\n  \n\r\n"), ("empty.csv", b""),
    ("blank.csv", b"\n\n"), ("header_only.csv", b"question,answer\n"),
])
def test_files_without_rows_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InvalidInput, match=rf"^{name} holds no rows: nothing to import\.$"):
        read_entries(tmp_path / name)


def test_binary_files_give_problems_not_exceptions(tmp_path: Path) -> None:
    noise = bytes(range(256)) * 8
    for name in ("noise.jsonl", "noise.md"):
        (tmp_path / name).write_bytes(noise)
        parsed = read_entries(tmp_path / name)
        assert parsed.rows == [] and parsed.problems
    (tmp_path / "noise.csv").write_bytes(noise)
    with pytest.raises(InvalidInput, match=r"^noise.csv:1: the header row"):
        read_entries(tmp_path / "noise.csv")


def test_paths_that_are_not_import_files(tmp_path: Path) -> None:
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    with pytest.raises(InvalidInput, match=r"the folder holds no \.md files"):
        read_entries(empty_folder)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput, match="is not a regular file"):
        read_entries(fifo)
    with pytest.raises(InvalidInput, match="cannot use this path"):
        read_entries(tmp_path / ("x" * 5_000 + ".jsonl"))


def test_odd_file_names_are_shown_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.md")).write_text("# Q?\nA\n")
    (folder / "line\nbreak.md").write_text("---\nquestion: [\n---\n")
    found = {p.source: p.reason for p in read_entries(folder).problems}
    assert found.keys() == {"caf\\udce9.md", "line\\nbreak.md"}
    assert found["caf\\udce9.md"].startswith("'id' holds '\\udce9', which is not text")


def test_a_repeated_id_in_a_markdown_folder_names_the_first_file(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    write(folder / "a.md", "---\nid: shared\n---\n# Q1?\nA\n")
    write(folder / "b.md", "---\nid: shared\n---\n# Q2?\nA\n")
    parsed = read_entries(folder)
    assert [str(p) for p in parsed.problems] == [
        "b.md:1: id 'shared' already used on a.md: ids must be unique."
    ]


def test_a_row_repeating_another_rows_text_is_reported_not_written_twice(tmp_path: Path) -> None:
    # rows without an id are matched to entries by their text: the same text twice in one file
    # would create an entry and then overwrite it (found by tests/knowledge/test_import_fuzz.py)
    path = tmp_path / "twice.jsonl"
    path.write_text('{"id": "vpn", "question": "VPN port?", "answer": "443.", "tags": ["it"]}\n'
                    '{"question": "VPN port?", "answer": "443."}\n'
                    '{"question": "VPN port?", "answer": "1194 for OpenVPN."}\n')
    parsed = read_entries(path)
    assert [row.line for row in parsed.rows] == [1, 3]
    assert [str(p) for p in parsed.problems] == [
        "twice.jsonl:2: repeats the question and answer of line 1: keep one row, or give each "
        "row its own id."]
