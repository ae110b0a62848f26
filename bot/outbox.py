"""Where a reply goes: a thread, a direct message, or an ephemeral reply through response_url.

Each outbox raises `PostFailed` (with Slack's error code) when the reply could not be
delivered after the client's retries, so the caller can record it and tell the asker elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack_client import webhook


class PostFailed(Exception):
    """Slack refused or never took a reply; `code` is Slack's error (e.g. not_in_channel)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"http_{error.response.status_code}")
    return type(error).__name__


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
    except (SlackApiError, SlackClientError) as error:
        raise PostFailed(error_code(error)) from error


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
            except (SlackApiError, SlackClientError) as error:
                raise PostFailed(error_code(error)) from error
            self.channel = opened["channel"]["id"]
        return _post(self.client, channel=self.channel, text=text, blocks=blocks)


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


def send(response_url: str, **message) -> None:
    """Post to a response_url; PostFailed if Slack does not take it."""
    try:
        response = webhook(response_url).send(**message)
    except SlackClientError as error:
        raise PostFailed(error_code(error)) from error
    if response.status_code != 200:
        raise PostFailed(f"http_{response.status_code}: {response.body[:100]}")
