"""Slack listeners, one module per kind, each with register(app, deps, ...).

Shared here: `ack_only`, `tell` (a private note to whoever acted), `open_modal`, and `guarded`,
the one place where a lazy listener's failure becomes something the user reads: a domain error
(SwitchboardError) as its own friendly message, a bug as a short apology plus the traceback in
the log (Bolt alone would log one line and drop both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.outbox import DirectMessage, PostFailed, send
from bot.parse import Click, actor
from knowledge.errors import SwitchboardError
from knowledge.questions import QuestionBook

log = logging.getLogger(__name__)
SORRY = ("Sorry, something went wrong on my side and nothing was changed. Please try again in a "
         "minute.")
Handler = Callable[[dict[str, Any], WebClient, dict[str, Any]], None]


def ack_only(ack: Ack) -> None:
    ack()


def tell(client: WebClient, user: str | None, response_url: str | None, text: str) -> None:
    """A note only `user` sees: ephemeral through `response_url`, else in their DM."""
    try:
        if response_url:
            send(response_url, text=text, response_type="ephemeral", replace_original=False)
        elif user:
            DirectMessage(client, user).post(text, [])
    except PostFailed as failed:
        log.info("could not tell the user", extra={"user": user, "error": failed.code})


def guarded(handler: Handler) -> Callable[[dict[str, Any], WebClient, dict[str, Any]], None]:
    """`handler(body, client, context)` as a lazy listener whose errors reach the user."""
    def run(body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        try:
            handler(body, client, context)
        except SwitchboardError as error:
            _tell_actor(client, body, str(error))
        except Exception:
            log.exception("listener failed", extra={"listener": handler.__name__})
            _tell_actor(client, body, SORRY)
    run.__name__ = handler.__name__  # Bolt finds lazy listeners by name
    return run


def _tell_actor(client: WebClient, body: dict[str, Any], text: str) -> None:
    who = actor(body)
    tell(client, who.user, who.response_url, text)


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
