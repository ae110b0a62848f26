"""The answer card and the text helpers, without Slack: escaping, trimming, Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks.answer import AnswerCard, CardHit, answer_blocks, answer_text, posted_card
from bot.blocks.home import AdminHome, RecentQuestion, ask_modal, home_view
from bot.slack_text import escape, mentions_someone, question_from_message, safe_answer, trim
from sandbox.slack_api.blockkit import blocks_text, validate_message, validate_view

# Text that tries every way of pinging people or breaking markup.
hostile = st.text(alphabet=st.sampled_from(list("<>@!&|_*~`#:\n hereveryonchalU1230")) |
                  st.characters(), max_size=400)


@given(hostile)
def test_escaped_text_never_pings(text: str) -> None:
    assert not mentions_someone(escape(text))
    assert "@channel" not in escape(text).lower()


@given(hostile)
def test_answers_keep_web_links_but_never_ping(text: str) -> None:
    shown = safe_answer(text + " <https://example.com/a|docs> <!here> <@U123>")
    assert not mentions_someone(shown)
    assert "<https://example.com/a|docs>" in shown


@given(st.text(max_size=600), st.integers(min_value=5, max_value=500))
def test_trim_respects_the_limit(text: str, limit: int) -> None:
    assert len(trim(text, limit)) <= limit


def test_trim_never_cuts_an_escape_or_a_link_in_half() -> None:
    text = escape("a & b ") * 20 + "<https://example.com/very/long|link text>"
    for limit in range(10, len(text)):
        cut = trim(text, limit)
        assert cut.count("<") == cut.count(">")
        assert not cut.rstrip("…").endswith(("&", "&a", "&am", "&l", "&g"))


def test_question_from_message_drops_the_bot_mention_and_reads_markup() -> None:
    text = "<@UBOT> does <#C123|support> know about <https://x.example|this> &amp; <@U9|ada>?"
    assert question_from_message(text, "UBOT") == "does #support know about this & @ada?"


def hit(n: int, answer: str, **extra) -> CardHit:
    return CardHit(entry_id=n, question=f"Question {n} " + "q" * 400, answer=answer,
                   tier="answer", score=1.0, answered_by="<!channel>",
                   created_at=datetime(2025, 1, 2, tzinfo=UTC), **extra)


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.text(max_size=20_000), min_size=1, max_size=4),
       question=st.text(max_size=40_000), expanded=st.booleans(),
       verdict=st.sampled_from([None, "solved", "not_helpful", "ask_expert"]),
       verdict_entry=st.sampled_from([None, 1, 2, 99]),
       tier=st.sampled_from(["answer", "suggest", "none"]))
def test_any_card_fits_block_kit(answers: list[str], question: str, expanded: bool,
                                 verdict: str | None, verdict_entry: int | None,
                                 tier: str) -> None:
    hits = tuple(hit(i + 1, a, source_url="https://wiki.example.com/x") for i, a in
                 enumerate(answers))
    card = AnswerCard(7, question, tier, hits if tier != "none" else (), expanded=expanded,
                      verdict=verdict, verdict_by="<@U1>", verdict_entry=verdict_entry,
                      echo_question=True,
                      about_url="https://example.slack.com/archives/C1/p1",
                      notes=("x" * 5000,))
    problems = validate_message(answer_text(card), answer_blocks(card))
    assert problems == []
    assert not mentions_someone(answer_text(card))


def test_long_answer_is_previewed_with_show_more_then_expanded() -> None:
    long = "\n".join(f"Line {i}: " + "word " * 30 for i in range(200))
    card = AnswerCard(3, "q", "answer", (hit(1, long),))
    blocks = answer_blocks(card)
    assert blocks[1]["accessory"]["action_id"] == "answer_show_more"
    assert len(blocks[1]["text"]["text"]) < 1000
    expanded = answer_blocks(AnswerCard(3, "q", "answer", (hit(1, long),), expanded=True))
    text = "".join(b.get("text", {}).get("text", "") for b in expanded)
    assert "Line 40" in text and "continued in the source" in text


def test_provenance_shows_who_when_verified_and_source() -> None:
    card = AnswerCard(1, "q", "answer", (hit(1, "a", verified_by="Vera",
                                              source_url="https://x.example/t"),))
    context = answer_blocks(card)[2]["elements"][0]["text"]
    assert "Answered by &lt;!channel&gt;" in context and "2 Jan 2025" in context
    assert "Verified by Vera" in context and "<https://x.example/t|Source>" in context


def test_the_card_says_how_sure_it_is() -> None:
    from dataclasses import replace

    sure = replace(hit(1, "a"), confidence=0.914)
    context = answer_blocks(AnswerCard(1, "q", "answer", (sure,)))[2]["elements"][0]["text"]
    assert context.startswith("91% sure · ")
    certain = replace(hit(1, "a"), confidence=1.0)  # an estimate: never "100%"
    assert "99% sure" in answer_blocks(AnswerCard(1, "q", "answer", (certain,)))[2][
        "elements"][0]["text"]
    unknown = answer_blocks(AnswerCard(1, "q", "answer", (hit(1, "a"),)))[2]["elements"][0]
    assert "sure" not in unknown["text"]  # older records kept no confidence: say nothing


def test_tier_wording() -> None:
    found = (hit(1, "a"),)
    assert "Here's the answer" in answer_text(AnswerCard(1, "q", "answer", found))
    assert "might help" in answer_text(AnswerCard(1, "q", "suggest", found))
    assert "couldn't find" in answer_text(AnswerCard(1, "q", "none", ()))


def test_home_and_modal_fit_block_kit() -> None:
    recent = [RecentQuestion("x" * 40_000, "answered", datetime(2025, 1, 1))] * 30
    assert validate_view(home_view(recent)) == []
    assert validate_view(ask_modal("p" * 5000)) == []


def solved_buttons(blocks: list[dict]) -> list[str]:
    """The values of the related answers' own "This solved it", in card order."""
    return [b["accessory"]["value"] for b in blocks
            if b.get("accessory", {}).get("action_id") == "answer_solved_this"]


