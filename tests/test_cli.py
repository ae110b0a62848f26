"""The `switchboard` command line, run in-process against a real database and the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from switchboard.cli import main
from tests.conftest import FIXTURES


@pytest.fixture
def run(tmp_path: Path, model_cache: Path):
    env = {"SWITCHBOARD_HOME": str(tmp_path / "home"), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)

    return invoke


def stats(run) -> dict:
    return json.loads(run("stats", "--json").output)


def test_import_then_search_as_json(run) -> None:
    result = run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    assert result.exit_code == 0, result.output
    assert "24 new" in result.output
    out = run("search", "download an entire dropbox folder", "--k", "3", "--json")
    payload = json.loads(out.output)
    assert payload["query"] == "download an entire dropbox folder"
    assert len(payload["hits"]) == 3
    first = payload["hits"][0]
    assert set(first) == {"id", "external_id", "question", "score", "tier", "confidence"}
    assert first["external_id"] == "faq-92" and first["tier"] in ("answer", "suggest")


def test_search_reads_queries_from_stdin_one_object_each(run) -> None:
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    out = run(
        "search",
        "--json",
        "--k",
        "1",
        stdin="forward several gmail emails\n\nembed a spreadsheet in a doc\n",
    )
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert [line["hits"][0]["external_id"] for line in lines] == ["faq-13", "faq-18"]


def test_bad_file_imports_nothing_and_names_lines(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Fine?", "answer": "Yes"}\n{"question": "No answer"}\n{oops\n')
    result = run("import", str(bad))
    assert result.exit_code == 1
    assert "bad.jsonl:2: 'answer' is missing or empty" in result.output
    assert "bad.jsonl:3: not valid JSON" in result.output
    assert "nothing was imported" in result.output
    assert stats(run)["entries"] == 0
    skipped = run("import", str(bad), "--skip-invalid")
    assert skipped.exit_code == 0 and "1 new" in skipped.output and "2 skipped" in skipped.output
    assert stats(run)["entries"] == 1


def test_reimport_updates_in_place(run, tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("id,question,answer\nk1,How do I reset MFA?,Ask IT.\n")
    run("import", str(path))
    path.write_text("id,question,answer\nk1,How do I reset MFA?,Use the self-service portal.\n")
    result = run("import", str(path))
    assert "0 new, 1 updated" in result.output
    out = json.loads(run("search", "reset multi factor", "--json", "--k", "1").output)
    assert out["hits"][0]["external_id"] == "k1"
    assert stats(run)["entries"] == 1


def test_markdown_folder_import(run, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "vpn.md").write_text(
        "---\ntags: [it]\n---\n# Where is the VPN config?\n\nIT portal.\n"
    )
    assert "1 new" in run("import", str(folder)).output


def test_export_round_trip(run, tmp_path: Path) -> None:
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    out = tmp_path / "export.jsonl"
    assert "Exported 24 entries" in run("export", str(out)).output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["id"] == "faq-0" and rows[0]["status"] == "published"
    assert "0 new, 0 updated, 24 unchanged" in run("import", str(out)).output


def test_stats_and_reindex(run) -> None:
    empty = stats(run)
    assert empty["entries"] == 0 and empty["index"] is None
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    figures = stats(run)
    assert figures["by_status"]["published"] == 24
    assert figures["index"] == {
        "vectors": 24,
        "kind": "flat",
        "pending_changes": 0,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
    }
    assert "24 published entries" in run("reindex", "--full").output
    assert stats(run)["lexical_index"] == {"documents": 24, "pending_changes": 0}
    shown = run("stats").output
    assert "Search index: 24 vectors" in shown and "Lexical index: 24 documents" in shown
    assert "up to date" in shown


def test_missing_file_and_bad_settings_are_one_clear_line(
    run, tmp_path: Path, model_cache: Path
) -> None:
    result = run("import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1 and "does not exist" in result.output
    bad = CliRunner().invoke(main, ["stats"], env={"SWITCHBOARD_EMBEDDER": "gpu"})
    assert bad.exit_code == 1 and "SWITCHBOARD_EMBEDDER" in bad.output


def test_map_group(run) -> None:
    done = run("map-group", "S0123ABC", "Billing")
    assert done.exit_code == 0 and "S0123ABC → billing" in done.output
    bad = run("map-group", "@billing-team", "billing")
    assert bad.exit_code == 1 and "not a user group id" in bad.output


def verdicts(path: Path, *rows: dict | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def listed(run, entry: str) -> list[dict]:
    out = run("phrasings", entry, "--json", "--all")
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.output.splitlines()]


def entry_id(run, external_id: str) -> str:
    hits = json.loads(run("search", external_id, "--json", "--k", "50").output)["hits"]
    return str(next(h["id"] for h in hits if h["external_id"] == external_id))


def test_learn_records_verdicts_and_search_finds_the_wording(run, tmp_path: Path) -> None:
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    wording = "the purple gizmo keeps blinking at me"
    before = json.loads(run("search", wording, "--json", "--k", "1").output)["hits"][0]
    assert before["external_id"] != "faq-93"
    path = verdicts(tmp_path / "verdicts.jsonl",
                    {"id": "faq-93", "question": wording, "verdict": "solved"},
                    {"id": "faq-92", "question": wording, "verdict": "not_helpful"},
                    {"id": "faq-93", "question": "Date of first commit", "verdict": "solved"})
    result = run("learn", str(path))
    assert result.exit_code == 0, result.output
    assert "Learned 2 phrasing(s) from 3 verdict(s)" in result.output
    assert "1 taught nothing new" in result.output
    after = json.loads(run("search", wording, "--json", "--k", "1").output)["hits"][0]
    assert after["external_id"] == "faq-93"
    [learned] = listed(run, entry_id(run, "faq-93"))
    assert (learned["text"], learned["source"], learned["people"]) == (wording, "learn", 1)
    [pushed_down] = listed(run, entry_id(run, "faq-92"))
    assert pushed_down["polarity"] == -1
    again = run("learn", str(path))  # the same person again: a vote already counted
    assert again.exit_code == 0 and listed(run, entry_id(run, "faq-93"))[0]["people"] == 1


def test_learn_with_bad_lines_names_them_and_records_nothing(run, tmp_path: Path) -> None:
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    path = verdicts(tmp_path / "bad.jsonl",
                    {"id": "faq-93", "question": "when was the first commit made", "verdict":
                     "solved"},
                    {"id": "no-such-faq", "question": "where is my folder", "verdict": "solved"},
                    "{oops",
                    {"id": "faq-92", "question": "download folders", "verdict": "maybe"},
                    {"id": "faq-92", "question": "the", "verdict": "solved"})
    result = run("learn", str(path))
    assert result.exit_code == 1
    assert "bad.jsonl:2: no entry has the id 'no-such-faq'" in result.output
    assert "bad.jsonl:3: not valid JSON" in result.output
    assert "bad.jsonl:4: `verdict` must be" in result.output
    assert "bad.jsonl:5: the question has too few words" in result.output
    assert "bad.jsonl:1" not in result.output and "Traceback" not in result.output
    assert listed(run, entry_id(run, "faq-93")) == []  # the good line was not written either
    missing = run("learn", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_phrasings_lists_and_removes(run, tmp_path: Path) -> None:
    run("import", str(FIXTURES / "stackfaq_sample.jsonl"))
    run("learn", str(verdicts(tmp_path / "v.jsonl", {
        "id": "faq-93", "question": "when was the repo first committed", "verdict": "solved"})))
    entry = entry_id(run, "faq-93")
    [phrasing] = listed(run, entry)
    table = run("phrasings", entry)
    assert table.exit_code == 0 and "first committed" in table.output
    other = entry_id(run, "faq-92")
    wrong = run("phrasings", other, "--remove", str(phrasing["id"]))
    assert wrong.exit_code == 1 and "not one of entry" in wrong.output
    assert listed(run, entry)[0]["removed_by"] is None
    done = run("phrasings", entry, "--remove", str(phrasing["id"]), "--by", "alex")
    assert done.exit_code == 0 and "Removed phrasing" in done.output
    assert listed(run, entry)[0]["removed_by"] == "alex"
    assert "no phrasings yet" in run("phrasings", entry).output
    assert run("phrasings", "99999").exit_code == 1
