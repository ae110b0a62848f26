"""Clicks on the answer card and on the App Home.

A verdict is stored once per person (a double click or a replayed request changes nothing);
the asker's verdict updates the card in place, anyone else's is acknowledged privately. Every
answer on the card has its own "This solved it" (the best one in the feedback row, each related
one beside it); a "solved" or "not helpful" verdict on an entry keeps the asker's words as a
phrasing of it (knowledge.phrasings), so the click must name an entry that card showed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.answering import CardMessage
from bot.blocks.home import ask_modal
from bot.deps import BotDeps
from bot.listeners import open_modal
from bot.outbox import PostFailed, send
from bot.parse import ButtonPress, button_press, click
from knowledge.errors import NotFound
from knowledge.questions import Question, QuestionSource, Verdict

log = logging.getLogger(__name__)
VERDICTS = {ids.SOLVED: Verdict.SOLVED, ids.SOLVED_THIS: Verdict.SOLVED,
            ids.NOT_HELPFUL: Verdict.NOT_HELPFUL, ids.ASK_EXPERT: Verdict.ASK_EXPERT}
NAMES_AN_ENTRY = {ids.SOLVED_THIS}  # buttons that are about one answer, never about none
THANKS = {
    Verdict.SOLVED: "Thanks! I've noted that this answer helped you.",
    Verdict.NOT_HELPFUL: "Thanks, I've noted that this answer didn't help.",
    Verdict.ASK_EXPERT: "Noted: you'd like an expert on this too.",
}
ECHOED = (QuestionSource.COMMAND, QuestionSource.SHORTCUT, QuestionSource.HOME)
CARD_RECORD_WAIT = 10.0  # seconds a click on a card just posted waits for its record (recorded)


def register(app: App, deps: BotDeps) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def on_verdict(body: dict[str, Any], client: WebClient) -> None:
        press = button_press(body)
        if press is None:
            return
        if press.entry_id is None and press.click.action_id in NAMES_AN_ENTRY:
            log.warning("ignored a click that names no answer",
                        extra={"question_id": press.question_id, "user": press.user})
            return
        handle_verdict(deps, client, press, VERDICTS[press.click.action_id])

    def on_show_more(body: dict[str, Any], client: WebClient) -> None:
        press = button_press(body)
        if press is not None:
            show_more(deps, client, press)

    def on_home_ask(body: dict[str, Any], client: WebClient) -> None:
        pressed = click(body)
        if pressed is not None:
            open_modal(deps.questions, client, pressed, ask_modal())

    for action_id in VERDICTS:
        app.action(action_id)(ack=ack_only, lazy=[on_verdict])
    app.action(ids.SHOW_MORE)(ack=ack_only, lazy=[on_show_more])
    app.action(ids.HOME_ASK)(ack=ack_only, lazy=[on_home_ask])
    app.action(ids.SOURCE_LINK)(ack_only)  # a link button: nothing to do but acknowledge


def clicked_card(deps: BotDeps, press: ButtonPress) -> tuple[Question, CardMessage] | None:
    """The question and where its card is, if the click really was on that question's card.

    Button values are never trusted on their own: anyone can sign a click naming any question.
    The card is updated where the question's record says it is (never at the clicked ts), the
    click must come from that conversation, an ephemeral card only from its asker (nobody else
    ever saw it), and a named entry must be one the card showed.
    """
    try:
        question = recorded(deps, deps.questions.get(press.question_id))
    except NotFound:
        return None
    pressed = press.click
    if question.reply_ts is None:  # an ephemeral card (/ask): only its asker saw it
        if pressed.user != question.asker or not pressed.ephemeral:
            return None
        where = CardMessage(question.reply_channel, None, pressed.response_url)
    elif pressed.channel != question.reply_channel or pressed.ephemeral:
        return None
    else:
        where = CardMessage(question.reply_channel, question.reply_ts)
    shown = {hit.entry_id for hit in deps.questions.shown_hits(question.id)}
    if press.entry_id is not None and press.entry_id not in shown:
        return None
    return question, where


def recorded(deps: BotDeps, question: Question) -> Question:
    """The question once its card is recorded. Slack shows a card the moment it is posted, and
    the answering process (this one or another replica) records where it is just after: a
    quick click can arrive in between, and would be taken for a click on no card. So while a
    reply is claimed and not yet recorded, wait for it, at most CARD_RECORD_WAIT seconds."""
    deadline = time.monotonic() + CARD_RECORD_WAIT
    while deps.questions.reply_pending(question.id) and time.monotonic() < deadline:
        time.sleep(0.05)
    return deps.questions.get(question.id) if question.first_reply_at is None else question


def handle_verdict(deps: BotDeps, client: WebClient, press: ButtonPress,
                   verdict: Verdict) -> None:
    found = clicked_card(deps, press)
    if found is None:
        log.warning("ignored a click that is not on its question's card",
                    extra={"question_id": press.question_id, "user": press.user})
        return
    question, where = found
    new = deps.answerer.give_feedback(question.id, press.user, verdict, press.entry_id)
    log.info("feedback", extra={"question_id": question.id, "verdict": verdict.value,
                                "entry_id": press.entry_id,
                                "by_asker": press.user == question.asker, "new": new})
    if not new:  # a double click or a replay: already recorded and shown
        if verdict is Verdict.ASK_EXPERT and press.user == question.asker and (
                deps.on_expert_requested is not None):
            # ...but not routed if the process that recorded it died first: route it now
            # (routing a question twice does nothing)
            deps.on_expert_requested(question)
        return
    if press.user != question.asker:
        _tell(press.click.response_url, THANKS[verdict])
        return
    if verdict is Verdict.ASK_EXPERT and deps.on_expert_requested is not None:
        deps.on_expert_requested(question)
    _update(deps, client, question, where, expanded=False)


def show_more(deps: BotDeps, client: WebClient, press: ButtonPress) -> None:
    found = clicked_card(deps, press)
    if found is None:
        log.warning("ignored a click that is not on its question's card",
                    extra={"question_id": press.question_id, "user": press.user})
        return
    _update(deps, client, *found, expanded=True)


def _update(deps: BotDeps, client: WebClient, question: Question, where: CardMessage,
            expanded: bool) -> None:
    card = deps.answerer.stored_card(question.id, expanded=expanded,
                                     echo_question=question.source in ECHOED)
    deps.answerer.update_card(client, where, card)


def _tell(response_url: str | None, text: str) -> None:
    """A private note to whoever clicked."""
    if not response_url:
        return
    try:
        send(response_url, text=text, response_type="ephemeral", replace_original=False)
    except PostFailed as failed:
        log.info("could not thank for feedback", extra={"error": failed.code})
