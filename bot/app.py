"""Builds the Bolt app: one Web API client (retries, SLACK_API_BASE_URL), the listeners, logging.

Every listener is split in two (Bolt's lazy listeners): a quick part that stores what arrived
and acknowledges Slack well inside its 3 seconds, and a lazy part, run on a worker thread,
that searches and replies. What a lazy part could not finish (a crash, a Slack storm) is picked
up by the recovery pass on the scheduler's ticks (bot/retry.py).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin import Admins
from bot.answering import Answerer, Faults
from bot.deps import BotDeps
from bot.experts import ExpertRouter
from bot.home import HomePublisher
from bot.listeners import actions, commands, curation, events, expert_settings, shortcuts, views
from bot.listeners import experts as expert_listeners
from bot.nudges import nudge_stale
from bot.parse import is_user_id
from bot.people import People
from bot.retry import Recovery, RecoveryTick
from bot.scheduler import TICK_SECONDS
from bot.slack_client import web_client
from index.search import HybridSearch
from knowledge.curation import Curator, StalenessRules
from knowledge.deliveries import Backoff, DeliveryQueue
from knowledge.expert_profiles import ExpertBook
from knowledge.questions import QuestionBook
from knowledge.recovery import RecoveryPolicy
from knowledge.routing_policy import RoutingPolicy

log = logging.getLogger(__name__)
WORKERS = 8


class WorkerPool(ThreadPoolExecutor):
    """The threads lazy listeners run on, counting the work in flight (for /healthz, for a
    graceful shutdown, and for tests and benchmarks that wait for the bot to be idle)."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, thread_name_prefix="switchboard")
        self._in_flight = 0
        self._changed = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._changed:
            self._in_flight += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: Future | None) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no work is queued or running; False if `timeout` ran out first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout)


QUESTION_VECTORS_PER_TICK = 64  # ~0.5 s of the model per tick, on the scheduler's thread


@dataclass
class BotApp:
    """The Bolt app and what it runs on, so a runner can drain and close it."""

    app: App
    deps: BotDeps
    executor: WorkerPool
    router: ExpertRouter | None = None
    home: HomePublisher | None = None
    staleness: StalenessRules = field(default_factory=StalenessRules)
    recovery: Recovery | None = None
    tick_seconds: float = TICK_SECONDS

    def background(self) -> None:
        """Work kept out of requests, each scheduler tick: the search indexes brought up to date
        with the change log (what another replica or the CLI changed), the admin Home's cached
        insights, and a few question-alone vectors an older database still lacks."""
        entries = self.deps.answerer.search.entries
        entries.sync()  # and the lexical index that follows it (its companion)
        if self.home is not None:
            self.home.refresh_insights()
        entries.fill_question_vectors(limit=QUESTION_VECTORS_PER_TICK)

    def recover(self) -> RecoveryTick:
        """Answer orphaned questions and retry queued deliveries (one scheduler tick)."""
        if self.recovery is None:
            return RecoveryTick()
        done = self.recovery.tick(self.app.client)
        if done:
            log.info("recovered", extra=asdict(done))
        return done

    def refresh_groups(self) -> int:
        """Re-read the members of the user groups mapped to topics; returns how many groups."""
        experts = ExpertBook(self.deps.questions.store)
        refreshed = 0
        for group_id in {g for g, _, _ in experts.group_topics()}:
            try:
                users = self.app.client.usergroups_users_list(usergroup=group_id)["users"]
            except SlackApiError as error:
                log.warning("could not read a user group", extra={
                    "group": group_id, "error": error.response.get("error")})
                continue
            experts.set_group_members(group_id, users)
            refreshed += 1
        return refreshed

    def recheck_departed(self) -> int:
        """Ask Slack again about the people marked as gone: a failed DM marks someone gone
        without Slack saying so, and a missed `user_change` never comes again. Whoever is an
        active person again is suggested again; returns how many came back."""
        experts = ExpertBook(self.deps.questions.store)
        back = 0
        for user in sorted(u for u in experts.departed() if is_user_id(u)):
            self.deps.people.forget(user)
            profile = self.deps.people.profile(user)
            if profile and not profile.get("deleted") and not profile.get("is_bot"):
                experts.set_deactivated(user, False)
                log.info("account active again", extra={"user": user})
                back += 1
        return back

    def hourly(self) -> None:
        """This replica's indexes are saved (a restart is quick, the change log can be pruned);
        the shared work runs on one replica an hour, whichever claims the hour first."""
        self.deps.answerer.search.entries.checkpoint()
        hour = self.deps.questions.store.clock().strftime("%Y-%m-%dT%H")
        if not self.deps.questions.claim_delivery(f"hourly:{hour}"):
            return
        self.refresh_groups()
        self.recheck_departed()
        self.nudge_stale()
        self.refit_routing()

    def refit_routing(self) -> None:
        """Refit routing's ranker on this organisation's history when it changed enough (on the
        scheduler's thread: a refit never holds up a question; rankers read the stored fit)."""
        if self.router is None:
            return
        fit = self.router.fitter.refit_if_stale()
        if fit is not None:
            log.info("routing refitted", extra={
                "fitted": fit.fitted, "reason": fit.reason,
                "outcomes": fit.outcome_fit.reason if fit.outcome_fit else None})

    def nudge_stale(self) -> int:
        """DM the authors of entries that need a look (each at most weekly); returns how many."""
        return nudge_stale(self.app.client, Curator(self.deps.questions.store), self.staleness)

    def drain(self) -> None:
        """Let the answers already being worked on finish (graceful shutdown)."""
        self.executor.shutdown(wait=True, cancel_futures=False)