def test_the_admin_home_says_how_often_the_first_person_asked_answers(tmp_path) -> None:
    from knowledge.analytics import Analytics
    from tests.report_fixture import END, build

    store, _ = build(tmp_path / "fixture.db")
    report = Analytics(store).report(days=7, now=END, top=3, list_unanswered=False)
    before = Analytics(store).report(days=7, now=END - timedelta(days=30), top=3,
                                     list_unanswered=False)
    store.close()
    view = home_view([], admin=AdminHome(report, pending=0))
    validate_view(view)
    text = blocks_text(view["blocks"])
    assert "the first person asked answered 3 of the 3 routed questions a person answered " \
           "(100%)" in text
    quiet = home_view([], admin=AdminHome(before, pending=0))
    assert "Routing:" not in blocks_text(quiet["blocks"])  # nothing routed then: no line


def test_every_answer_shown_can_be_marked_as_the_one_that_solved_it() -> None:
    hits = tuple(hit(n, f"answer {n}") for n in (11, 12, 13, 14))
    blocks = answer_blocks(AnswerCard(5, "q", "suggest", hits))
    feedback = blocks[-1]
    assert [e["value"] for e in feedback["elements"] if e["action_id"] == "answer_solved"] == [
        "5:11"]  # the best one, in the feedback row
    assert solved_buttons(blocks) == ["5:12", "5:13", "5:14"]  # each related one, beside it
    assert validate_message(answer_text(AnswerCard(5, "q", "suggest", hits)), blocks) == []
    # the best one did not help: a related one still may have, so they stay
    unhelpful = AnswerCard(5, "q", "suggest", hits, verdict="not_helpful", verdict_by="Ada",
                           verdict_entry=11)
    assert solved_buttons(answer_blocks(unhelpful)) == ["5:12", "5:13", "5:14"]
    for verdict in ("solved", "ask_expert"):  # the asker has chosen: no more buttons
        chosen = AnswerCard(5, "q", "suggest", hits, verdict=verdict, verdict_by="Ada")
        assert solved_buttons(answer_blocks(chosen)) == []


def test_the_verdict_line_names_the_answer_that_solved_it() -> None:
    hits = (hit(11, "a"), CardHit(12, "Reset the <b> VPN & token", "b", "suggest"))
    solved = AnswerCard(5, "q", "suggest", hits, verdict="solved", verdict_by="Ada",
                        verdict_entry=12)
    line = answer_blocks(solved)[-1]["elements"][0]["text"]
    assert line.startswith(":white_check_mark: Marked as solved by Ada with “Reset the "
                           "&lt;b&gt; VPN &amp; token”.")
    unnamed = AnswerCard(5, "q", "suggest", hits, verdict="solved", verdict_by="Ada")
    assert "with “" not in answer_blocks(unnamed)[-1]["elements"][0]["text"]


def test_a_card_found_in_slack_names_its_best_answer_first() -> None:
    hits = tuple(hit(n, f"answer {n}") for n in (11, 12, 13))  # short: no Show more
    found = posted_card(5, answer_blocks(AnswerCard(5, "q", "answer", hits)))
    assert found == ("answer", [11, 12, 13])
    long = (hit(11, "word " * 400), *hits[1:])
    assert posted_card(5, answer_blocks(AnswerCard(5, "q", "answer", long))) == (
        "answer", [11, 12, 13])
    assert posted_card(6, answer_blocks(AnswerCard(5, "q", "answer", hits))) is None


def test_the_phrasings_modal_fits_block_kit_however_many_and_long(store) -> None:
    from bot.blocks.admin import MAX_PHRASINGS_SHOWN, phrasings_modal
    from knowledge.models import EntryDraft
    from knowledge.phrasings import Phrasing, PhrasingSource

    entry = store.add_entry(EntryDraft("<!here> " + "q" * 1_900, "a"))
    when = datetime(2026, 11, 2, tzinfo=UTC)
    many = [Phrasing(n, entry.id, "<@U1> & " + "w" * 990, -1 if n % 2 else 1, source, "U1",
                     when, n)
            for n, source in zip(range(1, 61), list(PhrasingSource) * 12, strict=True)]
    view = phrasings_modal(entry, many)
    assert validate_view(view) == []
    shown = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert not any(mentions_someone(text) for text in shown)
    removes = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    assert len(removes) == MAX_PHRASINGS_SHOWN
    assert f"`switchboard phrasings {entry.id}` lists them all" in blocks_text(view["blocks"])
    for remove in removes:
        confirm = remove["confirm"]
        assert len(confirm["text"]["text"]) <= 300 and len(confirm["title"]["text"]) <= 100
    assert "_No phrasings yet._" in blocks_text(phrasings_modal(entry, [])["blocks"])
