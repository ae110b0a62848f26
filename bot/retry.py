"""The recovery pass, run at start and on every scheduler tick.

- Questions stored and acknowledged but never answered (the process died, a worker was lost,
  or a reply is waiting in the retry queue and its backoff is over) are answered again, each
  through the usual reply claim, so exactly one process posts it. A recovered answer older than
  the policy's `late_after` comes with an apology; questions older than `give_up_after` are
  marked expired and nothing is posted (a day-old answer out of the blue helps nobody).
- Home tabs that Slack could not take for a passing reason are published again, from fresh
  data, until they go through or are an hour old (the Home is rebuilt whenever it is opened).

Where a recovered answer goes is rebuilt from the stored question: the thread it was asked in
(mention, DM), the slash command's response_url while it is valid (30 minutes), otherwise a
direct message to the asker (shortcut, Home modal, an /ask whose response_url has expired).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering import Answerer
from bot.outbox import (
    WIRE_ERRORS,
    DirectMessage,
    EphemeralReply,
    Outbox,
    ThreadReply,
    error_code,
    is_transient,
)
from knowledge.deliveries import DeliveryQueue
from knowledge.questions import Question, QuestionSource

log = logging.getLogger(__name__)
LATE_NOTE = ("Sorry this answer comes late: I was interrupted while looking it up "
             "(question #{id}, asked {minutes} minutes ago).")
RESPONSE_URL_LIFETIME = timedelta(minutes=29)  # Slack keeps a response_url for 30 minutes
HOME_MAX_AGE = timedelta(hours=1)
BATCH = 20  # questions recovered per tick, so one tick never blocks the ladder for long

PublishHome = Callable[[WebClient, str], None]


@dataclass(frozen=True)
class RecoveryTick:
    """What one pass did."""

    answered: int = 0
    late: int = 0
    expired: int = 0
    still_waiting: int = 0
    homes: int = 0
    routed: int = 0

    def __bool__(self) -> bool:
        return any((self.answered, self.expired, self.homes, self.routed))


def home_key(user: str) -> str:
    return f"home:{user}"


class Recovery:
    """Answers orphaned questions and retries queued Home publishes."""

    def __init__(self, answerer: Answerer, publish: PublishHome, batch: int = BATCH,
                 route: Callable[[Question], None] | None = None) -> None:
        self.answerer = answerer
        self.route = route  # expert routing, when it is on
        self.questions = answerer.questions
        self.orphans = answerer.orphans
        self.deliveries: DeliveryQueue = answerer.deliveries
        self.policy = answerer.policy
        self._publish = publish
        self.batch = batch

    def tick(self, client: WebClient) -> RecoveryTick:
        """One pass over what is due."""
        expired = self.orphans.expire()
        for question_id in expired:
            log.warning("question expired unanswered", extra={"question_id": question_id})
        answered = late = waiting = 0
        for question in self.orphans.find(self.batch):
            now = self.questions.store.clock()
            note = None
            if self.policy.is_late(question, now):
                minutes = int((now - question.created_at).total_seconds() // 60)
                note = LATE_NOTE.format(id=question.id, minutes=minutes)
            log.info("recovering a question", extra={"question_id": question.id,
                                                     "source": question.source.value})
            posted = self.answerer.answer(client, question, self.outbox_for(client, question),
                                          note=note, look_first=True)
            if posted.card is not None or posted.question.reply_ts is not None:
                answered += 1
                late += note is not None
            elif self.deliveries.get(f"reply:{question.id}") is not None:
                waiting += 1
        homes = self._retry_homes(client)
        return RecoveryTick(answered, late, len(expired), waiting, homes, self._route_unrouted())

    def _route_unrouted(self) -> int:
        """Route the questions a dead process left waiting for a person with no ladder."""
        if self.route is None:
            return 0
        routed = 0
        for question in self.orphans.unrouted(self.batch):
            log.info("routing a question left unrouted", extra={"question_id": question.id})
            try:
                self.route(question)
            except Exception:  # the next tick tries again; the traceback says why
                log.exception("routing failed", extra={"question_id": question.id})
                continue
            routed += 1
        return routed

    def outbox_for(self, client: WebClient, question: Question) -> Outbox:
        """Where the reply to a stored question goes, rebuilt from what was stored."""
        if question.source is QuestionSource.MENTION and question.channel:
            return ThreadReply(client, question.channel, question.thread_ts)
        if question.source is QuestionSource.DM and question.channel:
            return ThreadReply(client, question.channel, question.thread_ts, private=True)
        if question.source is QuestionSource.COMMAND:
            url = self.orphans.response_url(question.id)
            fresh = self.questions.store.clock() - question.created_at < RESPONSE_URL_LIFETIME
            if url and fresh:
                return EphemeralReply(url, question.channel)
        return DirectMessage(client, question.asker)

    def publish_home(self, client: WebClient, user: str) -> None:
        """Publish someone's Home; a passing failure queues it for a retry instead of raising."""
        try:
            self._publish(client, user)
        except (SlackApiError, *WIRE_ERRORS) as error:
            if not is_transient(error):
                raise
            pending = self.deliveries.defer(home_key(user), "home", error_code(error), user=user)
            log.warning("home publish queued for a retry", extra={
                "user": user, "error": error_code(error), "attempts": pending.attempts})
            return
        if self.deliveries.get(home_key(user)) is not None:
            self.deliveries.done(home_key(user))  # the queued retry is not needed any more

    def _retry_homes(self, client: WebClient) -> int:
        published = 0
        for pending in self.deliveries.due("home", self.batch):
            if self.questions.store.clock() - pending.created_at > HOME_MAX_AGE:
                log.info("gave up a queued home publish", extra={"user": pending.user})
                self.deliveries.done(pending.key)
                continue
            if pending.user is None or not self.deliveries.take(pending):
                continue
            try:
                self._publish(client, pending.user)
            except (SlackApiError, *WIRE_ERRORS) as error:
                if is_transient(error):
                    self.deliveries.defer(pending.key, "home", error_code(error),
                                          user=pending.user)
                else:
                    log.warning("could not publish a home", extra={
                        "user": pending.user, "error": error_code(error)})
                    self.deliveries.done(pending.key)
                continue
            self.deliveries.done(pending.key)
            published += 1
        return published
