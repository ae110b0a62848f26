"""Nudges: a DM asking an entry's author to check that it is still right, at most weekly per
entry (an admin's button, and the hourly pass over entries that need a look)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot import ids
from bot.blocks.kit import button, section
from bot.outbox import DirectMessage, PostFailed
from bot.parse import is_user_id
from bot.slack_text import escape
from knowledge.curation import Curator, StalenessRules
from knowledge.models import Entry

log = logging.getLogger(__name__)


def nudge_author(client: WebClient, curator: Curator, entry: Entry, manual: bool = False) -> bool:
    """DM an entry's author to check it (at most once a week per entry); True if sent."""
    who = entry.answered_by
    if not who or not is_user_id(who) or not curator.nudge_due(entry.id, who):
        return False
    text = (f"Could you check that your answer to “{escape(entry.question)}” is still right? "
            "People may be relying on it.")
    blocks = [section(text, button("Still correct", ids.OWNER_VERIFY, str(entry.id)))]
    try:
        DirectMessage(client, who).post(text[:3000], blocks)
    except PostFailed as failed:
        log.info("could not nudge", extra={"entry_id": entry.id, "error": failed.code})
        return False
    log.info("nudged an author", extra={"entry_id": entry.id, "user": who, "manual": manual})
    return True


def nudge_stale(client: WebClient, curator: Curator, rules: StalenessRules) -> int:
    """DM the authors of entries that need a look (each at most weekly); returns how many."""
    return sum(nudge_author(client, curator, stale.entry)
               for stale in curator.stale(rules, limit=200))
