"""Who may curate: Slack user ids named in SWITCHBOARD_ADMINS and members of the user group in
SWITCHBOARD_ADMIN_GROUP. Checked on the server for every admin request."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
GROUP_TTL_SECONDS = 300


class Admins:
    def __init__(self, client: WebClient, users: frozenset[str] = frozenset(),
                 group: str | None = None, clock=time.monotonic) -> None:
        self.client = client
        self.users = users
        self.group = group
        self.clock = clock
        self._members: tuple[float, frozenset[str]] | None = None
        self._lock = threading.Lock()

    def is_admin(self, user: str | None) -> bool:
        if not user:
            return False
        return user in self.users or (self.group is not None and user in self._group_members())

    def _group_members(self) -> frozenset[str]:
        with self._lock:
            cached = self._members
        if cached is not None and self.clock() - cached[0] < GROUP_TTL_SECONDS:
            return cached[1]
        try:
            members = frozenset(self.client.usergroups_users_list(usergroup=self.group)["users"])
        except SlackApiError as error:
            log.warning("could not read the admin group", extra={
                "group": self.group, "error": error.response.get("error")})
            return cached[1] if cached else frozenset()
        with self._lock:
            self._members = (self.clock(), members)
        return members
