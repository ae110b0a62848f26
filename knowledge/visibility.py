"""Who may see which entry, given who will read a reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knowledge.models import Visibility


def _nobody(_: str) -> bool:
    return False


@dataclass(frozen=True)
class Audience:
    """The readers of a reply: the asker alone (a DM or ephemeral message), or a channel."""

    user: str
    channel: str | None
    private: bool
    member_of: Callable[[str], bool] = _nobody  # is `user` in this channel? (asked lazily)


def can_see(visibility: Visibility, audience: Audience) -> bool:
    """Whether an entry with `visibility` may be shown to `audience`.

    Public entries go anywhere. A channel's entries may be shown in that channel (all its
    readers are members) or privately to one of its members. Entries for named users are shown
    only privately, and only to those users.
    """
    if visibility.is_public:
        return True
    if visibility.scope == "channel":
        channel = visibility.members[0]
        if audience.channel == channel:
            return True
        return audience.private and audience.member_of(channel)
    if visibility.scope == "users":
        return audience.private and audience.user in visibility.members
    return False
