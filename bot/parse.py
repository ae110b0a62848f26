"""Slack payloads parsed at the edge into small frozen dataclasses: no dicts past here.

Anyone holding the signing secret can send any JSON, and Slack itself sends text no database
takes as is (a lone surrogate is a valid JSON escape). So every parser here accepts *any* value
and returns either a typed value whose fields were checked (ids look like Slack ids, timestamps
like Slack timestamps, URLs like URLs, text is storable) or None: "malformed, acknowledge it and
do nothing". Nothing here raises, whatever it is given (tests/bot/test_parse.py throws arbitrary
JSON at every parser).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from knowledge.text import storable

# Message subtypes that are still a person talking (others are joins, edits, bots, ...).
_PERSON_SUBTYPES = {None, "", "thread_broadcast", "file_share"}
SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{1,40}\Z")  # U…, W…, C…, G…, D…, B…, T…, S…
SLACK_TS = re.compile(r"[1-9]\d{0,11}\.\d{1,9}\Z")  # seconds.microseconds, never "0" or "abc"
MAX_TEXT = 50_000  # Slack caps a message at 40,000 characters
MAX_SHORT = 255  # action ids, values, callback ids, private metadata are short in Slack


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = MAX_SHORT) -> str | None:
    """A string within `limit` characters, made storable; None for anything else."""
    if not isinstance(value, str) or len(value) > limit:
        return None
    return storable(value)


def slack_id(value: Any) -> str | None:
    """`value` if it is shaped like a Slack id (user, channel, team, group)."""
    return value if isinstance(value, str) and SLACK_ID.match(value) else None


def is_user_id(value: Any) -> bool:
    """Whether `value` is a person's Slack id (U… or W…), not an imported name."""
    return slack_id(value) is not None and value[0] in "UW"


def slack_ts(value: Any) -> str | None:
    """`value` if it is shaped like a Slack message timestamp."""
    return value if isinstance(value, str) and SLACK_TS.match(value) else None


def _url(value: Any) -> str | None:
    text = _str(value, 2_000)
    return text if text and text.startswith(("https://", "http://")) else None


def _text(value: Any) -> str:
    return _str(value, MAX_TEXT) or ""


def _user(body: dict[str, Any]) -> str | None:
    """The person behind an interaction (`user.id`) or a slash command (`user_id`)."""
    return slack_id(_dict(body.get("user")).get("id")) or slack_id(body.get("user_id"))


@dataclass(frozen=True)
class Actor:
    """Whoever a payload is from, and where a private note to them can go (either may be
    missing in a malformed payload)."""

    user: str | None
    response_url: str | None


def actor(body: Any) -> Actor:
    body = _dict(body)
    return Actor(_user(body), _url(body.get("response_url")))


# -- messages --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageIn:
    """A message someone posted where the bot can see it."""

    user: str
    text: str
    channel: str
    channel_type: str | None  # channel, group, im, mpim; None: Slack did not say (app_mention)
    ts: str
    thread_ts: str | None
    mentions_bot: bool
    event_type: str  # app_mention or message

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im"


def message_in(event: Any, bot_user_id: str | None) -> MessageIn | None:
    """The person's message in an `app_mention` or `message` event; None for anything else
    (bot posts, our own posts, joins, edits and deletions are handled elsewhere or ignored)."""
    event = _dict(event)
    subtype = event.get("subtype")
    if event.get("bot_id") or not (subtype is None or isinstance(subtype, str)) \
            or subtype not in _PERSON_SUBTYPES:
        return None
    user, channel = slack_id(event.get("user")), slack_id(event.get("channel"))
    ts, thread_ts = slack_ts(event.get("ts")), event.get("thread_ts")
    if not user or user == bot_user_id or not channel or not ts:
        return None
    if thread_ts is not None and slack_ts(thread_ts) is None:
        return None  # Slack never sends a thread_ts that is not a message's ts
    text = _text(event.get("text"))
    kind = event.get("channel_type")
    return MessageIn(
        user=user, text=text, channel=channel,
        channel_type=kind if kind in ("channel", "group", "im", "mpim")
        else "im" if channel.startswith("D") else None,
        ts=ts, thread_ts=thread_ts,
        mentions_bot=event.get("type") == "app_mention"
        or bool(bot_user_id and f"<@{bot_user_id}" in text),
        event_type="app_mention" if event.get("type") == "app_mention" else "message",
    )


