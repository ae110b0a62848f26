"""Requests signed exactly as Slack signs them, and realistic bodies for them to carry.

Signing (https://docs.slack.dev/authentication/verifying-requests-from-slack): the base string
is ``v0:{timestamp}:{raw body}``, HMAC-SHA256 with the signing secret, sent as
``X-Slack-Signature: v0=<hex>`` alongside ``X-Slack-Request-Timestamp``.

Builders return a ``Payload`` (raw body, content type, decoded data) shaped like Slack's
documented payloads: Events API callbacks are JSON; slash commands are form-urlencoded;
interactivity (block_actions, view_submission, message_action) is a form body ``payload=<json>``.
Use ``signed_post`` for a bot served over HTTP, or ``BoltRequest(body=p.text,
headers=p.headers(secret))`` to drive a Bolt app directly.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .workspace import new_ts

TEAM_ID, APP_ID, BOT_USER_ID, DOMAIN = "T1", "A1", "UBOT", "example"
VERIFICATION_TOKEN = "legacy-verification-token"
JSON_TYPE, FORM_TYPE = "application/json", "application/x-www-form-urlencoded"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_counter = itertools.count(1)


def sign(body: bytes | str, secret: str, timestamp: int | str) -> str:
    """The ``X-Slack-Signature`` value for this body and timestamp."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's two signature headers (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, secret, ts)}


def signed_post(url: str, body: bytes, content_type: str, secret: str,
                timestamp: int | None = None, headers: Mapping[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, bytes]:
    """POST a signed request like Slack does; returns (HTTP status, response body)."""
    all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                   **signed_headers(body, secret, timestamp), **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass(frozen=True)
class Payload:
    """A request body as Slack would send it, plus its decoded form for assertions."""

    body: bytes
    content_type: str
    data: dict[str, Any]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def headers(self, secret: str, timestamp: int | None = None) -> dict[str, str]:
        """Content-Type plus signature headers, e.g. for ``BoltRequest(headers=...)``."""
        return {"Content-Type": self.content_type, **signed_headers(self.body, secret, timestamp)}

    def post(self, url: str, secret: str, timestamp: int | None = None) -> tuple[int, bytes]:
        """``signed_post`` this payload to ``url``."""
        return signed_post(url, self.body, self.content_type, secret, timestamp)


def _json(data: dict[str, Any]) -> Payload:
    return Payload(json.dumps(data).encode("utf-8"), JSON_TYPE, data)


def _form(fields: Mapping[str, str]) -> Payload:
    return Payload(urlencode(fields).encode("utf-8"), FORM_TYPE, dict(fields))


def _interaction(data: dict[str, Any]) -> Payload:
    body = urlencode({"payload": json.dumps(data)}).encode("utf-8")
    return Payload(body, FORM_TYPE, data)


def new_trigger_id() -> str:
    """A fresh trigger_id in Slack's ``<digits>.<digits>.<hex>`` shape."""
    return f"{int(time.time() * 1000)}{next(_counter)}.1.{secrets.token_hex(16)}"


def _response_url(kind: str) -> str:
    return f"https://hooks.slack.com/{kind}/{TEAM_ID}/{next(_counter)}/{secrets.token_hex(12)}"


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": DOMAIN}


def rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to user messages (mentions become user elements)."""
    elements: list[dict[str, Any]] = []
    for i, part in enumerate(_MENTION.split(text)):
        if i % 2:
            elements.append({"type": "user", "user_id": part})
        elif part:
            elements.append({"type": "text", "text": part})
    return [{"type": "rich_text", "block_id": secrets.token_hex(2),
             "elements": [{"type": "rich_text_section", "elements": elements}]}]


def event_callback(event: dict[str, Any], team_id: str = TEAM_ID, event_id: str | None = None, *,
                   api_app_id: str = APP_ID, bot_user_id: str = BOT_USER_ID) -> Payload:
    """An Events API ``event_callback`` envelope around ``event``."""
    return _json({
        "token": VERIFICATION_TOKEN, "team_id": team_id, "context_team_id": team_id,
        "context_enterprise_id": None, "api_app_id": api_app_id, "event": event,
        "type": "event_callback", "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()), "event_context": f"4-{secrets.token_urlsafe(24)}",
        "is_ext_shared_channel": False,
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id,
                            "is_bot": True, "is_enterprise_install": False}],
    })


def _message_event(kind: str, text: str, user_id: str, channel_id: str, ts: str | None,
                   thread_ts: str | None, team_id: str) -> dict[str, Any]:
    ts = ts or new_ts()
    event: dict[str, Any] = {"type": kind, "user": user_id, "text": text, "ts": ts,
                             "client_msg_id": str(uuid.uuid4()), "team": team_id,
                             "blocks": rich_text(text), "channel": channel_id, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention(text: str, *, user_id: str = "U123", channel_id: str = "C123",
                ts: str | None = None, thread_ts: str | None = None, team_id: str = TEAM_ID,
                bot_user_id: str = BOT_USER_ID) -> Payload:
    """An ``app_mention`` event; ``<@bot>`` is prepended unless ``text`` already mentions it."""
    if f"<@{bot_user_id}>" not in text:
        text = f"<@{bot_user_id}> {text}"
    event = _message_event("app_mention", text, user_id, channel_id, ts, thread_ts, team_id)
    return event_callback(event, team_id, bot_user_id=bot_user_id)


def message_im(text: str, *, user_id: str = "U123", channel_id: str | None = None,
               ts: str | None = None, thread_ts: str | None = None,
               team_id: str = TEAM_ID) -> Payload:
    """A ``message`` event in the bot's DM with the user (channel defaults to "D" + user)."""
    event = _message_event("message", text, user_id, channel_id or f"D{user_id}", ts, thread_ts,
                           team_id)
    event["channel_type"] = "im"
    return event_callback(event, team_id)


def app_home_opened(user_id: str = "U123", *, tab: str = "home",
                    view: dict[str, Any] | None = None, team_id: str = TEAM_ID) -> Payload:
    """An ``app_home_opened`` event (``view`` is the currently published one, if any)."""
    event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}",
                             "tab": tab, "event_ts": new_ts()}
    if view is not None:
        event["view"] = view
    return event_callback(event, team_id)


