"""The manifest asks for everything the bot handles (and the README documents it)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from bot import ids

ROOT = Path(__file__).resolve().parents[2]
manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())


def registered_events() -> set[str]:
    source = (ROOT / "bot" / "listeners" / "events.py").read_text()
    return {node.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "event"}


def test_every_event_handled_is_subscribed_with_its_scope() -> None:
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in registered_events():
        if event == "message":
            assert {"message.channels", "message.groups", "message.im"} <= subscribed
            assert {"channels:history", "groups:history", "im:history"} <= scopes
        else:
            assert event in subscribed
    assert "app_mentions:read" in scopes and "chat:write" in scopes


def test_command_shortcut_and_interactivity() -> None:
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/ask"]
    assert [s["callback_id"] for s in features["shortcuts"]] == [ids.ASK_SHORTCUT,
                                                                  ids.SAVE_AS_ANSWER]
    assert features["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


# The spec names the umbrella scopes of (retired) workspace apps; bot tokens get granular ones.
GRANULAR = {
    "conversations:write": {"im:write", "mpim:write", "channels:manage", "groups:write"},
    "conversations:read": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "conversations:history": {"channels:history", "groups:history", "im:history",
                              "mpim:history"},
}


def test_scopes_cover_the_web_api_methods_the_bot_calls() -> None:
    import json

    methods = json.loads((ROOT / "sandbox" / "slack_api" / "methods.json").read_text())
    called = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            owner = node.value if isinstance(node, ast.Attribute) else None
            name = getattr(owner, "id", None) or getattr(owner, "attr", None)
            if name == "client" and "_" in node.attr:
                called.add(node.attr.replace("_", ".", 1))
    called = {m for m in called if m in methods}
    assert {"chat.postMessage", "chat.update", "views.open", "conversations.open",
            "conversations.members", "users.info"} <= called
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for method in called:
        needed = methods[method]["scopes"]
        if needed and needed != "none":
            options = set()
            for scope in (s.strip() for s in needed.split(",")):
                options |= GRANULAR.get(scope, {scope})
            assert options & scopes, f"{method} needs one of {options}"
