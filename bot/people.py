"""Who people are in Slack: display names (to show without pinging) and channel membership.

Answers are cached for a while; a failed lookup falls back to showing the raw value.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.outbox import error_code
from bot.parse import is_user_id

log = logging.getLogger(__name__)
TTL_SECONDS = 600


class People:
    """Looks people and memberships up through the Web API, with a small cache."""

    def __init__(self, client: WebClient, clock=time.monotonic, wall_clock=time.time) -> None:
        self.client = client
        self.clock = clock
        self.wall_clock = wall_clock
        self._names: dict[str, tuple[float, str]] = {}
        self._profiles: dict[str, tuple[float, dict]] = {}
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._kinds: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def profile(self, user: str) -> dict | None:
        """users.info's user object (cached), or None when Slack does not know them."""
        cached = self._fresh(self._profiles, user)
        if cached is not None:
            return cached or None
        try:
            found = self.client.users_info(user=user)["user"]
        except SlackApiError as error:
            log.info("users.info failed for %s: %s", user, error.response.get("error"))
            found = {}
        with self._lock:
            self._profiles[user] = (self.clock(), found)
        return found or None

    def forget(self, user: str) -> None:
        """Drop what is cached about someone (e.g. after Slack said their account is gone)."""
        with self._lock:
            self._profiles.pop(user, None)
            self._names.pop(user, None)

    def in_dnd(self, user: str) -> bool:
        """Whether Slack's Do Not Disturb is on for `user` now (False if we cannot tell)."""
        try:
            status = self.client.dnd_info(user=user)
        except SlackApiError as error:
            log.info("dnd.info failed for %s: %s", user, error.response.get("error"))
            return False
        if status.get("snooze_enabled"):
            return True
        start, end = status.get("next_dnd_start_ts"), status.get("next_dnd_end_ts")
        now = self.wall_clock()
        return bool(status.get("dnd_enabled") and start and end and start <= now < end)

    def permalink(self, channel: str | None, ts: str | None) -> str | None:
        if not channel or not ts:
            return None
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except SlackApiError as error:
            log.info("no permalink for %s/%s: %s", channel, ts, error.response.get("error"))
            return None

    def name(self, who: str | None) -> str | None:
        """A display name for a Slack user id; anything else (an imported name) as it is."""
        if not who or not is_user_id(who):
            return who
        cached = self._fresh(self._names, who)
        if cached is not None:
            return cached
        try:
            user = self.client.users_info(user=who)["user"]
        except SlackApiError as error:
            log.info("users.info failed for %s: %s", who, error.response.get("error"))
            with self._lock:  # not a user we can see (or a name that looks like an id)
                self._names[who] = (self.clock(), who)
            return who
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        name = name or user.get("name") or who
        with self._lock:
            self._names[who] = (self.clock(), name)
        return name

    def is_member(self, user: str, channel: str) -> bool:
        """Whether `user` is in `channel` (False when the bot cannot see the channel)."""
        members = self._fresh(self._members, channel)
        if members is None:
            members = frozenset()
            try:
                cursor = None
                while True:
                    page = self.client.conversations_members(channel=channel, cursor=cursor,
                                                             limit=1000)
                    members |= frozenset(page.get("members") or [])
                    cursor = (page.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
            except SlackApiError as error:
                log.info("conversations.members failed for %s: %s", channel,
                         error.response.get("error"))
            with self._lock:
                self._members[channel] = (self.clock(), members)
        return user in members

    def channel_kind(self, channel: str) -> str:
        """"public", "private", "im" or "mpim" for a conversation, from conversations.info
        (cached). When Slack cannot tell us, "private": knowledge captured from a conversation
        we cannot see must not become public."""
        kind = self._fresh(self._kinds, channel)
        if kind is not None:
            return kind
        try:
            info = self.client.conversations_info(channel=channel)["channel"]
        except (SlackApiError, SlackClientError) as error:
            log.info("conversations.info failed for %s: %s", channel, error_code(error))
            return "private"  # not cached: ask again next time
        kind = ("im" if info.get("is_im") else "mpim" if info.get("is_mpim")
                else "private" if info.get("is_private") or info.get("is_group") else "public")
        with self._lock:
            self._kinds[channel] = (self.clock(), kind)
        return kind

    def _fresh(self, cache: dict, key: str):
        with self._lock:
            entry = cache.get(key)
        if entry is None or self.clock() - entry[0] > TTL_SECONDS:
            return None
        return entry[1]