def user_change(user: dict[str, Any], team_id: str = TEAM_ID) -> Payload:
    """A ``user_change`` event: ``user`` is the whole users.info ``user`` object after the
    change (``deleted`` true once the account is deactivated)."""
    event = {"type": "user_change", "user": user, "cache_ts": int(time.time()),
             "event_ts": new_ts()}
    return event_callback(event, team_id)


def slash_command(command: str = "/ask", text: str = "", *, user_id: str = "U123",
                  channel_id: str = "C123", channel_name: str = "general",
                  trigger_id: str | None = None, response_url: str | None = None,
                  team_id: str = TEAM_ID) -> Payload:
    """A slash command invocation, form-urlencoded like Slack sends it."""
    return _form({
        "token": VERIFICATION_TOKEN, "team_id": team_id, "team_domain": DOMAIN,
        "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id,
        "user_name": user_id.lower(), "command": command, "text": text, "api_app_id": APP_ID,
        "is_enterprise_install": "false", "response_url": response_url or _response_url("commands"),
        "trigger_id": trigger_id or new_trigger_id(),
    })


def block_actions(action_id: str, value: str | None = None, *, user_id: str = "U123",
                  channel_id: str = "C123", message_ts: str | None = None,
                  container: dict[str, Any] | None = None, trigger_id: str | None = None,
                  view: dict[str, Any] | None = None, block_id: str = "actions",
                  action: Mapping[str, Any] | None = None, message: dict[str, Any] | None = None,
                  response_url: str | None = None, team_id: str = TEAM_ID) -> Payload:
    """A ``block_actions`` interaction: a button click by default, on a message or in ``view``.

    ``action`` overrides/extends the action object (e.g. ``selected_option`` for a select).
    """
    act: dict[str, Any] = {"type": "button", "action_id": action_id, "block_id": block_id,
                           "text": {"type": "plain_text", "text": "Button", "emoji": True},
                           "action_ts": new_ts()}
    if value is not None:
        act["value"] = value
    act.update(action or {})
    data: dict[str, Any] = {
        "type": "block_actions", "user": _user(user_id, team_id), "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN, "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id), "enterprise": None, "is_enterprise_install": False,
        "state": {"values": {}}, "actions": [act],
    }
    if view is not None:
        data["container"] = container or {"type": "view", "view_id": view.get("id", "V1")}
        data["view"] = view
    else:
        ts = message_ts or new_ts()
        data["container"] = container or {"type": "message", "message_ts": ts,
                                          "channel_id": channel_id, "is_ephemeral": False}
        data["channel"] = {"id": channel_id, "name": "general"}
        data["message"] = message or {"type": "message", "ts": ts, "user": BOT_USER_ID,
                                      "bot_id": "BBOT", "text": ""}
        data["response_url"] = response_url or _response_url("actions")
    return _interaction(data)


