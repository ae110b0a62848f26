"""Unit and property tests of the Block Kit validator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.slack_api.blockkit import validate_blocks, validate_message, validate_view

SURFACES = ("message", "modal", "home")


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def button(action_id: str = "b", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain("Go"), **extra}


def option(text: str = "A", value: str = "a") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


GOOD = [
    {"type": "header", "text": plain("Answer")},
    {"type": "section", "block_id": "s1", "text": mrkdwn("*Deploy* with `make ship`"),
     "accessory": button("more", value="42", style="primary")},
    {"type": "section", "fields": [mrkdwn("a"), plain("b")]},
    {"type": "divider"},
    {"type": "context", "elements": [mrkdwn("from the runbook"),
                                     {"type": "image", "image_url": "https://x/y.png",
                                      "alt_text": "logo"}]},
    {"type": "actions", "elements": [button("up"), button("down", style="danger"),
                                     {"type": "overflow", "action_id": "o",
                                      "options": [option(), option("B", "b")]},
                                     {"type": "static_select", "action_id": "s",
                                      "placeholder": plain("Pick"), "options": [option()]}]},
    {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
    {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]},
]


def test_good_blocks_pass_on_every_surface() -> None:
    for surface in SURFACES:
        assert validate_blocks(GOOD, surface) == []
    assert validate_message("fallback", GOOD) == []


@pytest.mark.parametrize(("block", "problem"), [
    ({"type": "section", "text": mrkdwn("x" * 3001)}, "blocks[0].text.text: 3001 characters"),
    ({"type": "section"}, "blocks[0]: section needs text or fields"),
    ({"type": "section", "fields": [mrkdwn("f")] * 11}, "blocks[0].fields: 11 items, max 10"),
    ({"type": "section", "fields": [mrkdwn("x" * 2001)]}, "blocks[0].fields[0].text: 2001"),
    ({"type": "header", "text": mrkdwn("h")}, "blocks[0].text.type: must be plain_text"),
    ({"type": "header", "text": plain("h" * 151)}, "blocks[0].text.text: 151 characters, max 150"),
    ({"type": "context", "elements": [mrkdwn("c")] * 11}, "blocks[0].elements: 11 items, max 10"),
    ({"type": "actions", "elements": [button(str(i)) for i in range(26)]}, "26 items, max 25"),
    ({"type": "actions", "elements": [button("same"), button("same")]}, "duplicate 'same'"),
    ({"type": "actions", "elements": [button(text=plain("x" * 76))]}, "76 characters, max 75"),
    ({"type": "actions", "elements": [button(value="v" * 2001)]}, "value: 2001 characters"),
    ({"type": "actions", "elements": [button(url="u" * 3001)]}, "url: 3001 characters"),
    ({"type": "actions", "elements": [button(style="green")]}, "must be primary or danger"),
    ({"type": "actions", "elements": [{"type": "overflow", "options": [option()]}]},
     "options: 1 items, min 2"),
    ({"type": "actions", "elements": [{"type": "static_select",
                                       "options": [option()] * 101}]}, "101 items, max 100"),
    ({"type": "actions", "elements": [{"type": "static_select",
                                       "options": [option("o" * 76)]}]}, "76 characters, max 75"),
    ({"type": "actions", "elements": [{"type": "static_select",
                                       "options": [option(value="v" * 151)]}]}, "151 characters"),
    ({"type": "image", "image_url": "https://x", "alt_text": "a" * 2001}, "alt_text: 2001"),
    ({"type": "section", "text": mrkdwn("")}, "text.text: must be a non-empty string"),
    ({"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}},
     "emoji: only allowed on plain_text"),
    ({"type": "section", "text": {"type": "markdown", "text": "x"}}, "plain_text or mrkdwn"),
    ({"type": "divider", "block_id": "b" * 256}, "block_id: 256 characters, max 255"),
    ({"type": "carousel"}, "unknown block type 'carousel'"),
    ({"type": "input", "label": plain("L")}, "blocks[0].element: required"),
    ({"type": "input", "label": plain("L" * 2001), "element": {"type": "plain_text_input"}},
     "label.text: 2001 characters, max 2000"),
    ({"type": "input", "label": plain("L"), "element": {"type": "button", "text": plain("b")}},
     "'button' is not allowed here"),
    ({"type": "input", "label": plain("L"),
      "element": {"type": "plain_text_input", "max_length": 3001}}, "max_length: must be"),
    ({"type": "input", "label": plain("L"),
      "element": {"type": "plain_text_input", "placeholder": plain("p" * 151)}},
     "placeholder.text: 151 characters, max 150"),
])
def test_limits(block: dict[str, Any], problem: str) -> None:
    problems = validate_blocks([block], "modal")
    assert any(problem in p for p in problems), problems


def test_block_counts_and_ids() -> None:
    divider = {"type": "divider"}
    assert validate_blocks([divider] * 50, "message") == []
    assert validate_blocks([divider] * 51, "message") == ["blocks: 51 items, max 50"]
    assert validate_blocks([divider] * 100, "home") == []
    assert validate_blocks([divider] * 101, "modal") == ["blocks: 101 items, max 100"]
    dupes = [{"type": "divider", "block_id": "d"}] * 2
    assert validate_blocks(dupes, "message") == ["blocks[1].block_id: duplicate 'd'"]


def test_message_text_and_markdown_block() -> None:
    assert validate_message("x" * 40_000, None) == []
    assert validate_message("x" * 40_001, None) == ["text: 40001 characters, max 40000"]
    markdown = {"type": "markdown", "text": "**bold**"}
    assert validate_blocks([markdown], "message") == []
    assert validate_blocks([markdown], "modal") == [
        "blocks[0]: markdown blocks are not allowed in a modal"]


def modal(**extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Ask"), "blocks": [], **extra}


def test_views() -> None:
    assert validate_view(modal()) == []
    assert validate_view({"type": "home", "blocks": GOOD}) == []
    assert validate_view(modal(title=plain("t" * 25))) == [
        "view.title.text: 25 characters, max 24"]
    assert "view.submit.text: 25 characters, max 24" in validate_view(modal(submit=plain("s" * 25)))
    assert validate_view(modal(private_metadata="m" * 3001)) == [
        "view.private_metadata: 3001 characters, max 3000"]
    assert validate_view(modal(callback_id="c" * 256)) == [
        "view.callback_id: 256 characters, max 255"]
    needs_submit = modal(blocks=[{"type": "input", "label": plain("Q"),
                                  "element": {"type": "plain_text_input"}}])
    assert validate_view(needs_submit) == [
        "view.submit: required when the modal has an input block"]
    assert validate_view({"type": "dialog"}) == ["view.type: must be modal or home, got 'dialog'"]
    assert validate_view(modal(title=mrkdwn("T"))) == [
        "view.title.type: must be plain_text, got 'mrkdwn'"]


KEYS = st.sampled_from(["type", "text", "fields", "elements", "accessory", "element", "label",
                        "options", "option_groups", "block_id", "action_id", "value", "url",
                        "style", "emoji", "placeholder", "alt_text", "image_url", "hint",
                        "max_length", "title", "submit", "blocks", "private_metadata"])
TYPES = st.sampled_from(["section", "header", "context", "actions", "input", "image", "divider",
                         "markdown", "rich_text", "plain_text", "mrkdwn", "button", "overflow",
                         "static_select", "checkboxes", "plain_text_input", "modal", "home"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=5) | TYPES)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=3), inner,
                                                                max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, database=None)
@given(value=JSONISH, surface=st.sampled_from(SURFACES))
def test_validators_never_raise(value: Any, surface: str) -> None:
    for problems in (validate_blocks(value, surface), validate_blocks([value], surface),
                     validate_view(value), validate_message(value, value)):
        assert isinstance(problems, list)
        assert all(isinstance(p, str) for p in problems)
