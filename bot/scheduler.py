"""Runs the escalation ladder: every few seconds, escalate what is overdue.

The ladder's state and deadlines are in SQLite, so after a restart the first tick picks up
exactly where the last process stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.routing import ExpertRouter

log = logging.getLogger(__name__)


class Scheduler:
    """Ticks the ladder every `interval_seconds`, and runs `hourly` (stale-entry nudges) once an
    hour."""

    def __init__(self, router: ExpertRouter | None, interval_seconds: float = 20.0,
                 hourly: Callable[[], object] | None = None) -> None:
        self.router = router
        self.interval = interval_seconds
        self.hourly = hourly
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
            try:
                moved = self.router.tick() if self.router is not None else 0
                if moved:
                    log.info("escalated", extra={"ladders": moved})
            except Exception:
                log.exception("escalation tick failed")
            if self.hourly is not None and time.monotonic() - self._last_hourly >= 3600:
                self._last_hourly = time.monotonic()
                try:
                    self.hourly()
                except Exception:
                    log.exception("hourly maintenance failed")
            self._stop.wait(self.interval)
