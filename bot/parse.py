"""Slack payloads parsed at the edge into small frozen dataclasses: no dicts past here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Message subtypes that are still a person talking (others are joins, edits, bots, ...).
_PERSON_SUBTYPES = {None, "", "thread_broadcast", "file_share"}


@dataclass(frozen=True)
class MessageIn:
    """A message someone posted where the bot can see it."""

    user: str
    text: str
    channel: str
    channel_type: str  # channel, group, im, mpim ("channel" when Slack does not say)
    ts: str
    thread_ts: str | None
    mentions_bot: bool

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im"


def message_in(event: dict[str, Any], bot_user_id: str | None) -> MessageIn | None:
    """The person's message in an `app_mention` or `message` event; None for anything else
    (bot posts, our own posts, joins, edits and deletions are handled elsewhere or ignored)."""
    if event.get("bot_id") or event.get("subtype") not in _PERSON_SUBTYPES:
        return None
    user = event.get("user")
    if not user or user == bot_user_id or not event.get("channel") or not event.get("ts"):
        return None
    text = event.get("text") or ""
    return MessageIn(
        user=user,
        text=text,
        channel=event["channel"],
        channel_type=event.get("channel_type") or _kind_from_id(event["channel"]),
        ts=event["ts"],
        thread_ts=event.get("thread_ts"),
        mentions_bot=event.get("type") == "app_mention"
        or bool(bot_user_id and f"<@{bot_user_id}" in text),
    )


def _kind_from_id(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


@dataclass(frozen=True)
class MessageEdit:
    channel: str
    ts: str
    user: str | None
    new_text: str
    edited_ts: str  # when it was edited: tells two edits of one message apart


def message_edit(event: dict[str, Any]) -> MessageEdit | None:
    """A person's edit of an earlier message (subtype message_changed)."""
    if event.get("subtype") != "message_changed":
        return None
    message = event.get("message") or {}
    previous = event.get("previous_message") or {}
    if message.get("bot_id") or message.get("text") == previous.get("text"):
        return None  # a bot's message, or an edit that did not change the text (e.g. unfurls)
    edited = (message.get("edited") or {}).get("ts") or event.get("event_ts") or ""
    return MessageEdit(event.get("channel", ""), message.get("ts", ""), message.get("user"),
                       message.get("text") or "", edited)


@dataclass(frozen=True)
class MessageDeletion:
    channel: str
    ts: str


def message_deletion(event: dict[str, Any]) -> MessageDeletion | None:
    if event.get("subtype") != "message_deleted" or not event.get("deleted_ts"):
        return None
    return MessageDeletion(event.get("channel", ""), event["deleted_ts"])


@dataclass(frozen=True)
class ButtonPress:
    """A click on one of the answer card's buttons."""

    user: str
    action_id: str
    question_id: int
    entry_id: int | None
    channel: str | None
    message_ts: str | None
    ephemeral: bool
    trigger_id: str | None


def button_press(body: dict[str, Any], action: dict[str, Any]) -> ButtonPress | None:
    """The click, with its question and entry ids; None if the value is not ours."""
    question, _, entry = str(action.get("value", "")).partition(":")
    if not question.isdigit() or (entry and not entry.isdigit()):
        return None
    container = body.get("container") or {}
    return ButtonPress(
        user=(body.get("user") or {}).get("id", ""),
        action_id=action.get("action_id", ""),
        question_id=int(question),
        entry_id=int(entry) if entry and int(entry) else None,
        channel=container.get("channel_id") or (body.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts"),
        ephemeral=bool(container.get("is_ephemeral")),
        trigger_id=body.get("trigger_id"),
    )


@dataclass(frozen=True)
class ShortcutAsk:
    """"Ask Switchboard" chosen on a message."""

    user: str
    text: str
    channel: str
    message_ts: str
    thread_ts: str | None
    trigger_id: str


def shortcut_ask(body: dict[str, Any]) -> ShortcutAsk:
    message = body.get("message") or {}
    return ShortcutAsk(
        user=(body.get("user") or {}).get("id", ""),
        text=message.get("text") or "",
        channel=(body.get("channel") or {}).get("id", ""),
        message_ts=message.get("ts", "") or body.get("message_ts", ""),
        thread_ts=message.get("thread_ts"),
        trigger_id=body.get("trigger_id", ""),
    )


def modal_text(view: dict[str, Any], block_id: str, action_id: str) -> str:
    """The text typed into one input of a submitted modal."""
    values = (view.get("state") or {}).get("values") or {}
    return ((values.get(block_id) or {}).get(action_id) or {}).get("value") or ""
