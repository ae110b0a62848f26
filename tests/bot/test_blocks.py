"""The answer card and the text helpers, without Slack: escaping, trimming, Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks.answer import AnswerCard, CardHit, answer_blocks, answer_text
from bot.blocks.home import RecentQuestion, ask_modal, home_view
from bot.slack_text import escape, mentions_someone, question_from_message, safe_answer, trim
from sandbox.slack_api.blockkit import validate_message, validate_view

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
       tier=st.sampled_from(["answer", "suggest", "none"]))
def test_any_card_fits_block_kit(answers: list[str], question: str, expanded: bool,
                                 verdict: str | None, tier: str) -> None:
    hits = tuple(hit(i + 1, a, source_url="https://wiki.example.com/x") for i, a in
                 enumerate(answers))
    card = AnswerCard(7, question, tier, hits if tier != "none" else (), expanded=expanded,
                      verdict=verdict, verdict_by="<@U1>", echo_question=True,
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
