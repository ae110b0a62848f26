"""Every payload parser takes any JSON value without raising, and what it returns is checked."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import parse
from knowledge.text import storable

PARSERS = [
    lambda v: parse.message_in(v, "UBOT"), parse.message_edit, parse.message_deletion,
    parse.home_opened, parse.click, parse.button_press, parse.message_shortcut,
    parse.slash_command, parse.submission, parse.user_change,
]
KEYS = ["type", "subtype", "user", "user_id", "channel", "channel_id", "channel_type", "ts",
        "thread_ts", "text", "message", "previous_message", "deleted_ts", "edited", "tab",
        "actions", "value", "action_id", "action_ts", "container", "message_ts", "is_ephemeral",
        "view", "id", "state", "values", "blocks", "block_id", "private_metadata",
        "callback_id", "trigger_id", "response_url", "bot_id", "channel_name", "selected_date",
        "selected_user", "event_ts", "deleted"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(), st.sampled_from(["U123", "C123", "D1", "1700000000.000100", "0", "abc",
                                "\ud800", "https://hooks.slack.com/x", "12:34", "#7"]),
)
# JSON-like values whose dict keys are mostly the ones the parsers look at.
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner,
                                            max_size=6)),
    max_leaves=30,
)


def _fields(result: Any) -> list[Any]:
    return [getattr(result, name) for name in result.__dataclass_fields__]


@settings(max_examples=200, deadline=None)
@given(values)
def test_no_parser_raises_on_any_json_value(value: Any) -> None:
    for parser in PARSERS:
        result = parser(value)
        if result is None:
            continue
        for field in _fields(result):
            if isinstance(field, str):  # everything parsed can be stored and sent as is
                assert storable(field) == field
                field.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=10))
def test_a_parsed_message_has_slack_shaped_ids(event: dict[str, Any]) -> None:
    message = parse.message_in({**event, "type": "message"}, "UBOT")
    if message is not None:
        assert parse.slack_id(message.user) and parse.slack_id(message.channel)
        assert parse.slack_ts(message.ts)
        assert message.thread_ts is None or parse.slack_ts(message.thread_ts)


def _event(**changes: Any) -> dict[str, Any]:
    return {"type": "message", "user": "U123", "channel": "C123", "ts": "1700000000.000100",
            "text": "hello", **changes}


def test_the_payloads_that_used_to_crash_are_rejected_at_the_edge() -> None:
    assert parse.message_in(_event(subtype={"a": 1}), None) is None  # a dict subtype
    assert parse.message_in(_event(ts=["1700000000.000100"]), None) is None  # a list ts
    assert parse.message_in(_event(thread_ts="0"), None) is None  # garbage thread_ts
    assert parse.message_in(_event(thread_ts="abc"), None) is None
    assert parse.click({"actions": [{"action_id": "x"}]}) is None  # no user
    assert parse.message_shortcut({"user": {"id": "U1"}, "channel": "C123",  # string channel
                                   "message": {"ts": "1700000000.000100"},
                                   "trigger_id": "1.2.3"}) is None


def test_lone_surrogates_become_storable_text() -> None:
    raw = json.loads(json.dumps(_event(text="refund \ud83d please \udc00")))
    message = parse.message_in(raw, None)
    assert message is not None and message.text == "refund \ufffd please \ufffd"


def test_button_values_must_be_small_numbers() -> None:
    body = {"user": {"id": "U123"}, "actions": [{"action_id": "a", "value": "9" * 5000}]}
    assert parse.button_press(body) is None
    body["actions"][0]["value"] = "12:3"
    press = parse.button_press(body)
    assert press is not None and (press.question_id, press.entry_id) == (12, 3)


def test_user_change_needs_a_person_and_a_real_deleted_flag() -> None:
    assert parse.user_change({"user": {"id": "U1", "deleted": True}}) == parse.UserChange(
        "U1", True)
    assert parse.user_change({"user": {"id": "W2", "deleted": False}}).deleted is False
    for bad in ({"user": {"id": "U1", "deleted": "true"}}, {"user": {"id": "U1"}},
                {"user": {"id": "C1", "deleted": True}}, {"user": "U1"}, None):
        assert parse.user_change(bad) is None
