"""Signing helpers and payload builders, checked against slack_sdk and a real Bolt app."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from sandbox.slack_api.server import FakeSlack
from sandbox.slack_api.signing import (
    app_home_opened,
    app_mention,
    block_actions,
    message_im,
    message_shortcut,
    sign,
    signed_headers,
    signed_post,
    slash_command,
    view_submission,
)

pytest_plugins = [f"{__package__}.pytest_plugin"]

SECRET = "shhh-signing-secret"
MODAL = {"type": "modal", "callback_id": "ask", "title": {"type": "plain_text", "text": "Ask"},
         "submit": {"type": "plain_text", "text": "Send"},
         "blocks": [{"type": "input", "block_id": "q", "label": {"type": "plain_text", "text": "Q"},
                     "element": {"type": "plain_text_input", "action_id": "question"}}]}


def test_signature_round_trip() -> None:
    verifier = SignatureVerifier(SECRET)
    body = app_mention("hello").text
    headers = signed_headers(body, SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace("hello", "HELLO"), headers)
    stale = int(time.time()) - 6 * 60
    assert not verifier.is_valid_request(body, signed_headers(body, SECRET, timestamp=stale))
    assert not verifier.is_valid_request(body, signed_headers(body, "other-secret"))
    expected = verifier.generate_signature(timestamp="1531420618", body="a=b")
    assert sign(b"a=b", SECRET, 1531420618) == expected


def test_payload_shapes() -> None:
    mention = app_mention("how do I deploy?", user_id="U9", channel_id="C5")
    event = mention.data["event"]
    assert mention.content_type == "application/json"
    assert event["text"] == "<@UBOT> how do I deploy?" and event["ts"] == event["event_ts"]
    assert mention.data["authorizations"][0]["user_id"] == "UBOT"
    elements = event["blocks"][0]["elements"][0]["elements"]
    assert elements[0] == {"type": "user", "user_id": "UBOT"}
    assert message_im("hi", user_id="U9").data["event"]["channel"] == "DU9"
    command = parse_qs(slash_command(text="vpn setup").text)
    assert command["command"] == ["/ask"] and command["text"] == ["vpn setup"]
    click = block_actions("helpful", "yes", message_ts="1.5")
    form = parse_qs(click.text)
    assert json.loads(form["payload"][0]) == click.data
    assert click.data["container"] == {"type": "message", "message_ts": "1.5",
                                       "channel_id": "C123", "is_ephemeral": False}
    submitted = view_submission("ask", {"q": {"question": "why?"}}, private_metadata="C5")
    values = submitted.data["view"]["state"]["values"]
    assert values == {"q": {"question": {"type": "plain_text_input", "value": "why?"}}}
    shortcut = message_shortcut("save", {"ts": "1.7", "text": "x"})
    assert shortcut.data["type"] == "message_action" and shortcut.data["message_ts"] == "1.7"


@pytest.fixture
def bolt_app(fake_slack: FakeSlack) -> App:
    """A Bolt app wired to the fake, with one listener per payload builder."""
    app = App(client=WebClient(token="xoxb-test", base_url=fake_slack.base_url),
              signing_secret=SECRET, process_before_response=True)

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Any) -> None:
        say(text="Here is what I found", thread_ts=event["ts"])

    @app.event("message")
    def direct_message(event: dict[str, Any], say: Any) -> None:
        say(text=f"You said {event['text']}")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.command("/ask")
    def ask(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"Looking up {command['text']}")

    @app.action("open_ask")
    def open_ask(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("ask")
    def submitted(ack: Any, view: dict[str, Any], client: WebClient) -> None:
        ack()
        question = view["state"]["values"]["q"]["question"]["value"]
        client.chat_postMessage(channel=view["private_metadata"], text=question)

    @app.shortcut("save")
    def save(ack: Any, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        client.reactions_add(channel=shortcut["channel"]["id"], name="bookmark",
                             timestamp=shortcut["message_ts"])

    return app


def dispatch(app: App, payload: Any, secret: str = SECRET) -> int:
    return app.dispatch(BoltRequest(body=payload.text, headers=payload.headers(secret))).status


def test_bolt_accepts_every_payload(bolt_app: App, fake_slack: FakeSlack) -> None:
    mention = app_mention("how do I deploy?", channel_id="C5")
    assert dispatch(bolt_app, mention) == 200
    (reply,) = fake_slack.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == mention.data["event"]["ts"] and reply.args["channel"] == "C5"
    assert dispatch(bolt_app, message_im("ping", user_id="U9")) == 200
    assert fake_slack.wait_for("chat.postMessage", 2)[1].args["channel"] == "DU9"
    assert dispatch(bolt_app, app_home_opened("U9")) == 200
    assert fake_slack.wait_for("views.publish")[0].args["user_id"] == "U9"
    command = slash_command(text="vpn", response_url=fake_slack.response_url("ask"))
    assert dispatch(bolt_app, command) == 200
    assert fake_slack.wait_for("response_url")[0].args["text"] == "Looking up vpn"
    click = block_actions("open_ask", "x")
    assert dispatch(bolt_app, click) == 200
    assert fake_slack.wait_for("views.open")[0].args["trigger_id"] == click.data["trigger_id"]
    submission = view_submission("ask", {"q": {"question": "why?"}}, private_metadata="C5")
    assert dispatch(bolt_app, submission) == 200
    assert fake_slack.wait_for("chat.postMessage", 3)[2].args["text"] == "why?"
    assert dispatch(bolt_app, message_shortcut("save", {"ts": "1.7", "text": "x"})) == 200
    assert fake_slack.wait_for("reactions.add")[0].args["name"] == "bookmark"


def test_bolt_rejects_bad_signatures(bolt_app: App) -> None:
    assert dispatch(bolt_app, app_mention("hi"), secret="wrong") == 401
    stale = app_mention("hi")
    headers = stale.headers(SECRET, timestamp=int(time.time()) - 600)
    assert bolt_app.dispatch(BoltRequest(body=stale.text, headers=headers)).status == 401


@pytest.fixture
def bolt_http_url(bolt_app: App) -> Iterator[str]:
    """Serve the Bolt app over HTTP on 127.0.0.1, as Slack would reach it."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            headers = {k: [v] for k, v in self.headers.items()}
            response = bolt_app.dispatch(BoltRequest(body=body, headers=headers))
            self.send_response(response.status)
            self.send_header("Content-Length", str(len(response.body.encode())))
            self.end_headers()
            self.wfile.write(response.body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_signed_post_over_http(bolt_http_url: str, fake_slack: FakeSlack) -> None:
    mention = app_mention("over http")
    status, _ = signed_post(bolt_http_url, mention.body, mention.content_type, SECRET)
    assert status == 200
    assert fake_slack.wait_for("chat.postMessage")[0].args["text"] == "Here is what I found"
    status, _ = mention.post(bolt_http_url, "wrong-secret")
    assert status == 401