@dataclass(frozen=True)
class MessageEdit:
    channel: str
    ts: str
    user: str | None
    new_text: str
    edited_ts: str  # when it was edited: tells two edits of one message apart


def message_edit(event: Any) -> MessageEdit | None:
    """A person's edit of an earlier message (subtype message_changed)."""
    event = _dict(event)
    if event.get("subtype") != "message_changed":
        return None
    message, previous = _dict(event.get("message")), _dict(event.get("previous_message"))
    channel, ts = slack_id(event.get("channel")), slack_ts(message.get("ts"))
    if not channel or not ts or message.get("bot_id"):
        return None
    text = _text(message.get("text"))
    if text == _text(previous.get("text")):
        return None  # an edit that did not change the text (e.g. unfurls)
    edited = (_str(_dict(message.get("edited")).get("ts")) or _str(event.get("event_ts"))
              or "")
    return MessageEdit(channel, ts, slack_id(message.get("user")), text, edited)


@dataclass(frozen=True)
class MessageDeletion:
    channel: str
    ts: str


def message_deletion(event: Any) -> MessageDeletion | None:
    event = _dict(event)
    if event.get("subtype") != "message_deleted":
        return None
    channel, ts = slack_id(event.get("channel")), slack_ts(event.get("deleted_ts"))
    return MessageDeletion(channel, ts) if channel and ts else None


@dataclass(frozen=True)
class HomeOpened:
    user: str


def home_opened(event: Any) -> HomeOpened | None:
    """Someone opened the bot's Home tab (not its Messages or About tab)."""
    event = _dict(event)
    user = slack_id(event.get("user"))
    return HomeOpened(user) if user and event.get("tab", "home") == "home" else None


@dataclass(frozen=True)
class UserChange:
    """Slack says a person's account changed; `deleted`: it is deactivated (they left)."""

    user: str
    deleted: bool


def user_change(event: Any) -> UserChange | None:
    """A `user_change` event: whose account, and whether it is deactivated now."""
    person = _dict(_dict(event).get("user"))
    user, deleted = person.get("id"), person.get("deleted")
    if not is_user_id(user) or not isinstance(deleted, bool):
        return None
    return UserChange(user, deleted)


# -- clicks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Click:
    """A click on a button (block_actions): who, which button, and the message it was on."""

    user: str
    action_id: str
    value: str
    action_ts: str
    channel: str | None  # the conversation of the message the button was on
    message_ts: str | None  # None for an ephemeral message or a view
    ephemeral: bool
    in_modal: bool  # clicked inside an open modal (a new view is pushed on top)
    trigger_id: str | None
    response_url: str | None
    view_id: str | None = None  # the view the button was in (to update that modal in place)

    @property
    def number(self) -> int | None:
        """The value as a positive id (`"12"` or `"edit:12"` or `"#12"`), if it is one."""
        raw = self.value.rpartition(":")[2].lstrip("#")
        return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def click(body: Any) -> Click | None:
    body = _dict(body)
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    user, action_id = _user(body), _str(action.get("action_id"))
    if not user or not action_id:
        return None
    container = _dict(body.get("container"))
    channel = (slack_id(container.get("channel_id"))
               or slack_id(_dict(body.get("channel")).get("id")))
    return Click(
        user=user, action_id=action_id, value=_str(action.get("value"), 2_000) or "",
        action_ts=_str(action.get("action_ts")) or "",
        channel=channel, message_ts=slack_ts(container.get("message_ts")),
        ephemeral=container.get("is_ephemeral") is True,
        in_modal=container.get("type") == "view" and _dict(body.get("view")).get("type")
        == "modal",
        trigger_id=_str(body.get("trigger_id")), response_url=_url(body.get("response_url")),
        view_id=slack_id(_dict(body.get("view")).get("id")),
    )


@dataclass(frozen=True)
class ButtonPress:
    """A click on one of the answer card's buttons (value `question:entry`)."""

    click: Click
    question_id: int
    entry_id: int | None

    @property
    def user(self) -> str:
        return self.click.user


