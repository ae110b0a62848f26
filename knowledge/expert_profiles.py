"""People who answer: their declared topics, user-group topics, time zone, "away until" and
deactivation, as the bot learns them from Slack and from the people themselves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from knowledge.models import format_time, parse_time
from knowledge.store import Store


@dataclass(frozen=True)
class ExpertPrefs:
    user: str
    away_until: datetime | None = None
    daily_cap: int | None = None  # None: the organisation's default
    tz: str | None = None
    tz_offset: int | None = None  # seconds east of UTC, from Slack's users.info
    deactivated: bool = False



class ExpertBook:
    """Reads and writes what we know about experts."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def prefs(self, user: str) -> ExpertPrefs:
        rows = self.store.query("SELECT * FROM expert_prefs WHERE user = ?", [user])
        if not rows:
            return ExpertPrefs(user)
        row = rows[0]
        return ExpertPrefs(
            user=user,
            away_until=parse_time(row["away_until"]) if row["away_until"] else None,
            daily_cap=row["daily_cap"],
            tz=row["tz"],
            tz_offset=row["tz_offset"],
            deactivated=bool(row["deactivated"]),
        )

    def _set(self, user: str, **values: object) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        with self.store.transaction():
            self.store.db.execute(
                f"INSERT INTO expert_prefs (user, {columns}, updated_at) VALUES (?, {marks}, ?) "
                f"ON CONFLICT(user) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
                [user, *values.values(), format_time(self.store.clock())],
            )

    def set_away(self, user: str, until: datetime | None) -> None:
        self._set(user, away_until=format_time(until) if until else None)

    def set_daily_cap(self, user: str, cap: int | None) -> None:
        self._set(user, daily_cap=cap)

    def set_timezone(self, user: str, tz: str | None, offset: int | None) -> None:
        self._set(user, tz=tz, tz_offset=offset)

    def set_deactivated(self, user: str, deactivated: bool = True) -> None:
        self._set(user, deactivated=int(deactivated))

    def departed(self) -> set[str]:
        """People whose Slack account is deactivated: they stay in the history as evidence for
        their questions' topics, but are never suggested."""
        return {r["user"] for r in self.store.query(
            "SELECT user FROM expert_prefs WHERE deactivated = 1")}

    def topics(self, user: str) -> list[str]:
        rows = self.store.query(
            "SELECT topic FROM expert_topics WHERE user = ? ORDER BY topic", [user]
        )
        return [r["topic"] for r in rows]

    def set_topics(self, user: str, topics: Iterable[str]) -> list[str]:
        """Replace the topics `user` declares (trimmed, lower-cased, deduplicated)."""
        clean = sorted({t.strip().lower() for t in topics if t.strip()})
        now = format_time(self.store.clock())
        with self.store.transaction():
            self.store.db.execute("DELETE FROM expert_topics WHERE user = ?", [user])
            self.store.db.executemany(
                "INSERT INTO expert_topics (user, topic, created_at) VALUES (?, ?, ?)",
                [(user, topic, now) for topic in clean],
            )
        return clean

    def map_group(self, group_id: str, handle: str | None, topic: str) -> None:
        """An admin says: members of this Slack user group know about `topic`."""
        with self.store.transaction():
            self.store.db.execute(
                "INSERT INTO group_topics (group_id, handle, topic) VALUES (?, ?, ?) "
                "ON CONFLICT (group_id, topic) DO UPDATE SET handle = excluded.handle",
                [group_id, handle, topic.strip().lower()],
            )

    def group_topics(self) -> list[tuple[str, str | None, str]]:
        rows = self.store.query("SELECT group_id, handle, topic FROM group_topics ORDER BY topic")
        return [(r["group_id"], r["handle"], r["topic"]) for r in rows]

    def set_group_members(self, group_id: str, users: Iterable[str]) -> None:
        with self.store.transaction():
            self.store.db.execute("DELETE FROM group_members WHERE group_id = ?", [group_id])
            self.store.db.executemany(
                "INSERT INTO group_members (group_id, user) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(group_id, u) for u in users],
            )

    def all_topics(self) -> list[str]:
        rows = self.store.query(
            "SELECT topic FROM expert_topics UNION SELECT topic FROM group_topics ORDER BY 1"
        )
        return [r["topic"] for r in rows]
