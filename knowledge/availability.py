"""Whether a person can be asked right now, decided from plain facts (working hours in their time
zone, "away until", Do Not Disturb, open questions, a daily cap); the bot supplies what only
Slack knows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from knowledge.expert_profiles import ExpertPrefs


@dataclass(frozen=True)
class AvailabilityRules:
    """When people may be asked (settings; see README "Routing")."""

    work_start: int = 9  # local hour
    work_end: int = 18
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    max_open: int = 3  # routed questions waiting on one person
    daily_cap: int = 5  # requests per person per (UTC) day


def unavailable_because(prefs: ExpertPrefs, *, now: datetime, open_routes: int,
                        asked_today: int, in_dnd: bool, rules: AvailabilityRules) -> str | None:
    """Why `prefs.user` should not be asked now, or None if they can be."""
    if prefs.deactivated:
        return "has left (account deactivated)"
    if prefs.away_until is not None and prefs.away_until > now:
        return f"away until {prefs.away_until:%-d %b %H:%M} UTC"
    if in_dnd:
        return "in Do Not Disturb"
    if prefs.tz_offset is not None:
        local = now + timedelta(seconds=prefs.tz_offset)
        if local.weekday() not in rules.workdays or not (
            rules.work_start <= local.hour < rules.work_end
        ):
            return f"outside working hours ({local:%a %H:%M} local time)"
    if open_routes >= rules.max_open:
        return f"already has {open_routes} open questions"
    cap = prefs.daily_cap if prefs.daily_cap is not None else rules.daily_cap
    if asked_today >= cap:
        return f"reached today's limit of {cap} requests"
    return None
