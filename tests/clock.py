"""A clock a test (or a benchmark) moves by hand, injected wherever the code takes a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TUESDAY_TEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # the demo experts are at work


class ManualClock:
    """Returns `now`; `advance` moves it on."""

    def __init__(self, now: datetime = TUESDAY_TEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float = 0.0, **delta: float) -> datetime:
        """Move on by `minutes` (and/or timedelta keywords such as seconds=61)."""
        self.now += timedelta(minutes=minutes, **delta)
        return self.now
