"""What a request from Slack must be before Bolt sees it: signed (Slack's v0 HMAC over the raw
bytes, fresh), UTF-8, a JSON object (or a form whose payload is one) of sane depth, and with the
fields Bolt routes on of the types Slack sends. Each check raises RequestRefused with the HTTP
status to answer; bot/server.py applies them in order."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest

from knowledge.errors import InvalidInput

log = logging.getLogger(__name__)
MAX_JSON_DEPTH = 64  # Slack's deepest payloads (views with rich text) nest about 12 levels
SIGNATURE_WINDOW_S = 5 * 60
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class RequestRefused(InvalidInput):
    """A request that is not passed on to Bolt; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (exact for valid JSON)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_object(text: str, what: str) -> dict[str, Any]:
    """`text` as a JSON object, or RequestRefused(400) saying why not."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise RequestRefused(400, f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, or an int over 4300 digits
        raise RequestRefused(400, f"{what} is not valid JSON ({str(error)[:80]})") from None
    if not isinstance(value, dict):
        raise RequestRefused(400, f"{what} is not a JSON object")
    return value


_STR, _OBJ, _LIST = (str, type(None)), (dict, type(None)), (list, type(None))
# The envelope fields Bolt's own routing and middleware read, with the types Slack sends;
# "a[]" is every item of the list a. A wrong type here crashes Bolt before any listener runs.
ENVELOPE: dict[str, tuple[type, ...]] = {
    "type": _STR, "event": (dict,), "view": (dict,), "actions": _LIST, "authorizations": _LIST,
    "user": (dict, str, type(None)), "response_urls": _LIST,
    "is_enterprise_install": (bool, str, type(None)), "is_ext_shared_channel": (bool, type(None)),
    **dict.fromkeys(("team", "enterprise", "channel", "container", "message", "workflow_step",
                     "function_data", "assistant_thread", "item", "previous_message"), _OBJ),
    **dict.fromkeys(("team_id", "enterprise_id", "user_id", "channel_id", "api_app_id",
                     "callback_id", "trigger_id", "response_url", "thread_ts", "command", "text",
                     "function_execution_id", "bot_access_token"), _STR),
    **dict.fromkeys(("event.type", "event.subtype", "event.channel_type", "event.tab",
                     "event.thread_ts", "event.bot_id", "event.user_team", "event.team",
                     "event.function_execution_id", "event.bot_access_token",
                     "view.type", "view.callback_id", "view.app_installed_team_id",
                     "actions[].action_id", "actions[].block_id", "actions[].type"), _STR),
    **dict.fromkeys(("event.message", "event.previous_message", "event.assistant_thread",
                     "event.workflow_step", "actions[]", "authorizations[]"), (dict,)),
}


def check_envelope(payload: dict[str, Any]) -> None:
    """RequestRefused(400) if a field Bolt routes on has a type Slack never sends."""
    for path, allowed in ENVELOPE.items():
        for value in _values_at(payload, path.split(".")):
            if not isinstance(value, allowed):
                kinds = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
                raise RequestRefused(400, f"the payload's {path} should be {kinds}")
    if payload.get("type") == "block_actions" and not all(
            "action_id" in action for action in payload.get("actions") or []):
        raise RequestRefused(400, "every action of a block_actions payload needs an action_id")
    if "view" in payload and "type" not in payload["view"]:
        raise RequestRefused(400, "the payload's view needs a type")


def _values_at(node: Any, steps: list[str]) -> list[Any]:
    if not steps:
        return [node]
    key, each = steps[0].removesuffix("[]"), steps[0].endswith("[]")
    if not isinstance(node, dict) or key not in node:
        return []
    value = node[key]
    if not each:
        return _values_at(value, steps[1:])
    items = value if isinstance(value, list) else []
    return [found for item in items for found in _values_at(item, steps[1:])]


def parse_body(text: str, media_type: str) -> dict[str, Any]:
    """The payload Bolt will see, read exactly as Bolt reads it, refusing what would break it."""
    if media_type == "application/json" or text.startswith("{"):
        return load_object(text, "the JSON body")
    params = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text and "payload" in params:
        return load_object(params["payload"], "the form's payload")
    return params


def check_signature(secret: str, raw: bytes, timestamp: str | None,
                    signature: str | None) -> None:
    """RequestRefused(401) unless Slack's v0 signature over the raw bytes is valid and fresh.

    The HMAC is Slack's v0 scheme computed here rather than by slack_sdk's SignatureVerifier,
    which decodes the body as UTF-8 first and so raises on the very bodies that must be
    refused; on UTF-8 bodies the two agree (a test checks it)."""
    if timestamp is None or signature is None:
        raise RequestRefused(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        raise RequestRefused(401, "malformed X-Slack-Signature or X-Slack-Request-Timestamp")
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_S:
        raise RequestRefused(401, "stale X-Slack-Request-Timestamp")
    expected = v0_signature(secret, timestamp, raw)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise RequestRefused(401, "invalid signature")


def v0_signature(secret: str, timestamp: str, raw: bytes) -> str:
    """Slack's v0 signature of a raw body: HMAC-SHA256 of b"v0:{timestamp}:{body}"."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + raw
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def to_bolt_request(raw: bytes, headers: dict[str, list[str]], query: str,
                    secret: str) -> BoltRequest:
    """A verified, well-formed BoltRequest from raw request parts, or RequestRefused."""
    check_signature(secret, raw, _first(headers, "x-slack-request-timestamp"),
                    _first(headers, "x-slack-signature"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused(400, "the body is not UTF-8") from None
    if not text:
        raise RequestRefused(400, "the body is empty")
    if "\x00" in text:
        raise RequestRefused(400, "the body contains NUL characters (UTF-16?): send UTF-8")
    media_type = (_first(headers, "content-type") or "").split(";")[0].strip().lower()
    if media_type not in ("application/json", "application/x-www-form-urlencoded"):
        raise RequestRefused(415, "send application/json or application/x-www-form-urlencoded")
    check_envelope(parse_body(text, media_type))
    headers = {**headers, "content-type": [media_type]}  # Bolt compares it verbatim
    try:
        return BoltRequest(body=text, query=query, headers=headers)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        log.warning("payload fields of the wrong type", exc_info=True)
        raise RequestRefused(400, "the payload's fields have the wrong types") from None


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None
