"""`guarded`: the one place where a lazy listener's failure becomes what the user reads."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.listeners import SORRY, guarded
from knowledge.errors import InvalidInput
from sandbox.slack_api.server import FakeSlack


def _body(fake: FakeSlack) -> dict:
    return {"type": "block_actions", "user": {"id": "U123"},
            "response_url": fake.response_url("click")}


def test_a_domain_error_reaches_the_user_as_its_own_words(
        fake_slack: FakeSlack, fake_slack_client: WebClient) -> None:
    def set_topics(body: dict, client: WebClient, context: dict) -> None:
        raise InvalidInput("Type at least one topic, e.g. billing.")

    guarded(set_topics)(_body(fake_slack), fake_slack_client, {})
    [note] = fake_slack.calls_to("response_url")
    assert note.args["text"] == "Type at least one topic, e.g. billing."
    assert note.args["response_type"] == "ephemeral"


def test_a_bug_is_logged_with_its_traceback_and_apologised_for(
        fake_slack: FakeSlack, fake_slack_client: WebClient,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(body: dict, client: WebClient, context: dict) -> None:
        raise KeyError("a bug")

    with caplog.at_level(logging.ERROR):
        guarded(broken)(_body(fake_slack), fake_slack_client, {})
    [note] = fake_slack.calls_to("response_url")
    assert note.args["text"] == SORRY
    [record] = [r for r in caplog.records if r.getMessage() == "listener failed"]
    assert record.exc_info and record.exc_info[0] is KeyError


def test_without_a_response_url_the_note_goes_by_dm(
        fake_slack: FakeSlack, fake_slack_client: WebClient) -> None:
    fake_slack.add_user("U123", "ada")

    def fails(body: dict, client: WebClient, context: dict) -> None:
        raise InvalidInput("Nothing to save.")

    guarded(fails)({"type": "view_submission", "user": {"id": "U123"}}, fake_slack_client, {})
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert dm.args["text"] == "Nothing to save."
