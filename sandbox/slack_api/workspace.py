"""State of the fake Slack workspace: users, channels, message history, groups, views.

Tests configure it directly (``fake.users[...] = ...``, ``fake.history[channel] = [...]``) or
with the ``add_*`` helpers, which build realistically shaped objects.  ``canned.py`` holds the
method handlers that read and change this state.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from typing import Any

Response = dict[str, Any]
_clock_lock = threading.Lock()
_last_micros = 0


def new_ts() -> str:
    """A unique message timestamp like ``1700000000.000100``, strictly increasing process-wide.

    Wall-clock based and shared by the fake server and the payload builders, so user messages
    and bot replies sort in the order they happened (as conversations.replies relies on).
    """
    global _last_micros
    with _clock_lock:
        _last_micros = max(_last_micros + 100, int(time.time() * 1_000_000) // 100 * 100)
        micros = _last_micros
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class Workspace:
    """State of one fake Slack team.

    Configure it freely from tests: ``users``, ``channels`` (for conversations.info),
    ``history`` (channel -> messages, also fed by chat.postMessage), ``dnd``, ``usergroups``.
    """

    def __init__(self, *, team_id: str = "T1", bot_user_id: str = "UBOT", bot_id: str = "BBOT",
                 app_id: str = "A1", domain: str = "example") -> None:
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.app_id, self.domain = app_id, domain
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.dnd: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.dm_channels: dict[str, str] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self.reactions: set[tuple[str, str, str]] = set()
        # The sandbox's page: who each trigger_id was given to (so views.open/push land in
        # that person's modal stack, bottom first), and every body posted to a /hooks/<name>.
        self.trigger_users: dict[str, str] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.hook_posts: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self.add_user(bot_user_id, "switchboard", "Switchboard", is_bot=True)

    # -- configuration helpers -------------------------------------------------------------
    def next_ts(self) -> str:
        """A fresh message timestamp (see ``new_ts``)."""
        return new_ts()

    def add_user(self, user_id: str, name: str | None = None, real_name: str | None = None, *,
                 tz: str = "America/Los_Angeles", tz_offset: int = -28800, is_bot: bool = False,
                 deleted: bool = False, email: str | None = None) -> dict[str, Any]:
        """Register a user shaped like a users.info ``user`` object and return it."""
        name = name or user_id.lower()
        real_name = real_name or name.title()
        profile = {"real_name": real_name, "display_name": name,
                   "real_name_normalized": real_name, "display_name_normalized": name,
                   "email": email or f"{name}@example.com", "team": self.team_id,
                   "image_48": f"https://avatars.example.com/{user_id}_48.png"}
        user = {"id": user_id, "team_id": self.team_id, "name": name, "real_name": real_name,
                "deleted": deleted, "is_bot": is_bot, "is_app_user": False, "is_admin": False,
                "tz": tz, "tz_label": tz, "tz_offset": tz_offset, "updated": 1_700_000_000,
                "profile": profile}
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str | None = None, *, is_private: bool = False,
                    is_im: bool = False, **extra: Any) -> dict[str, Any]:
        """Register a conversations.info ``channel`` object and return it."""
        channel: dict[str, Any] = {"id": channel_id, "is_channel": not (is_private or is_im),
                                   "is_group": is_private, "is_im": is_im, "is_mpim": False,
                                   "is_private": is_private or is_im, "is_archived": False,
                                   "is_member": True, "created": 1_700_000_000}
        if not is_im:
            channel["name"] = channel["name_normalized"] = name or channel_id.lower()
        channel.update(extra)
        self.channels[channel_id] = channel
        return channel

    def add_message(self, channel: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """Seed a message (e.g. the ``event`` of an app_mention payload) into the history."""
        stored = {"type": "message", **{k: v for k, v in message.items() if k != "channel"}}
        stored.setdefault("ts", self.next_ts())
        stored.pop("event_ts", None)
        if stored.get("type") != "message":
            stored["type"] = "message"
        self.history.setdefault(channel, []).append(stored)
        return stored

    def add_usergroup(self, group_id: str, handle: str, users: list[str],
                      name: str | None = None) -> dict[str, Any]:
        """Register a user group (usergroups.list / usergroups.users.list)."""
        group = {"id": group_id, "team_id": self.team_id, "is_usergroup": True, "handle": handle,
                 "name": name or handle, "description": "", "is_external": False,
                 "date_create": 1_700_000_000, "date_update": 1_700_000_000, "date_delete": 0,
                 "auto_type": None, "created_by": "U0", "users": list(users),
                 "user_count": len(users), "prefs": {"channels": [], "groups": []}}
        self.usergroups[group_id] = group
        return group

    def dm_channel(self, user_id: str) -> str:
        """The stable DM channel id conversations.open returns for this user ("D" + id)."""
        return self.dm_channels.setdefault(user_id, f"D{user_id}")

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message with this ts in this channel, if any."""
        return next((m for m in self.history.get(channel, []) if m.get("ts") == ts), None)