def build_app(search: HybridSearch, *, token: str, signing_secret: str | None,
              base_url: str | None = None, client: WebClient | None = None,
              socket_mode: bool = False, workers: int = WORKERS,
              routing: RoutingPolicy | None = None, admins: frozenset[str] = frozenset(),
              admin_group: str | None = None,
              staleness: StalenessRules | None = None,
              recovery: RecoveryPolicy | None = None, backoff: Backoff | None = None,
              tick_seconds: float = TICK_SECONDS, faults: Faults | None = None) -> BotApp:
    """The app for one workspace. `auth.test` is called once here: a bad token fails now.

    `recovery` says how late questions are recovered, `backoff` how queued deliveries are
    retried, `tick_seconds` how often; `faults` is a test hook (see bot.answering.FAULT_POINTS).
    """
    client = client or web_client(token, base_url)
    executor = WorkerPool(workers)
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=not socket_mode,
        process_before_response=True,  # the quick part runs before the 200; the rest is lazy
        listener_executor=executor,
        logger=logging.getLogger("slack_bolt"),
    )
    questions = QuestionBook(search.store)
    people = People(client, wall_clock=lambda: search.store.clock().timestamp())
    router = None
    if routing is not None:
        router = ExpertRouter(client, search, questions, people, routing)
    answerer = Answerer(questions, search, people,
                        on_unanswered=router.request if router else None,
                        deliveries=DeliveryQueue(search.store, backoff), policy=recovery,
                        faults=faults)
    admin_check = Admins(client, admins, admin_group)
    home = HomePublisher(search, questions, people, admin_check, staleness)
    redelivery = Recovery(answerer, home.publish, route=router.request if router else None)
    deps = BotDeps(answerer=answerer, questions=questions, people=people,
                   on_expert_requested=router.request if router else None,
                   publish_home=redelivery.publish_home)
    for module in (events, commands, actions, shortcuts, views):
        module.register(app, deps)
    if router is not None:
        expert_listeners.register(app, deps, router)
    curation.register(app, deps, admin_check)
    expert_settings.register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed", exc_info=error,
                  extra={"payload_type": body.get("type"), "event_id": body.get("event_id")})

    return BotApp(app, deps, executor, router, home, staleness or StalenessRules(), redelivery,
                  tick_seconds)
