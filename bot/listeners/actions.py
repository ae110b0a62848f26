"""Clicks on the answer card and on the App Home.

A verdict is stored once per person (a double click or a replayed request changes nothing);
the asker's verdict updates the card in place, anyone else's is acknowledged privately.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.answering import CardMessage
from bot.blocks.home import ask_modal
from bot.deps import BotDeps
from bot.listeners import open_modal
from bot.outbox import PostFailed, send
from bot.parse import ButtonPress, button_press
from knowledge.errors import NotFound
from knowledge.questions import QuestionSource, Verdict

log = logging.getLogger(__name__)
VERDICTS = {ids.SOLVED: Verdict.SOLVED, ids.NOT_HELPFUL: Verdict.NOT_HELPFUL,
            ids.ASK_EXPERT: Verdict.ASK_EXPERT}
THANKS = {
    Verdict.SOLVED: "Thanks! I've noted that this answer helped you.",
    Verdict.NOT_HELPFUL: "Thanks, I've noted that this answer didn't help.",
    Verdict.ASK_EXPERT: "Noted: you'd like an expert on this too.",
}
ECHOED = (QuestionSource.COMMAND, QuestionSource.SHORTCUT, QuestionSource.HOME)


def register(app: App, deps: BotDeps) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def on_verdict(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        press = button_press(body, action)
        if press is not None:
            handle_verdict(deps, client, press, VERDICTS[press.action_id],
                           body.get("response_url"))

    def on_show_more(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        press = button_press(body, action)
        if press is not None:
            show_more(deps, client, press, body.get("response_url"))

    def on_home_ask(body: dict[str, Any], client: WebClient) -> None:
        open_modal(deps.questions, client, body, ask_modal())

    for action_id in VERDICTS:
        app.action(action_id)(ack=ack_only, lazy=[on_verdict])
    app.action(ids.SHOW_MORE)(ack=ack_only, lazy=[on_show_more])
    app.action(ids.HOME_ASK)(ack=ack_only, lazy=[on_home_ask])
    app.action(ids.SOURCE_LINK)(ack_only)  # a link button: nothing to do but acknowledge


def handle_verdict(deps: BotDeps, client: WebClient, press: ButtonPress, verdict: Verdict,
                   response_url: str | None) -> None:
    try:
        question = deps.questions.get(press.question_id)
    except NotFound:
        log.warning("click on an unknown question", extra={"question_id": press.question_id})
        return
    new = deps.answerer.give_feedback(question.id, press.user, verdict, press.entry_id)
    log.info("feedback", extra={"question_id": question.id, "verdict": verdict.value,
                                "by_asker": press.user == question.asker, "new": new})
    if not new:
        return  # a double click or a replay: already recorded and shown
    if press.user != question.asker:
        _tell(response_url, THANKS[verdict])
        return
    if verdict is Verdict.ASK_EXPERT and deps.on_expert_requested is not None:
        deps.on_expert_requested(question)
    _update(deps, client, press, response_url, expanded=False)


def show_more(deps: BotDeps, client: WebClient, press: ButtonPress,
              response_url: str | None) -> None:
    try:
        deps.questions.get(press.question_id)
    except NotFound:
        return
    _update(deps, client, press, response_url, expanded=True)


def _update(deps: BotDeps, client: WebClient, press: ButtonPress, response_url: str | None,
            expanded: bool) -> None:
    question = deps.questions.get(press.question_id)
    card = deps.answerer.stored_card(question.id, expanded=expanded,
                                     echo_question=question.source in ECHOED)
    where = CardMessage(press.channel, None if press.ephemeral else press.message_ts,
                        response_url)
    deps.answerer.update_card(client, where, card)


def _tell(response_url: str | None, text: str) -> None:
    """A private note to whoever clicked."""
    if not response_url:
        return
    try:
        send(response_url, text=text, response_type="ephemeral", replace_original=False)
    except PostFailed as failed:
        log.info("could not thank for feedback", extra={"error": failed.code})
