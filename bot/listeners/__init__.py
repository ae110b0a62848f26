"""Slack listeners, one module per kind, each with register(app, deps, ...)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.parse import Click
from knowledge.questions import QuestionBook


def open_modal(questions: QuestionBook, client: WebClient, pressed: Click, view: dict) -> None:
    """Open `view` for a click: pushed on top when the click was inside a modal. A trigger can
    open one view only, so a replayed click (same trigger id) does nothing."""
    trigger = pressed.trigger_id
    if not trigger or not questions.claim_delivery(f"trigger:{trigger}"):
        return
    if pressed.in_modal:
        client.views_push(trigger_id=trigger, view=view)
    else:
        client.views_open(trigger_id=trigger, view=view)
