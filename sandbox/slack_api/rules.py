"""What the fake Slack counts as a bad call: the method table plus a few documented extra rules.

``methods.json`` (derived from Slack's OpenAPI spec by derive_spec.py) gives known methods,
their arguments and the arguments the spec marks required.  On top of it, Slack enforces:

* ``EXTRA_REQUIRED``: arguments the spec forgets to mark required (chat.delete needs channel
  and ts, conversations.replies needs channel and ts, users.info needs user, ...).
* ``ONE_OF``: at least one of these is needed.  The spec marks no content argument required
  for chat.postMessage & co, but Slack answers ``no_text`` without text, blocks or attachments.
* a token is needed by every method whose spec lists a ``token`` parameter (the spec's own
  ``required`` flag on it is inconsistent); JSON bodies must carry it in the Authorization
  header, since Slack ignores ``token`` inside JSON.
* Block Kit limits for message content and views (blockkit.py); views.open/push take a modal,
  views.publish a home view; a ``trigger_id`` can be exchanged for a view only once.
* response_url bodies need text/blocks/attachments (unless ``delete_original``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .blockkit import validate_message, validate_view

METHODS_PATH = Path(__file__).with_name("methods.json")
RESPONSE_URL = "response_url"
JSON_ARGS = ("blocks", "attachments", "view", "metadata")
EXTRA_REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.delete": ("channel", "ts"), "conversations.info": ("channel",),
    "conversations.history": ("channel",), "conversations.replies": ("channel", "ts"),
    "users.info": ("user",), "views.update": ("view",),
}
ONE_OF: dict[str, tuple[str, ...]] = {
    **{m: ("text", "blocks", "attachments") for m in (
        "chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage")},
    "views.update": ("view_id", "external_id"), "conversations.open": ("users", "channel"),
}
VIEW_TYPES = {"views.open": "modal", "views.push": "modal", "views.publish": "home"}


def load_methods(path: Path = METHODS_PATH) -> dict[str, dict[str, Any]]:
    """The method table derived from Slack's OpenAPI spec (see derive_spec.py)."""
    return json.loads(path.read_text(encoding="utf-8"))


def blank(value: Any) -> bool:
    """Whether an argument counts as not given."""
    return value is None or value == "" or value == []


def decode_json_args(args: dict[str, Any], problems: list[str]) -> None:
    """Decode JSON-string arguments (blocks, view... in form bodies) in place."""
    for key in JSON_ARGS:
        if isinstance(args.get(key), str) and args[key]:
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                problems.append(f"argument {key!r} is not valid JSON")


def check_call(method: str, args: Mapping[str, Any], token: str | None,
               spec: Mapping[str, Any] | None, problems: list[str],
               warnings: list[str]) -> str | None:
    """Append what is wrong with a Web API call to ``problems``; return Slack's error code.

    ``spec`` is the method's methods.json entry (None: unknown method).  Arguments the spec
    does not know go to ``warnings`` only (Slack ignores them; newer SDKs send some).
    """
    if problems:
        return "invalid_arguments"
    if spec is None:
        problems.append("unknown method")
        return "unknown_method"
    if spec.get("token", True) and not token:
        problems.append("no token (send Authorization: Bearer <token>)")
        return "not_authed"
    known = set(spec.get("args", ())) | set(JSON_ARGS)
    warnings.extend(f"{method}: argument {a!r} is not in the spec" for a in args if a not in known)
    required = [*spec.get("required", ()), *EXTRA_REQUIRED.get(method, ())]
    problems.extend(f"missing required argument {a!r}" for a in required if blank(args.get(a)))
    if method in ONE_OF and all(blank(args.get(a)) for a in ONE_OF[method]):
        problems.append(f"one of {', '.join(ONE_OF[method])} is required")
        return "no_text" if method.startswith("chat.") else "invalid_arguments"
    if problems:
        return "invalid_arguments"
    if method.startswith("chat.") and ("blocks" in args or "text" in args):
        problems.extend(validate_message(args.get("text"), args.get("blocks")))
        if problems:
            return "invalid_blocks"
    if method.startswith("views.") and "view" in args:
        view = args["view"]
        problems.extend(validate_view(view))
        wanted = VIEW_TYPES.get(method)
        if wanted and isinstance(view, dict) and view.get("type") != wanted:
            problems.append(f"view.type must be {wanted!r} for {method}")
        return "invalid_arguments" if problems else None
    return None


def check_trigger(args: Mapping[str, Any], used: set[str], problems: list[str]) -> str | None:
    """A trigger_id is single-use: record it, or complain when it is exchanged again."""
    trigger = args.get("trigger_id")
    if not isinstance(trigger, str):
        return None
    if trigger in used:
        problems.append(f"trigger_id {trigger!r} was already exchanged for a view")
        return "exchanged_trigger_id"
    used.add(trigger)
    return None


def check_response_url(args: Mapping[str, Any], problems: list[str]) -> str | None:
    """Problems with a body posted to a response_url; returns an error code or None."""
    if problems:
        return "invalid_arguments"
    if args.get("response_type") not in (None, "in_channel", "ephemeral"):
        problems.append("response_type must be in_channel or ephemeral, "
                        f"got {args['response_type']!r}")
    deleting = str(args.get("delete_original")).lower() == "true"
    if not deleting and all(blank(args.get(k)) for k in ("text", "blocks", "attachments")):
        problems.append("one of text, blocks, attachments is required")
    problems.extend(validate_message(args.get("text"), args.get("blocks")))
    return "invalid_blocks" if problems else None
