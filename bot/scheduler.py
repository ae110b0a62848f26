"""Runs the bot's timed work: every tick, recover unanswered questions and queued deliveries,
then escalate what is overdue; once an hour, maintenance.

The state of all of it (questions, the retry queue, the ladder) is in SQLite, so after a
restart the first tick, run at once, picks up exactly where the last process stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.experts import ExpertRouter

log = logging.getLogger(__name__)
TICK_SECONDS = 20.0  # the ladder's SLAs are minutes; a retried reply waits 10 s at least


class Scheduler:
    """Ticks `recover`, the ladder and `background` (work kept out of requests, e.g. the
    admin Home's insights) every `interval_seconds`, and runs `hourly` (group refresh,
    stale-entry nudges) once an hour."""

    def __init__(self, router: ExpertRouter | None, interval_seconds: float = TICK_SECONDS,
                 hourly: Callable[[], object] | None = None,
                 recover: Callable[[], object] | None = None,
                 background: Callable[[], object] | None = None) -> None:
        self.router = router
        self.interval = interval_seconds
        self.hourly = hourly
        self.recover = recover
        self.background = background
        self._last_hourly = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ladder", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.recover is not None:
                try:
                    self.recover()
                except Exception:  # the next tick tries again; the traceback says why
                    log.exception("recovery tick failed")
            try:
                moved = self.router.tick() if self.router is not None else 0
                if moved:
                    log.info("escalated", extra={"ladders": moved})
            except Exception:
                log.exception("escalation tick failed")
            if self.background is not None:
                try:
                    self.background()
                except Exception:
                    log.exception("background work failed")
            if self.hourly is not None and time.monotonic() - self._last_hourly >= 3600:
                self._last_hourly = time.monotonic()
                try:
                    self.hourly()
                except Exception:
                    log.exception("hourly maintenance failed")
            self._stop.wait(self.interval)
