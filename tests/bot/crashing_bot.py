"""`switchboard run` with a fault hook that kills the process with SIGKILL at a chosen point, for
tests and benchmarks of recovery after a crash.

    python -m tests.bot.crashing_bot POINT [SPARE [LEASE_SECONDS]]

POINT is one of bot.answering.FAULT_POINTS (or "none"); the first SPARE questions (default 0)
reaching it get through, the next one kills the process there. Settings come from the
environment and are used as `switchboard run` uses them (routing, admins, staleness too); the
reply claim lease (default 3 s) and the scheduler tick (0.5 s) are short so that a restarted
process recovers within seconds. (Stored times have whole seconds, so a lease of N s runs out
after N-1 to N s: under load, answering can take longer than a very short lease, and another
worker then takes the question over.)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import timedelta

from bot.answering import FAULT_POINTS
from bot.runner import run
from knowledge.curation import StalenessRules
from knowledge.recovery import RecoveryPolicy
from switchboard import logs
from switchboard.services import Services
from switchboard.settings import Settings

LEASE_SECONDS = 3
TICK_SECONDS = 0.5
# The question's worker reaches the point on another thread while the HTTP acknowledgement may
# still be on its way out; the worker waits this long (holding the point: the claim taken,
# nothing more done) so the ack is not cut off too, which would make Slack's retry, not the
# recovery, the thing under test.
KILL_DELAY_SECONDS = 0.5


class KillAt:
    """Kills this process when the (spare + 1)-th question reaches `point`."""

    def __init__(self, point: str, spare: int) -> None:
        self.point = point
        self.spare = spare
        self._lock = threading.Lock()

    def __call__(self, point: str, question_id: int) -> None:
        if point != self.point:
            return
        with self._lock:
            self.spare -= 1
            if self.spare < 0:
                print(f"killed at {point} #{question_id}", file=sys.stderr, flush=True)
                time.sleep(KILL_DELAY_SECONDS)
                os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(10)  # never reached: SIGKILL cannot be caught


def main(argv: list[str]) -> None:
    point = argv[0] if argv else "none"
    if point != "none" and point not in FAULT_POINTS:
        raise SystemExit(f"POINT must be one of {', '.join(FAULT_POINTS)} or none")
    spare = int(argv[1]) if len(argv) > 1 else 0
    lease = timedelta(seconds=int(argv[2]) if len(argv) > 2 else LEASE_SECONDS)
    settings = Settings.from_env(os.environ)
    logs.configure(settings.log_level, settings.log_format)
    services = Services(settings)
    policy = RecoveryPolicy(late_after=timedelta(minutes=settings.late_answer_minutes),
                            give_up_after=timedelta(hours=settings.give_up_hours), lease=lease)
    try:
        run(services.search, mode=settings.slack_mode(), token=settings.slack_bot_token or "",
            app_token=None, signing_secret=settings.slack_signing_secret,
            base_url=settings.slack_api_base_url, port=settings.port,
            health=lambda: {"indexed": len(services.entry_index.vectors)},
            routing=settings.routing_policy(), admins=settings.admins,
            admin_group=settings.admin_group,
            staleness=StalenessRules(reverify_days=settings.reverify_days),
            recovery=policy, tick_seconds=TICK_SECONDS,
            faults=None if point == "none" else KillAt(point, spare))
    finally:
        services.close()


if __name__ == "__main__":
    main(sys.argv[1:])
