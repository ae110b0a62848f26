"""`switchboard import-slack CHANNEL`: a channel's answered threads become candidate entries.

A thread whose question got a reply from someone other than the asker becomes an entry waiting
for review: the question is the thread's first message, the answer that person's replies,
`answered_by` that person, the source a link to the thread. Customer details are redacted.
Progress is saved after every page of history, so an interrupted import resumes where it
stopped; entries are keyed by thread, so running it again never duplicates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.people import People
from bot.slack_text import question_from_message
from knowledge.errors import SwitchboardError
from knowledge.importing import ChannelImport, ChannelImports
from knowledge.models import EntryDraft, EntryKind, EntryStatus, Visibility
from knowledge.redaction import redact
from knowledge.store import Store

log = logging.getLogger(__name__)
PAGE = 200
MAX_ANSWER_REPLIES = 5
SKIPPED_SUBTYPES = {"channel_join", "channel_leave", "bot_message", "channel_topic",
                    "channel_purpose", "channel_name", "pinned_item"}


class SlackImportError(SwitchboardError):
    """Slack refused the import (the bot is not in the channel, a bad id, ...)."""


@dataclass
class ImportProgress:
    threads: int = 0  # threads looked at in this run
    candidates: int = 0  # entries created or updated
    resumed: bool = False


class HistoryImporter:
    def __init__(self, client: WebClient, store: Store, page_size: int = PAGE,
                 on_thread: Callable[[ImportProgress], None] | None = None) -> None:
        self.client = client
        self.store = store
        self.page_size = page_size
        self.on_thread = on_thread
        self.imports = ChannelImports(store)
        self.people = People(client)

    def run(self, channel: str, oldest: datetime | None = None,
            restart: bool = False) -> ImportProgress:
        info = self._call("conversations.info", channel=channel)["channel"]
        private = bool(info.get("is_private"))
        state = self.imports.get(channel)
        if restart or state is None or state.done:
            cursor = None
            since = f"{oldest.timestamp():.6f}" if oldest else (
                state.oldest if state and not restart else None)
            self.imports.save(ChannelImport(channel, None, since, 0, 0, done=False))
            progress = ImportProgress()
        else:  # an interrupted run: go on from the last saved page
            cursor, since = state.cursor, state.oldest
            progress = ImportProgress(state.threads, state.candidates, resumed=True)
        newest = since
        while True:
            page = self._call("conversations.history", channel=channel, cursor=cursor,
                              oldest=since, limit=self.page_size)
            drafts = []
            for message in page.get("messages") or []:
                newest = max(newest or "0", message.get("ts", "0"), key=float)
                draft = self._candidate(channel, message, private)
                progress.threads += 1 if _is_thread(message) else 0
                if draft is not None:
                    drafts.append(draft)
                if self.on_thread:
                    self.on_thread(progress)
            if drafts:
                result = self.store.upsert_entries(drafts, actor="import-slack")
                progress.candidates += len(result.created) + len(result.updated)
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            done = cursor is None
            self.imports.save(ChannelImport(channel, cursor, newest if done else since,
                                            progress.threads, progress.candidates, done))
            if cursor is None:
                return progress

    def _candidate(self, channel: str, message: dict, private: bool) -> EntryDraft | None:
        if (not _is_thread(message) or message.get("bot_id")
                or message.get("subtype") in SKIPPED_SUBTYPES):
            return None
        asker = message.get("user")
        replies = self._call("conversations.replies", channel=channel,
                             ts=message["ts"]).get("messages") or []
        answerer, parts = None, []
        for reply in replies[1:]:
            who = reply.get("user")
            if reply.get("bot_id") or not who or who == asker:
                if answerer and who == asker:
                    break  # the asker spoke again: the answer so far is what we keep
                continue
            if answerer is None:
                answerer = who
            if who != answerer or len(parts) >= MAX_ANSWER_REPLIES:
                break
            parts.append(question_from_message(reply.get("text") or "", None))
        question = question_from_message(message.get("text") or "", None)
        answer = "\n".join(p for p in parts if p)
        if not answerer or not question or not answer:
            return None
        link = self.people.permalink(channel, message["ts"])
        visibility = Visibility("channel", (channel,)) if private else Visibility()
        return EntryDraft(
            question=redact(question).text, answer=redact(answer).text,
            kind=EntryKind.CASE, answered_by=answerer, source_url=link,
            status=EntryStatus.PENDING_REVIEW, visibility=visibility,
            external_id=f"slack:{channel}:{message['ts']}",
            created_at=datetime.fromtimestamp(float(message["ts"]), UTC),
        )

    def _call(self, method: str, **args) -> dict:
        try:
            return self.client.api_call(method, http_verb="GET",
                                        params={k: v for k, v in args.items() if v is not None})
        except SlackApiError as error:
            code = error.response.get("error")
            hint = {"not_in_channel": "invite @Switchboard to the channel first",
                    "channel_not_found": "use the channel's id (e.g. C0123ABC), and invite "
                                         "@Switchboard if it is private",
                    "missing_scope": "reinstall the app with the scopes in manifest.yml"}
            raise SlackImportError(
                f"Slack refused {method} ({code}): {hint.get(code, 'see the logs')}. "
                "What was imported so far is kept; run the command again to resume."
            ) from error


def _is_thread(message: dict) -> bool:
    return bool(message.get("reply_count")) or message.get("thread_ts") == message.get("ts")
