"""Runs the escalation ladder: every few seconds, escalate what is overdue.

The ladder's state and deadlines are in SQLite, so after a restart the first tick picks up
exactly where the last process stopped.
"""

from __future__ import annotations

import logging
import threading

from bot.routing import ExpertRouter

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, router: ExpertRouter, interval_seconds: float = 20.0) -> None:
        self.router = router
        self.interval = interval_seconds
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
                moved = self.router.tick()
                if moved:
                    log.info("escalated", extra={"ladders": moved})
            except Exception:
                log.exception("escalation tick failed")
            self._stop.wait(self.interval)
