"""Tests of the fake Slack server itself, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from sandbox.slack_api.server import FakeSlack

pytest_plugins = [f"{__package__}.pytest_plugin", "pytester"]

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Answer*"}}


def client_for(fake: FakeSlack, **kwargs: Any) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url, **kwargs)


def raw_post(url: str, body: bytes, content_type: str, token: str | None = None) -> dict[str, Any]:
    """POST without slack_sdk, to send what slack_sdk never would."""
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_valid_post_message_passes_and_is_recorded(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    response = client.chat_postMessage(channel="C1", text="hi", blocks=[SECTION], thread_ts="1.2")
    assert response["ok"] and response["channel"] == "C1"
    assert response["message"]["thread_ts"] == "1.2"
    assert response["message"]["bot_id"] == "BBOT"
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == [SECTION]
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    second = client.chat_postMessage(channel="C1", text="again")
    assert float(second["ts"]) > float(response["ts"])


def test_form_encoded_blocks_are_decoded(fake_slack: FakeSlack) -> None:
    body = f"token=xoxb-form&channel=C1&blocks={json.dumps([SECTION])}".encode()
    result = raw_post(fake_slack.base_url + "chat.postMessage", body,
                      "application/x-www-form-urlencoded")
    assert result["ok"], result
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == [SECTION] and call.token == "xoxb-form"


def test_missing_channel_is_a_violation(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).api_call("chat.postMessage", json={"text": "hello"})
    assert raised.value.response["error"] == "invalid_arguments"
    assert fake_slack.take_violations() == ["chat.postMessage: missing required argument 'channel'"]


def test_post_without_text_or_blocks_is_a_violation(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError, match="no_text"):
        client_for(fake_slack).api_call("chat.postEphemeral", json={"channel": "C1", "user": "U1"})
    assert len(fake_slack.take_violations()) == 1


def test_missing_token_and_unknown_method_are_violations(fake_slack: FakeSlack) -> None:
    url = fake_slack.base_url
    assert raw_post(url + "auth.test", b"", "application/json")["error"] == "not_authed"
    body = b'{"token": "xoxb-in-json", "channel": "C1", "text": "x"}'
    assert raw_post(url + "chat.postMessage", body, "application/json")["error"] == "not_authed"
    assert raw_post(url + "chat.postMesage", b"{}", "application/json", "xoxb")["error"] == (
        "unknown_method")
    violations = fake_slack.take_violations()
    assert len(violations) == 3 and violations[-1] == "chat.postMesage: unknown method"


def test_block_kit_limits_are_violations(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C1", text="t", blocks=[long_section])
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C1", text="t", blocks=[SECTION] * 51)
    violations = fake_slack.take_violations()
    assert violations[0] == "chat.postMessage: blocks[0].text.text: 3001 characters, max 3000"
    assert any("51 items, max 50" in v for v in violations)
    assert fake_slack.history.get("C1") is None  # rejected messages are not stored


def modal(title: str = "Ask a question", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title},
            "blocks": [SECTION], **extra}


def test_views(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    opened = client.views_open(trigger_id="1.2.abc", view=modal(external_id="ask-1"))
    view_id = opened["view"]["id"]
    assert view_id.startswith("V") and opened["view"]["title"]["text"] == "Ask a question"
    updated = client.views_update(external_id="ask-1", view=modal("Thanks"))
    assert updated["view"]["id"] == view_id
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=view_id, hash="stale", view=modal())
    home = {"type": "home", "blocks": [SECTION]}
    assert client.views_publish(user_id="U1", view=home)["view"]["type"] == "home"
    assert fake_slack.home_views["U1"]["blocks"] == [SECTION]


def test_view_violations(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_open(trigger_id="1.2.a", view=modal("x" * 25))
    client.views_open(trigger_id="1.2.b", view=modal())
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        client.views_open(trigger_id="1.2.b", view=modal())
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id="U1", view=modal())
    violations = fake_slack.take_violations()
    assert violations[0] == "views.open: view.title.text: 25 characters, max 24"
    assert "already exchanged" in violations[1]
    assert "must be 'home'" in violations[2]


def test_rate_limit_is_retried(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_rate_limit_without_retry_raises(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).users_info(user="UBOT")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_server_error_is_retried(fake_slack: FakeSlack) -> None:
    handler = ServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    fake_slack.fail_next("auth.test", status=503, times=2)
    assert client_for(fake_slack, retry_handlers=[handler]).auth_test()["user_id"] == "UBOT"
    assert len(fake_slack.calls_to("auth.test")) == 3


def test_error_next_is_an_api_error_not_a_violation(fake_slack: FakeSlack) -> None:
    fake_slack.error_next("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as raised:
        client_for(fake_slack).chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "not_in_channel"
    assert client_for(fake_slack).chat_postMessage(channel="C1", text="hi")["ok"]
    assert fake_slack.violations == []


def test_fault_for_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Slack method"):
        FakeSlack().error_next("chat.postMesage", "x")


def test_workspace_lookups(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    fake_slack.add_user("U1", "alice", "Alice Liddell", tz="Europe/London", tz_offset=0)
    fake_slack.add_usergroup("S1", "oncall", ["U1", "U2"])
    fake_slack.dnd["U1"] = {"dnd_enabled": True, "snooze_enabled": True}
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"], auth["user"]) == (
        "UBOT", "BBOT", "T1", "switchboard")
    assert client.users_info(user="U1")["user"]["profile"]["real_name"] == "Alice Liddell"
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")
    assert client.dnd_info(user="U1")["snooze_enabled"] is True
    assert client.dnd_info(user="U2")["dnd_enabled"] is False
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert "users" not in client.usergroups_list()["usergroups"][0]
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert client.conversations_open(users="U1")["already_open"] is True
    info = client.conversations_info(channel="DU1")["channel"]
    assert info["is_im"] and info["user"] == "U1"
    fake_slack.add_channel("C9", "secret-stuff", is_private=True)
    assert client.conversations_info(channel="C9")["channel"]["is_private"] is True
    assert client.team_info()["team"]["id"] == "T1"
    assert fake_slack.violations == []


def test_messages_threads_and_pagination(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    parent = fake_slack.add_message("C1", {"user": "U1", "text": "how do I deploy?"})
    posted = [client.chat_postMessage(channel="C1", text=f"reply {i}", thread_ts=parent["ts"])
              for i in range(4)]
    link = client.chat_getPermalink(channel="C1", message_ts=parent["ts"])["permalink"]
    assert link == f"https://example.slack.com/archives/C1/p{parent['ts'].replace('.', '')}"
    first = client.conversations_replies(channel="C1", ts=parent["ts"], limit=3)
    assert [m["text"] for m in first["messages"]] == ["how do I deploy?", "reply 0", "reply 1"]
    assert first["has_more"] and first["messages"][0]["reply_count"] == 4
    cursor = first["response_metadata"]["next_cursor"]
    rest = client.conversations_replies(channel="C1", ts=parent["ts"], limit=3, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["reply 2", "reply 3"]
    assert rest["response_metadata"]["next_cursor"] == ""
    updated = client.chat_update(channel="C1", ts=posted[0]["ts"], text="edited")
    assert updated["text"] == "edited"
    with pytest.raises(SlackApiError, match="cant_update_message"):
        client.chat_update(channel="C1", ts=parent["ts"], text="hijack")
    client.chat_delete(channel="C1", ts=posted[1]["ts"])
    history = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in history] == ["how do I deploy?"]
    assert fake_slack.violations == []
    with pytest.raises(SlackApiError, match="invalid_cursor"):
        client.conversations_replies(channel="C1", ts=parent["ts"], cursor="bogus")
    assert len(fake_slack.take_violations()) == 1


def test_reactions_and_dm_by_user_id(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    assert client.chat_postMessage(channel="U7", text="psst")["channel"] == "DU7"
    client.reactions_add(channel="C1", timestamp="1.2", name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        client.reactions_add(channel="C1", timestamp="1.2", name=":eyes:")


def test_wait_for_calls_from_background_threads(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    worker = threading.Timer(0.05, lambda: [client.chat_postMessage(channel="C1", text=str(i))
                                            for i in range(2)])
    worker.start()
    calls = fake_slack.wait_for("chat.postMessage", count=2, timeout=5)
    worker.join()
    assert [c.args["text"] for c in calls] == ["0", "1"]
    with pytest.raises(AssertionError, match="expected 1 call"):
        fake_slack.wait_for("views.open", timeout=0.05)


def test_response_url_is_served_and_checked(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url("cmd")
    body = json.dumps({"response_type": "ephemeral", "text": "Working on it"}).encode()
    assert raw_post(url, body, "application/json")["ok"]
    assert fake_slack.calls_to("response_url")[0].args["text"] == "Working on it"
    assert raw_post(url, b'{"response_type": "everyone"}', "application/json")["ok"] is False
    assert len(fake_slack.take_violations()) == 2


def test_reset_forgets_everything(fake_slack: FakeSlack) -> None:
    client_for(fake_slack).chat_postMessage(channel="C1", text="hi")
    fake_slack.fail_next("auth.test", status=503)
    fake_slack.reset()
    assert fake_slack.calls == [] and fake_slack.history == {}
    assert client_for(fake_slack).auth_test()["ok"]


def test_fixture_fails_the_test_on_violations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import urllib.request
        pytest_plugins = ["{__package__}.pytest_plugin"]

        def test_forgets_token(fake_slack):
            request = urllib.request.Request(fake_slack.base_url + "auth.test", data=b"")
            urllib.request.urlopen(request).read()

        def test_clean(fake_slack_client):
            assert fake_slack_client.auth_test()["ok"]
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*made 1 bad Slack API call*", "*auth.test: no token*"])
