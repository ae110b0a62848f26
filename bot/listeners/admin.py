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
from bot.deps import BotDeps
from bot.home import HomePublisher
from bot.listeners import open_modal
from bot.nudges import nudge_author
from bot.outbox import DirectMessage, PostFailed, send
from bot.parse import Click, Submission, click, is_user_id, submission
from bot.slack_text import escape, trim
from knowledge.curation import Curator
from knowledge.errors import InvalidInput, NotFound
from knowledge.expert_profiles import ExpertBook

log = logging.getLogger(__name__)
REFUSED = "Sorry, only Switchboard admins can do that. Nothing was changed."


def register(app: App, deps: BotDeps, admins: Admins, home: HomePublisher) -> None:
    curator = Curator(deps.questions.store)
    experts = ExpertBook(deps.questions.store)

    def ack_only(ack: Ack) -> None:
        ack()

    def tell(client: WebClient, user: str, response_url: str | None, text: str) -> None:
        try:
            if response_url:
                send(response_url, text=text, response_type="ephemeral", replace_original=False)
            else:
                DirectMessage(client, user).post(text, [])
        except PostFailed as failed:
            log.info("could not tell the user", extra={"user": user, "error": failed.code})

    def refuse(client: WebClient, user: str, response_url: str | None, what: str) -> None:
        log.warning("refused a non-admin", extra={"user": user, "action": what})
        tell(client, user, response_url, REFUSED)

    def admin_only(handler, parse):
        """Run `handler(parsed, client)` for admins only; refuse anyone else, ignore malformed
        payloads, and turn the domain's errors into a private note."""
        def guarded(body: dict[str, Any], client: WebClient) -> None:
            parsed = parse(body)
            if parsed is None:
                log.warning("ignored a malformed admin request")
                return
            response_url = getattr(parsed, "response_url", None)
            if not admins.is_admin(parsed.user):
                refuse(client, parsed.user, response_url, handler.__name__)
                return
            try:
                handler(parsed, client)
            except (InvalidInput, NotFound) as error:
                tell(client, parsed.user, response_url, str(error))
            home.publish(client, parsed.user)
        guarded.__name__ = handler.__name__  # lazy listeners are found by name
        return guarded

    def dm_author(client: WebClient, who: str | None, text: str) -> None:
        if who and is_user_id(who):
            try:
                DirectMessage(client, who).post(text, [])
            except PostFailed as failed:
                log.info("could not DM the author", extra={"user": who, "error": failed.code})

    # -- buttons -------------------------------------------------------------------------------
    def approve(pressed: Click, client: WebClient) -> None:
        entry = curator.approve(pressed.number or 0, pressed.user)
        dm_author(client, entry.answered_by, trim(
            f":white_check_mark: Your answer to “{escape(entry.question)}” was approved and "
            "is now in the knowledge base. Thank you!", 3000))

    def edit(pressed: Click, client: WebClient) -> None:
        entry = deps.questions.store.get_entry(pressed.number or 0)
        mode = "approve" if pressed.value.startswith("approve:") else "edit"
        open_modal(deps.questions, client, pressed, entry_modal(entry, mode))

    def reject(pressed: Click, client: WebClient) -> None:
        entry = deps.questions.store.get_entry(pressed.number or 0)
        open_modal(deps.questions, client, pressed, reject_modal(entry))

    def verify(pressed: Click, client: WebClient) -> None:
        curator.verify(pressed.number or 0, pressed.user)

    def retire(pressed: Click, client: WebClient) -> None:
        curator.retire(pressed.number or 0, pressed.user)

    def restore(pressed: Click, client: WebClient) -> None:
        curator.restore(pressed.number or 0, pressed.user)

    def merge(pressed: Click, client: WebClient) -> None:
        keep, _, fold = pressed.value.partition(":")
        if keep.isdigit() and fold.isdigit() and len(keep) <= 18 and len(fold) <= 18:
            curator.merge(int(keep), int(fold), pressed.user)

    def nudge(pressed: Click, client: WebClient) -> None:
        entry = deps.questions.store.get_entry(pressed.number or 0)
        nudge_author(client, curator, entry, manual=True)

    def find(pressed: Click, client: WebClient) -> None:
        open_modal(deps.questions, client, pressed, find_modal())

    for action_id, handler in ((ids.ADMIN_APPROVE, approve), (ids.ADMIN_EDIT, edit),
                               (ids.ADMIN_REJECT, reject), (ids.ADMIN_VERIFY, verify),
                               (ids.ADMIN_RETIRE, retire), (ids.ADMIN_RESTORE, restore),
                               (ids.ADMIN_MERGE, merge), (ids.ADMIN_NUDGE, nudge),
                               (ids.ADMIN_FIND, find)):
        app.action(action_id)(ack=ack_only, lazy=[admin_only(handler, click)])

    # -- modals --------------------------------------------------------------------------------
    def check_admin_view(body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is None:
            ack()  # malformed: the lazy part ignores it too
            return
        if not admins.is_admin(submitted.user):
            ack(response_action="errors", errors={submitted.first_block_id or "x": REFUSED})
            log.warning("refused a non-admin", extra={"user": submitted.user,
                                                      "view": submitted.callback_id})
            return
        ack()

    def save_entry(submitted: Submission, client: WebClient) -> None:
        if not deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return
        entry_id = submitted.number or 0
        tags = tuple(submitted.text(ids.ENTRY_TAGS).split(","))
        fields = {"question": submitted.text(ids.ENTRY_QUESTION),
                  "answer": submitted.text(ids.ENTRY_ANSWER), "tags": tags}
        if submitted.private_metadata.startswith("approve:"):
            entry = curator.approve(entry_id, submitted.user, **fields)
            dm_author(client, entry.answered_by, trim(
                f":white_check_mark: Your answer to “{escape(entry.question)}” was approved "
                "(with an admin's edits) and is now in the knowledge base. Thank you!", 3000))
        else:
            curator.edit(entry_id, submitted.user,
                         visibility=submitted.text(ids.ENTRY_VISIBILITY) or "public", **fields)

    def save_rejection(submitted: Submission, client: WebClient) -> None:
        if not deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return
        reason = submitted.text(ids.REJECT_REASON)
        entry = curator.reject(submitted.number or 0, submitted.user, reason)
        dm_author(client, entry.answered_by, trim(
            f"Your answer to “{escape(entry.question)}” was not added to the knowledge base. "
            f"The reviewer said: {escape(reason)}", 3000))

    def search_entries(body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is None or not admins.is_admin(submitted.user):
            ack(response_action="errors", errors={ids.FIND_TEXT: REFUSED})
            return
        query = submitted.text(ids.FIND_TEXT).strip()
        ack(response_action="update", view=found_modal(query, curator.find(query)))

    app.view(ids.ADMIN_ENTRY_MODAL)(ack=check_admin_view,
                                    lazy=[admin_only(save_entry, submission)])
    app.view(ids.ADMIN_REJECT_MODAL)(ack=check_admin_view,
                                     lazy=[admin_only(save_rejection, submission)])
    app.view(ids.ADMIN_FIND_MODAL)(search_entries)

    # -- an expert's own settings (anyone may set their own) ----------------------------------
    def open_topics(body: dict[str, Any], client: WebClient) -> None:
        if (pressed := click(body)) is not None:
            open_modal(deps.questions, client, pressed, topics_modal(experts.topics(pressed.user)))

    def open_away(body: dict[str, Any], client: WebClient) -> None:
        if (pressed := click(body)) is not None:
            today = deps.questions.store.clock().date()
            open_modal(deps.questions, client, pressed, away_modal(today))

    def back(body: dict[str, Any], client: WebClient) -> None:
        if (pressed := click(body)) is not None:
            experts.set_away(pressed.user, None)
            home.publish(client, pressed.user)

    def save_topics(body: dict[str, Any], client: WebClient) -> None:
        if (submitted := submission(body)) is not None:
            experts.set_topics(submitted.user, submitted.text(ids.EXPERT_TOPICS_INPUT).split(","))
            home.publish(client, submitted.user)

    def check_away(body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        picked = submitted.picked_date(ids.EXPERT_AWAY_DATE) if submitted else None
        if picked is None or picked < deps.questions.store.clock().date():
            ack(response_action="errors", errors={ids.EXPERT_AWAY_DATE: "Pick today or a "
                                                  "later day."})
            return
        ack()

    def save_away(body: dict[str, Any], client: WebClient) -> None:
        if (submitted := submission(body)) is None:
            return
        picked = submitted.picked_date(ids.EXPERT_AWAY_DATE)
        if picked is not None:
            until = datetime.combine(picked + timedelta(days=1), time(0), tzinfo=UTC)
            experts.set_away(submitted.user, until)
        home.publish(client, submitted.user)

    app.action(ids.EXPERT_TOPICS)(ack=ack_only, lazy=[open_topics])
    app.action(ids.EXPERT_AWAY)(ack=ack_only, lazy=[open_away])
    app.action(ids.EXPERT_BACK)(ack=ack_only, lazy=[back])
    app.view(ids.EXPERT_TOPICS_MODAL)(ack=ack_only, lazy=[save_topics])
    app.view(ids.EXPERT_AWAY_MODAL)(ack=check_away, lazy=[save_away])

    # -- the author of a stale entry confirms it ----------------------------------------------
    def owner_verify(body: dict[str, Any], client: WebClient) -> None:
        pressed = click(body)
        if pressed is None:
            return
        try:
            entry = deps.questions.store.get_entry(pressed.number or 0)
        except NotFound:
            return
        if pressed.user != entry.answered_by and not admins.is_admin(pressed.user):
            refuse(client, pressed.user, pressed.response_url, "owner_verify")
            return
        curator.verify(entry.id, pressed.user)
        tell(client, pressed.user, pressed.response_url,
             ":white_check_mark: Thanks! Marked as verified.")

    app.action(ids.OWNER_VERIFY)(ack=ack_only, lazy=[owner_verify])