def button_press(body: Any) -> ButtonPress | None:
    """The click, with its question and entry ids; None if the value is not ours."""
    pressed = click(body)
    if pressed is None:
        return None
    question, _, entry = pressed.value.partition(":")
    if not _small_number(question) or (entry and not _small_number(entry)):
        return None
    return ButtonPress(pressed, int(question), int(entry) if entry and int(entry) else None)


def _small_number(text: str) -> bool:
    return text.isdigit() and len(text) <= 18


# -- shortcuts and commands ------------------------------------------------------------------
@dataclass(frozen=True)
class MessageShortcut:
    """A message shortcut ("Ask Switchboard", "Save as answer") chosen on a message."""

    user: str
    channel: str
    trigger_id: str
    response_url: str | None
    text: str  # the message's text
    message_ts: str
    thread_ts: str | None
    author: str | None  # who wrote the message (None for a bot's message)


def message_shortcut(body: Any) -> MessageShortcut | None:
    body = _dict(body)
    message = _dict(body.get("message"))
    user, channel = _user(body), slack_id(_dict(body.get("channel")).get("id"))
    ts = slack_ts(message.get("ts")) or slack_ts(body.get("message_ts"))
    trigger = _str(body.get("trigger_id"))
    thread_ts = message.get("thread_ts")
    if not user or not channel or not ts or not trigger or (
            thread_ts is not None and slack_ts(thread_ts) is None):
        return None
    return MessageShortcut(
        user=user, channel=channel, trigger_id=trigger,
        response_url=_url(body.get("response_url")), text=_text(message.get("text")),
        message_ts=ts, thread_ts=thread_ts,
        author=None if message.get("bot_id") else slack_id(message.get("user")))


@dataclass(frozen=True)
class SlashCommand:
    user: str
    text: str
    channel: str | None
    channel_kind: str  # public, private, im (Slack's channel_name says which)
    trigger_id: str
    response_url: str | None


def slash_command(command: Any) -> SlashCommand | None:
    command = _dict(command)
    user, trigger = slack_id(command.get("user_id")), _str(command.get("trigger_id"))
    if not user or not trigger:
        return None
    kind = {"directmessage": "im", "privategroup": "private"}.get(
        _str(command.get("channel_name")) or "", "public")
    return SlashCommand(user, _text(command.get("text")), slack_id(command.get("channel_id")),
                        kind, trigger, _url(command.get("response_url")))


# -- modals ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submission:
    """A submitted modal: who, which view, and what was typed or picked in it."""

    user: str
    view_id: str
    callback_id: str
    private_metadata: str
    first_block_id: str | None
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(repr=False)

    def _input(self, block_id: str, action_id: str) -> Mapping[str, Any]:
        return _dict(_dict(self.values.get(block_id)).get(action_id))

    def text(self, block_id: str, action_id: str | None = None) -> str:
        """The text typed into one input ("" when empty or missing)."""
        return _text(self._input(block_id, action_id or block_id).get("value"))

    def picked_user(self, block_id: str, action_id: str) -> str | None:
        return slack_id(self._input(block_id, action_id).get("selected_user"))

    def picked_date(self, block_id: str, action_id: str | None = None) -> date | None:
        raw = _str(self._input(block_id, action_id or block_id).get("selected_date"), 10)
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    @property
    def number(self) -> int | None:
        """private_metadata as an id (`"12"` or `"route:12"`), if it is one."""
        raw = self.private_metadata.rpartition(":")[2].lstrip("#")
        return int(raw) if _small_number(raw) else None


def submission(body: Any) -> Submission | None:
    body = _dict(body)
    view = _dict(body.get("view"))
    user, view_id = _user(body), _str(view.get("id"))
    if not user or not view_id:
        return None
    values = _dict(_dict(view.get("state")).get("values"))
    blocks = view.get("blocks")
    first = _dict(blocks[0]).get("block_id") if isinstance(blocks, list) and blocks else None
    return Submission(user, view_id, _str(view.get("callback_id")) or "",
                      _str(view.get("private_metadata"), 3_000) or "", _str(first), values)

