"""The knowledge base's value types: entries, their kinds, statuses and visibility."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from knowledge.errors import InvalidInput


class EntryKind(StrEnum):
    """Where an entry's answer came from."""

    CASE = "case"  # a past resolved customer case
    EXPERT_ANSWER = "expert_answer"  # an answer an expert gave to a routed question
    ARTICLE = "article"  # a written knowledge article


class EntryStatus(StrEnum):
    """An entry's place in its life cycle; only published entries are searchable."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    RETIRED = "retired"


_SLACK_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,49}$", re.IGNORECASE)


@dataclass(frozen=True)
class Visibility:
    """Who may see an entry: everyone, members of one channel, or a list of users.

    Written as text: ``public``, ``channel:C0123`` or ``users:U01,U02``.
    """

    scope: str = "public"
    members: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Visibility:
        raw = (text or "").strip()
        if raw in ("", "public"):
            return cls()
        scope, _, rest = raw.partition(":")
        members = tuple(m.strip() for m in rest.split(",") if m.strip())
        if scope not in ("channel", "users") or not members:
            raise InvalidInput(
                f"visibility {raw!r} is not understood: use 'public', 'channel:C0123' "
                "or 'users:U01,U02'."
            )
        if scope == "channel" and len(members) != 1:
            raise InvalidInput(f"visibility {raw!r} names more than one channel: name exactly one.")
        bad = [m for m in members if not _SLACK_ID.match(m)]
        if bad:
            raise InvalidInput(f"visibility {raw!r}: {bad[0]!r} is not a Slack id.")
        return cls(scope=scope, members=members)

    @property
    def is_public(self) -> bool:
        return self.scope == "public"

    def __str__(self) -> str:
        return "public" if self.is_public else f"{self.scope}:{','.join(self.members)}"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """The storage form of a time: ISO 8601 in UTC with a trailing Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Read an ISO 8601 date or time (naive times are taken as UTC)."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"time {raw!r} is not ISO 8601: use e.g. 2024-05-01 or 2024-05-01T09:30:00Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class EntryDraft:
    """What is needed to create or update an entry; the store adds ids, times and counts."""

    question: str
    answer: str
    kind: EntryKind = EntryKind.CASE
    answered_by: str | None = None
    tags: tuple[str, ...] = ()
    source_url: str | None = None
    status: EntryStatus = EntryStatus.PUBLISHED
    visibility: Visibility = field(default_factory=Visibility)
    external_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Entry:
    """One piece of knowledge: a question and its answer, with provenance and usage."""

    id: int
    question: str
    answer: str
    kind: EntryKind
    answered_by: str | None
    tags: tuple[str, ...]
    source_url: str | None
    status: EntryStatus
    visibility: Visibility
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    verified_by: str | None = None
    verified_at: datetime | None = None
    usage_count: int = 0
    helpful_count: int = 0
    not_helpful_count: int = 0
    merged_into: int | None = None  # retired by merging into this entry
    extra_links: tuple[str, ...] = ()  # sources of entries merged into this one

    @property
    def is_searchable(self) -> bool:
        return self.status is EntryStatus.PUBLISHED