def _state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Expand ``{block: {action: "text"}}`` shorthand into plain_text_input state values."""
    return {block: {action: (v if isinstance(v, dict) else {"type": "plain_text_input", "value": v})
                    for action, v in actions.items()}
            for block, actions in values.items()}


def view_submission(callback_id: str, values: Mapping[str, Mapping[str, Any]] | None = None, *,
                    user_id: str = "U123", private_metadata: str = "",
                    view_id: str | None = None, blocks: list[dict[str, Any]] | None = None,
                    title: str = "Switchboard", external_id: str = "",
                    team_id: str = TEAM_ID) -> Payload:
    """A modal ``view_submission``; ``values`` is state.values (string leaves = text inputs)."""
    view_id = view_id or f"V{next(_counter):08d}"
    view = {
        "id": view_id, "team_id": team_id, "type": "modal", "blocks": blocks or [],
        "private_metadata": private_metadata, "callback_id": callback_id,
        "state": {"values": _state_values(values or {})},
        "hash": f"{new_ts()}.{secrets.token_hex(4)}",
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "clear_on_close": False, "notify_on_close": False, "close": None,
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None, "root_view_id": view_id, "app_id": APP_ID,
        "external_id": external_id, "app_installed_team_id": team_id, "bot_id": "BBOT",
    }
    return _interaction({
        "type": "view_submission", "team": _team(team_id), "user": _user(user_id, team_id),
        "api_app_id": APP_ID, "token": VERIFICATION_TOKEN, "trigger_id": new_trigger_id(),
        "view": view, "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    })


def message_shortcut(callback_id: str, message: dict[str, Any], *, channel_id: str = "C123",
                     user_id: str = "U123", trigger_id: str | None = None,
                     response_url: str | None = None, team_id: str = TEAM_ID) -> Payload:
    """A message shortcut (``type: message_action``) on ``message`` (needs at least ``ts``)."""
    return _interaction({
        "type": "message_action", "token": VERIFICATION_TOKEN, "action_ts": new_ts(),
        "team": _team(team_id), "user": _user(user_id, team_id),
        "channel": {"id": channel_id, "name": "general"}, "is_enterprise_install": False,
        "enterprise": None, "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url or _response_url("app"),
        "message_ts": message["ts"], "message": {"type": "message", **message},
    })


def channel_message(text: str, *, user_id: str, channel_id: str, channel_type: str = "channel",
                    ts: str | None = None, thread_ts: str | None = None,
                    team_id: str = TEAM_ID) -> Payload:
    """A ``message`` event in a channel (``channel_type`` channel or group) or a DM (im)."""
    event = _message_event("message", text, user_id, channel_id, ts, thread_ts, team_id)
    event["channel_type"] = channel_type
    return event_callback(event, team_id)


def message_changed(channel_id: str, message: dict[str, Any], previous: dict[str, Any], *,
                    channel_type: str = "channel", team_id: str = TEAM_ID) -> Payload:
    """A ``message_changed`` event: ``message`` (with ``edited``) replaced ``previous``."""
    ts = new_ts()
    event = {"type": "message", "subtype": "message_changed", "hidden": True,
             "channel": channel_id, "channel_type": channel_type, "ts": ts, "event_ts": ts,
             "message": {"type": "message", **message},
             "previous_message": {"type": "message", **previous}}
    return event_callback(event, team_id)


def message_deleted(channel_id: str, previous: dict[str, Any], *,
                    channel_type: str = "channel", team_id: str = TEAM_ID) -> Payload:
    """A ``message_deleted`` event for ``previous`` (which had a ``ts``)."""
    ts = new_ts()
    event = {"type": "message", "subtype": "message_deleted", "hidden": True,
             "channel": channel_id, "channel_type": channel_type, "ts": ts, "event_ts": ts,
             "deleted_ts": previous["ts"], "previous_message": {"type": "message", **previous}}
    return event_callback(event, team_id)


def view_interaction(kind: str, view: dict[str, Any], values: Mapping[str, Any], *,
                     user_id: str, team_id: str = TEAM_ID) -> Payload:
    """A ``view_submission`` or ``view_closed`` of a stored ``view`` (as views.open echoed it),
    with ``values`` as its state.values in Slack's shape."""
    data: dict[str, Any] = {
        "type": kind, "team": _team(team_id), "user": _user(user_id, team_id),
        "api_app_id": APP_ID, "token": VERIFICATION_TOKEN,
        "view": {**view, "state": {"values": dict(values)}},
        "is_enterprise_install": False, "enterprise": None,
    }
    if kind == "view_submission":
        data.update(trigger_id=new_trigger_id(), response_urls=[])
    else:
        data["is_cleared"] = False
    return _interaction(data)


def interaction(data: dict[str, Any]) -> Payload:
    """Any interactivity payload (``data`` as Slack shapes it), form-encoded as ``payload=``."""
    return _interaction(data)
