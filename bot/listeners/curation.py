"""Curation from the App Home: the review queue, find/edit/retire/restore/verify, merges and
nudges, an entry's phrasings (listed, removed), and the stale entry's author confirming it.

Every admin action is checked on the server, whatever the UI showed: a non-admin gets a clear
refusal and nothing changes. Every change goes through the Curator, which audits it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.admin import Admins
from bot.blocks.admin import entry_modal, find_modal, found_modal, phrasings_modal, reject_modal
from bot.deps import BotDeps
from bot.listeners import ack_only, guarded, open_modal, tell
from bot.nudges import nudge_author
from bot.outbox import DirectMessage, PostFailed
from bot.parse import Click, Submission, click, is_user_id, submission
from bot.slack_text import escape, trim
from knowledge.curation import Curator
from knowledge.errors import NotFound, SwitchboardError

log = logging.getLogger(__name__)
REFUSED = "Sorry, only Switchboard admins can do that. Nothing was changed."
APPROVED = (":white_check_mark: Your answer to “{question}” was approved{edited} and is now in "
            "the knowledge base. Thank you!")
REJECTED = ("Your answer to “{question}” was not added to the knowledge base. The reviewer "
            "said: {reason}")


class Curation:
    """The admin's buttons and modals; each handler gets a parsed click or submission."""

    def __init__(self, deps: BotDeps, admins: Admins) -> None:
        self.deps = deps
        self.admins = admins
        self.curator = Curator(deps.questions.store)

    def admin_only(self, handler: Callable[[Any, WebClient], None],
                   parse: Callable[[Any], Click | Submission | None]):
        """`handler(parsed, client)` for admins only, then their Home refreshed (retried while
        Slack is down); anyone else is refused, a malformed payload ignored, a domain error
        told privately."""
        def run(body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
            parsed = parse(body)
            if parsed is None:
                log.warning("ignored a malformed admin request")
                return
            response_url = getattr(parsed, "response_url", None)
            if not self.admins.is_admin(parsed.user):
                log.warning("refused a non-admin", extra={"user": parsed.user,
                                                          "action": handler.__name__})
                tell(client, parsed.user, response_url, REFUSED)
                return
            try:
                handler(parsed, client)
            except SwitchboardError as error:
                tell(client, parsed.user, response_url, str(error))
            self.deps.publish_home(client, parsed.user)
        run.__name__ = handler.__name__
        return guarded(run)

    def dm_author(self, client: WebClient, who: str | None, text: str) -> None:
        if who and is_user_id(who):
            try:
                DirectMessage(client, who).post(trim(text, 3000), [])
            except PostFailed as failed:
                log.info("could not DM the author", extra={"user": who, "error": failed.code})

    # -- buttons -------------------------------------------------------------------------------
    def approve(self, pressed: Click, client: WebClient) -> None:
        entry = self.curator.approve(pressed.number or 0, pressed.user)
        self.dm_author(client, entry.answered_by,
                       APPROVED.format(question=escape(entry.question), edited=""))

    def edit(self, pressed: Click, client: WebClient) -> None:
        store = self.deps.questions.store
        entry = store.get_entry(pressed.number or 0)
        mode = "approve" if pressed.value.startswith("approve:") else "edit"
        phrasings = store.phrasings.counts([entry.id]).get(entry.id, 0)
        open_modal(self.deps.questions, client, pressed, entry_modal(entry, mode, phrasings))

    def reject(self, pressed: Click, client: WebClient) -> None:
        entry = self.deps.questions.store.get_entry(pressed.number or 0)
        open_modal(self.deps.questions, client, pressed, reject_modal(entry))

    def verify(self, pressed: Click, client: WebClient) -> None:
        self.curator.verify(pressed.number or 0, pressed.user)

    def retire(self, pressed: Click, client: WebClient) -> None:
        self.curator.retire(pressed.number or 0, pressed.user)

    def restore(self, pressed: Click, client: WebClient) -> None:
        self.curator.restore(pressed.number or 0, pressed.user)

    def merge(self, pressed: Click, client: WebClient) -> None:
        keep, _, fold = pressed.value.partition(":")
        if keep.isdigit() and fold.isdigit() and len(keep) <= 18 and len(fold) <= 18:
            self.curator.merge(int(keep), int(fold), pressed.user)

    def nudge(self, pressed: Click, client: WebClient) -> None:
        entry = self.deps.questions.store.get_entry(pressed.number or 0)
        nudge_author(client, self.curator, entry, manual=True)

    def find(self, pressed: Click, client: WebClient) -> None:
        open_modal(self.deps.questions, client, pressed, find_modal())

    def phrasings(self, pressed: Click, client: WebClient) -> None:
        store = self.deps.questions.store
        entry = store.get_entry(pressed.number or 0)
        open_modal(self.deps.questions, client, pressed,
                   phrasings_modal(entry, store.phrasings.of_entry(entry.id)))

    def remove_phrasing(self, pressed: Click, client: WebClient) -> None:
        """Stop using a phrasing (audited), then show the list without it where it was."""
        store = self.deps.questions.store
        removed = store.phrasings.remove(pressed.number or 0, pressed.user)
        if pressed.in_modal and pressed.view_id:
            entry = store.get_entry(removed.entry_id)
            client.views_update(view_id=pressed.view_id,
                                view=phrasings_modal(entry, store.phrasings.of_entry(entry.id)))

    # -- modals --------------------------------------------------------------------------------
    def check_admin_view(self, body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is not None and not self.admins.is_admin(submitted.user):
            log.warning("refused a non-admin", extra={"user": submitted.user,
                                                      "view": submitted.callback_id})
            ack(response_action="errors", errors={submitted.first_block_id or "x": REFUSED})
            return
        ack()  # a malformed one is ignored by the lazy part too

    def save_entry(self, submitted: Submission, client: WebClient) -> None:
        if not self.deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return
        entry_id = submitted.number or 0
        fields = {"question": submitted.text(ids.ENTRY_QUESTION),
                  "answer": submitted.text(ids.ENTRY_ANSWER),
                  "tags": tuple(submitted.text(ids.ENTRY_TAGS).split(","))}
        if submitted.private_metadata.startswith("approve:"):
            entry = self.curator.approve(entry_id, submitted.user, **fields)
            self.dm_author(client, entry.answered_by, APPROVED.format(
                question=escape(entry.question), edited=" (with an admin's edits)"))
        else:
            self.curator.edit(entry_id, submitted.user,
                              visibility=submitted.text(ids.ENTRY_VISIBILITY) or "public",
                              **fields)

    def save_rejection(self, submitted: Submission, client: WebClient) -> None:
        if not self.deps.questions.claim_delivery(f"view:{submitted.view_id}"):
            return
        reason = submitted.text(ids.REJECT_REASON)
        entry = self.curator.reject(submitted.number or 0, submitted.user, reason)
        self.dm_author(client, entry.answered_by,
                       REJECTED.format(question=escape(entry.question), reason=escape(reason)))

    def search_entries(self, body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        if submitted is None or not self.admins.is_admin(submitted.user):
            ack(response_action="errors", errors={ids.FIND_TEXT: REFUSED})
            return
        query = submitted.text(ids.FIND_TEXT).strip()
        found = self.curator.find(query)
        counts = self.deps.questions.store.phrasings.counts(entry.id for entry in found)
        ack(response_action="update", view=found_modal(query, found, counts))

    # -- the author of a stale entry confirms it ----------------------------------------------
    def owner_verify(self, body: dict[str, Any], client: WebClient,
                     context: dict[str, Any]) -> None:
        pressed = click(body)
        if pressed is None:
            return
        try:
            entry = self.deps.questions.store.get_entry(pressed.number or 0)
        except NotFound:
            return
        if pressed.user != entry.answered_by and not self.admins.is_admin(pressed.user):
            log.warning("refused a non-admin", extra={"user": pressed.user,
                                                      "action": "owner_verify"})
            tell(client, pressed.user, pressed.response_url, REFUSED)
            return
        self.curator.verify(entry.id, pressed.user)
        tell(client, pressed.user, pressed.response_url,
             ":white_check_mark: Thanks! Marked as verified.")


def register(app: App, deps: BotDeps, admins: Admins) -> None:
    curation = Curation(deps, admins)
    buttons = {ids.ADMIN_APPROVE: curation.approve, ids.ADMIN_EDIT: curation.edit,
               ids.ADMIN_REJECT: curation.reject, ids.ADMIN_VERIFY: curation.verify,
               ids.ADMIN_RETIRE: curation.retire, ids.ADMIN_RESTORE: curation.restore,
               ids.ADMIN_MERGE: curation.merge, ids.ADMIN_NUDGE: curation.nudge,
               ids.ADMIN_FIND: curation.find, ids.ADMIN_PHRASINGS: curation.phrasings,
               ids.ADMIN_REMOVE_PHRASING: curation.remove_phrasing}
    for action_id, handler in buttons.items():
        app.action(action_id)(ack=ack_only, lazy=[curation.admin_only(handler, click)])
    app.view(ids.ADMIN_ENTRY_MODAL)(ack=curation.check_admin_view,
                                    lazy=[curation.admin_only(curation.save_entry, submission)])
    app.view(ids.ADMIN_REJECT_MODAL)(
        ack=curation.check_admin_view,
        lazy=[curation.admin_only(curation.save_rejection, submission)])
    app.view(ids.ADMIN_FIND_MODAL)(curation.search_entries)
    app.action(ids.OWNER_VERIFY)(ack=ack_only, lazy=[guarded(curation.owner_verify)])
