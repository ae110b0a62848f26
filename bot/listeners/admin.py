"""Curation from the App Home, and an expert's own settings.

Every admin action is checked on the server, whatever the UI showed: a non-admin gets a clear
refusal and nothing changes. Every change goes through the Curator, which audits it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.admin import Admins
from bot.blocks.admin import (
    away_modal,
    entry_modal,
    find_modal,
    found_modal,
    reject_modal,
    topics_modal,
)
from bot.blocks.kit import button
from bot.deps import BotDeps
from bot.home import HomePublisher
from bot.listeners import open_modal
from bot.outbox import DirectMessage, PostFailed, send
from bot.parse import modal_text
from bot.people import SLACK_USER_ID
from bot.slack_text import escape, trim
from knowledge.curation import Curator
from knowledge.errors import InvalidInput, NotFound
from knowledge.experts import ExpertBook

log = logging.getLogger(__name__)
REFUSED = "Sorry, only Switchboard admins can do that. Nothing was changed."


def _value(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value", ""))


def _entry_id(raw: str) -> int | None:
    raw = raw.rpartition(":")[2].lstrip("#")
    return int(raw) if raw.isdigit() else None


def register(app: App, deps: BotDeps, admins: Admins, home: HomePublisher) -> None:
    curator = Curator(deps.questions.store)
    experts = ExpertBook(deps.questions.store)

    def ack_only(ack: Ack) -> None:
        ack()

    def refuse(body: dict[str, Any], client: WebClient, user: str) -> None:
        log.warning("refused a non-admin", extra={"user": user, "payload_type": body.get("type"),
                                                  "action": _value(body)})
        _tell(client, body, user, REFUSED)

    def admin_only(handler):
        """Run `handler(body, client, user)` only for admins."""
        def guarded(body: dict[str, Any], client: WebClient) -> None:
            user = body["user"]["id"]
            if not admins.is_admin(user):
                refuse(body, client, user)
                return
            try:
                handler(body, client, user)
            except (InvalidInput, NotFound) as error:
                _tell(client, body, user, str(error))
            home.publish(client, user)
        guarded.__name__ = handler.__name__  # lazy listeners are found by name
        return guarded

    def _tell(client: WebClient, body: dict[str, Any], user: str, text: str) -> None:
        url = body.get("response_url")
        try:
            if url:
                send(url, text=text, response_type="ephemeral", replace_original=False)
            else:
                DirectMessage(client, user).post(text, [])
        except PostFailed as failed:
            log.info("could not tell the user", extra={"user": user, "error": failed.code})

    def _dm_author(client: WebClient, who: str | None, text: str) -> None:
        if who and SLACK_USER_ID.match(who):
            try:
                DirectMessage(client, who).post(text, [])
            except PostFailed as failed:
                log.info("could not DM the author", extra={"user": who, "error": failed.code})

    # -- buttons -------------------------------------------------------------------------------
    def approve(body: dict[str, Any], client: WebClient, user: str) -> None:
        entry = curator.approve(_entry_id(_value(body)) or 0, user)
        _dm_author(client, entry.answered_by, trim(
            f":white_check_mark: Your answer to “{escape(entry.question)}” was approved and "
            "is now in the knowledge base. Thank you!", 3000))

    def edit(body: dict[str, Any], client: WebClient, user: str) -> None:
        mode, _, raw = _value(body).partition(":")
        entry = deps.questions.store.get_entry(_entry_id(raw) or 0)
        view = entry_modal(entry, "approve" if mode == "approve" else "edit")
        open_modal(deps.questions, client, body, view)

    def reject(body: dict[str, Any], client: WebClient, user: str) -> None:
        entry = deps.questions.store.get_entry(_entry_id(_value(body)) or 0)
        open_modal(deps.questions, client, body, reject_modal(entry))

    def verify(body: dict[str, Any], client: WebClient, user: str) -> None:
        curator.verify(_entry_id(_value(body)) or 0, user)

    def retire(body: dict[str, Any], client: WebClient, user: str) -> None:
        curator.retire(_entry_id(_value(body)) or 0, user)

    def restore(body: dict[str, Any], client: WebClient, user: str) -> None:
        curator.restore(_entry_id(_value(body)) or 0, user)

    def merge(body: dict[str, Any], client: WebClient, user: str) -> None:
        keep, _, fold = _value(body).partition(":")
        if keep.isdigit() and fold.isdigit():
            curator.merge(int(keep), int(fold), user)

    def nudge(body: dict[str, Any], client: WebClient, user: str) -> None:
        entry = deps.questions.store.get_entry(_entry_id(_value(body)) or 0)
        nudge_author(client, curator, entry, manual=True)

    def find(body: dict[str, Any], client: WebClient, user: str) -> None:
        open_modal(deps.questions, client, body, find_modal())

    for action_id, handler in ((ids.ADMIN_APPROVE, approve), (ids.ADMIN_EDIT, edit),
                               (ids.ADMIN_REJECT, reject), (ids.ADMIN_VERIFY, verify),
                               (ids.ADMIN_RETIRE, retire), (ids.ADMIN_RESTORE, restore),
                               (ids.ADMIN_MERGE, merge), (ids.ADMIN_NUDGE, nudge),
                               (ids.ADMIN_FIND, find)):
        app.action(action_id)(ack=ack_only, lazy=[admin_only(handler)])

    # -- modals --------------------------------------------------------------------------------
    def check_admin_view(body: dict[str, Any], ack: Ack) -> None:
        if not admins.is_admin(body["user"]["id"]):
            first_block = ((body.get("view") or {}).get("blocks") or [{}])[0].get("block_id")
            ack(response_action="errors", errors={first_block or "x": REFUSED})
            log.warning("refused a non-admin", extra={"user": body["user"]["id"],
                                                      "view": body["view"].get("callback_id")})
            return
        ack()

    def save_entry(body: dict[str, Any], client: WebClient, user: str) -> None:
        view = body["view"]
        mode, _, raw = str(view.get("private_metadata", "")).partition(":")
        entry_id = _entry_id(raw) or 0
        if not deps.questions.claim_delivery(f"view:{view['id']}"):
            return
        tags = tuple(t for t in modal_text(view, ids.ENTRY_TAGS, ids.ENTRY_TAGS).split(","))
        fields = {"question": modal_text(view, ids.ENTRY_QUESTION, ids.ENTRY_QUESTION),
                  "answer": modal_text(view, ids.ENTRY_ANSWER, ids.ENTRY_ANSWER), "tags": tags}
        if mode == "approve":
            entry = curator.approve(entry_id, user, **fields)
            _dm_author(client, entry.answered_by, trim(
                f":white_check_mark: Your answer to “{escape(entry.question)}” was approved "
                "(with an admin's edits) and is now in the knowledge base. Thank you!", 3000))
        else:
            curator.edit(entry_id, user, visibility=modal_text(
                view, ids.ENTRY_VISIBILITY, ids.ENTRY_VISIBILITY) or "public", **fields)

    def save_rejection(body: dict[str, Any], client: WebClient, user: str) -> None:
        view = body["view"]
        if not deps.questions.claim_delivery(f"view:{view['id']}"):
            return
        reason = modal_text(view, ids.REJECT_REASON, ids.REJECT_REASON)
        entry = curator.reject(_entry_id(str(view.get("private_metadata"))) or 0, user, reason)
        _dm_author(client, entry.answered_by, trim(
            f"Your answer to “{escape(entry.question)}” was not added to the knowledge base. "
            f"The reviewer said: {escape(reason)}", 3000))

    def search_entries(body: dict[str, Any], ack: Ack) -> None:
        user = body["user"]["id"]
        if not admins.is_admin(user):
            ack(response_action="errors", errors={ids.FIND_TEXT: REFUSED})
            return
        query = modal_text(body["view"], ids.FIND_TEXT, ids.FIND_TEXT).strip()
        ack(response_action="update", view=found_modal(query, curator.find(query)))

    app.view(ids.ADMIN_ENTRY_MODAL)(ack=check_admin_view, lazy=[admin_only(save_entry)])
    app.view(ids.ADMIN_REJECT_MODAL)(ack=check_admin_view, lazy=[admin_only(save_rejection)])
    app.view(ids.ADMIN_FIND_MODAL)(search_entries)

    # -- an expert's own settings (anyone may set their own) ----------------------------------
    def open_topics(body: dict[str, Any], client: WebClient) -> None:
        open_modal(deps.questions, client, body, topics_modal(experts.topics(body["user"]["id"])))

    def open_away(body: dict[str, Any], client: WebClient) -> None:
        open_modal(deps.questions, client, body, away_modal(deps.questions.store.clock().date()))

    def back(body: dict[str, Any], client: WebClient) -> None:
        experts.set_away(body["user"]["id"], None)
        home.publish(client, body["user"]["id"])

    def save_topics(body: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        raw = modal_text(body["view"], ids.EXPERT_TOPICS_INPUT, ids.EXPERT_TOPICS_INPUT)
        experts.set_topics(user, raw.split(","))
        home.publish(client, user)

    def check_away(body: dict[str, Any], ack: Ack) -> None:
        picked = _picked_date(body["view"])
        if picked is None or picked < deps.questions.store.clock().date():
            ack(response_action="errors", errors={ids.EXPERT_AWAY_DATE: "Pick today or a "
                                                  "later day."})
            return
        ack()

    def save_away(body: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        picked = _picked_date(body["view"])
        if picked is not None:
            until = datetime.combine(picked + timedelta(days=1), time(0), tzinfo=UTC)
            experts.set_away(user, until)
        home.publish(client, user)

    app.action(ids.EXPERT_TOPICS)(ack=ack_only, lazy=[open_topics])
    app.action(ids.EXPERT_AWAY)(ack=ack_only, lazy=[open_away])
    app.action(ids.EXPERT_BACK)(ack=ack_only, lazy=[back])
    app.view(ids.EXPERT_TOPICS_MODAL)(ack=ack_only, lazy=[save_topics])
    app.view(ids.EXPERT_AWAY_MODAL)(ack=check_away, lazy=[save_away])

    # -- the author of a stale entry confirms it ----------------------------------------------
    def owner_verify(body: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        try:
            entry = deps.questions.store.get_entry(_entry_id(_value(body)) or 0)
        except NotFound:
            return
        if user != entry.answered_by and not admins.is_admin(user):
            refuse(body, client, user)
            return
        curator.verify(entry.id, user)
        _tell(client, body, user, ":white_check_mark: Thanks! Marked as verified.")

    app.action(ids.OWNER_VERIFY)(ack=ack_only, lazy=[owner_verify])


def _picked_date(view: dict[str, Any]):
    from datetime import date

    values = (view.get("state") or {}).get("values") or {}
    raw = ((values.get(ids.EXPERT_AWAY_DATE) or {}).get(ids.EXPERT_AWAY_DATE) or {}).get(
        "selected_date")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def nudge_author(client: WebClient, curator: Curator, entry, manual: bool = False) -> bool:
    """DM an entry's author to check it (at most once a week per entry)."""
    who = entry.answered_by
    if not who or not SLACK_USER_ID.match(who) or not curator.nudge_due(entry.id, who):
        return False
    text = trim(f"Could you check that your answer to “{escape(entry.question)}” is still "
                "right? People may be relying on it.", 3000)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text},
               "accessory": button("Still correct", ids.OWNER_VERIFY, str(entry.id))}]
    try:
        DirectMessage(client, who).post(text, blocks)
    except PostFailed as failed:
        log.info("could not nudge", extra={"entry_id": entry.id, "error": failed.code})
        return False
    log.info("nudged an author", extra={"entry_id": entry.id, "user": who, "manual": manual})
    return True
