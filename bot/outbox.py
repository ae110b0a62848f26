"""Where a reply goes: a thread, a direct message, or an ephemeral reply through response_url.

Each outbox raises `PostFailed` (with Slack's error code) when the reply could not be
delivered after the client's retries, saying whether the failure was passing (rate limited,
5xx, a dropped connection: worth queueing and trying again later) or permanent (not_in_channel,
is_archived, ...: tell the asker elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from http.client import HTTPException
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack_client import webhook

# Slack's error codes that mean "try again later" even when they come with HTTP 200.
PASSING_ERRORS = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error",
                            "service_unavailable", "request_timeout"})
# What goes wrong on the wire: refused or dropped connections, timeouts, broken responses.
WIRE_ERRORS = (OSError, HTTPException)


class PostFailed(Exception):
    """Slack refused or never took a reply; `code` is Slack's error (e.g. not_in_channel) and
    `transient` says whether trying again later may work."""

    def __init__(self, code: str, transient: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient

    @classmethod
    def from_error(cls, error: BaseException) -> PostFailed:
        return cls(error_code(error), is_transient(error))


def error_code(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"http_{error.response.status_code}")
    return type(error).__name__


def is_transient(error: BaseException) -> bool:
    """True for failures that may go away by themselves: 429, 5xx, Slack's own "try later"
    errors, and connection problems. Everything else (not_in_channel, invalid_blocks, a bad
    request we built) is permanent."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        return status == 429 or status >= 500 or error.response.get("error") in PASSING_ERRORS
    return isinstance(error, WIRE_ERRORS)


class Outbox(Protocol):
    """Posts a card and says where it went (channel and ts; None for ephemeral replies)."""

    private: bool  # only the asker reads it (a DM or an ephemeral reply)
    echo_question: bool  # the asker's words are not visible next to the reply
    channel: str | None

    def post(self, text: str, blocks: list[dict]) -> str | None: ...


def _post(client: WebClient, **kwargs) -> str:
    if not kwargs.get("blocks"):
        kwargs.pop("blocks", None)  # text only
    try:
        return client.chat_postMessage(**kwargs, unfurl_links=False, unfurl_media=False)["ts"]
    except (SlackClientError, *WIRE_ERRORS) as error:
        raise PostFailed.from_error(error) from error


@dataclass
class ThreadReply:
    """A reply in a channel thread, or in a DM (threaded only when the question was)."""

    client: WebClient
    channel: str
    thread_ts: str | None
    private: bool = False
    echo_question: bool = False

    def post(self, text: str, blocks: list[dict]) -> str | None:
        return _post(self.client, channel=self.channel, thread_ts=self.thread_ts, text=text,
                     blocks=blocks)

    def find(self, block_id: str, after_ts: str | None) -> Found | None:
        """A message of ours here (after `after_ts`) with a block whose id starts with
        `block_id`, if any."""
        return _find(self.client, self.channel, self.thread_ts, block_id, after_ts)


@dataclass
class DirectMessage:
    """A message in the bot's DM with one person."""

    client: WebClient
    user: str
    channel: str | None = None
    private: bool = True
    echo_question: bool = True

    def post(self, text: str, blocks: list[dict]) -> str | None:
        if self.channel is None:
            try:
                opened = self.client.conversations_open(users=self.user)
            except (SlackClientError, *WIRE_ERRORS) as error:
                raise PostFailed.from_error(error) from error
            self.channel = opened["channel"]["id"]
        return _post(self.client, channel=self.channel, text=text, blocks=blocks)

    def find(self, block_id: str, after_ts: str | None) -> Found | None:
        """The same in the DM (only when this process opened it)."""
        if self.channel is None:
            return None  # never opened by this process: nothing to look at cheaply
        return _find(self.client, self.channel, None, block_id, after_ts)


@dataclass
class EphemeralReply:
    """A reply only the asker sees, through the slash command's response_url.

    It works in any conversation, even where the bot is not a member.
    """

    response_url: str
    channel: str | None
    private: bool = True
    echo_question: bool = True

    def post(self, text: str, blocks: list[dict]) -> str | None:
        send(self.response_url, text=text, blocks=blocks, response_type="ephemeral",
             replace_original=False)
        return None


@dataclass(frozen=True)
class Found:
    """A message already in Slack."""

    ts: str
    blocks: list[dict]


def _find(client: WebClient, channel: str, thread_ts: str | None, block_id: str,
          after_ts: str | None, most: int = 200) -> Found | None:
    """Look through the thread (or the conversation's recent history) for a bot message with a
    block whose id starts with `block_id`. Slack errors count as "not found": the caller then
    posts, as it would have anyway."""
    try:
        if thread_ts:
            page = client.conversations_replies(channel=channel, ts=thread_ts, limit=most)
        else:
            page = client.conversations_history(channel=channel, oldest=after_ts or "0",
                                                limit=most)
    except (SlackClientError, *WIRE_ERRORS):
        return None
    for message in page.get("messages") or []:
        blocks = message.get("blocks") or []
        if message.get("bot_id") and any(str(b.get("block_id", "")).startswith(block_id)
                                         for b in blocks):
            return Found(str(message.get("ts")), blocks)
    return None


def send(response_url: str, **message) -> None:
    """Post to a response_url; PostFailed if Slack does not take it."""
    try:
        response = webhook(response_url).send(**message)
    except (SlackClientError, *WIRE_ERRORS) as error:
        raise PostFailed.from_error(error) from error
    if response.status_code != 200:
        status = response.status_code
        raise PostFailed(f"http_{status}: {response.body[:100]}",
                         transient=status == 429 or status >= 500)
