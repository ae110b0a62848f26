"""Slack listeners, one module per kind, each with register(app, deps, ...)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from knowledge.questions import QuestionBook


def open_modal(questions: QuestionBook, client: WebClient, body: dict[str, Any],
               view: dict) -> None:
    """Open `view` for a click: pushed on top when the click was inside a modal. A trigger can
    open one view only, so a replayed click (same trigger id) does nothing."""
    trigger = body["trigger_id"]
    if not questions.claim_delivery(f"trigger:{trigger}"):
        return
    container = body.get("container") or {}
    if container.get("type") == "view" and (body.get("view") or {}).get("type") == "modal":
        client.views_push(trigger_id=trigger, view=view)
    else:
        client.views_open(trigger_id=trigger, view=view)
