"""What routing tells people, and where: the request DM to an expert (with only what that expert
may see), notes to the asker in their thread, and updates of earlier messages."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.expert import ExpertRequest, request_blocks, request_text
from bot.blocks.kit import context
from bot.outbox import DirectMessage, Outbox, PostFailed, ThreadReply, error_code
from bot.people import People
from bot.slack_text import escape
from knowledge.escalation import Route
from knowledge.questions import Question, QuestionBook
from knowledge.store import Store
from knowledge.visibility import Audience, can_see

log = logging.getLogger(__name__)


class ExpertMessages:
    """Builds and sends routing's messages to experts and askers."""

    def __init__(self, client: WebClient, questions: QuestionBook, people: People) -> None:
        self.client = client
        self.questions = questions
        self.people = people
        self.store: Store = questions.store

    def name(self, user: str) -> str:
        return self.people.name(user) or user

    def names(self, users: list[str]) -> str:
        """"a", "a and b", "a, b and c" (escaped display names)."""
        names = [escape(self.name(user)) for user in users]
        if len(names) <= 1:
            return "".join(names)
        return ", ".join(names[:-1]) + " and " + names[-1]

    def request(self, question: Question, route: Route, *,
                reasons: tuple[str, ...] | None = None) -> ExpertRequest:
        """The request DM's content for `route`'s expert."""
        # What the asker was shown, as far as the expert may see it: the request is a DM to
        # the expert, so an entry restricted to the asker or to a channel the expert is not in
        # must not leak through its title.
        expert = Audience(user=route.expert, channel=None, private=True,
                          member_of=lambda channel: self.people.is_member(route.expert, channel))
        shown = self.questions.shown_hits(question.id)
        entries = self.store.get_entries(h.entry_id for h in shown)
        found = tuple(entries[h.entry_id].question for h in shown if h.entry_id in entries
                      and can_see(entries[h.entry_id].visibility, expert))
        return ExpertRequest(
            route_id=route.id, question=question.full_text, asker=self.name(question.asker),
            channel=question.channel if question.channel_kind in ("public", "private") else None,
            link=self.link(question), found=found, reasons=reasons or route.reasons,
            suggested_by=self.name(route.suggested_by) if route.suggested_by else None)

    def send_request(self, question: Question, route: Route,
                     reasons: tuple[str, ...] | None = None) -> tuple[str, str]:
        """DM the request to the expert; (channel, ts), or PostFailed."""
        request = self.request(question, route, reasons=reasons)
        outbox = DirectMessage(self.client, route.expert)
        ts = outbox.post(request_text(request), request_blocks(request))
        return outbox.channel or "", ts or ""

    def link(self, question: Question) -> str | None:
        """A link to where the question was asked, when there is one anybody could open."""
        if question.source_link:
            return question.source_link
        if question.channel_kind in ("public", "private") and question.message_ts:
            return self.people.permalink(question.channel, question.message_ts)
        return None

    def asker_outbox(self, question: Question) -> Outbox:
        """Where the asker reads about their question: its thread, their DM, or a new DM."""
        if question.reply_channel and question.reply_ts and question.channel_kind != "im":
            return ThreadReply(self.client, question.reply_channel,
                               question.thread_ts or question.reply_ts)
        if question.reply_channel and question.channel_kind == "im":
            return ThreadReply(self.client, question.reply_channel, question.thread_ts,
                               private=True)
        return DirectMessage(self.client, question.asker)

    def tell_asker(self, question: Question, text: str) -> None:
        try:
            self.asker_outbox(question).post(text, [context(text)])
        except PostFailed as failed:
            log.info("could not update the asker", extra={"question_id": question.id,
                                                          "error": failed.code})

    def settle_dm(self, route: Route, note: str) -> None:
        """Replace the buttons of `route`'s request DM with `note`."""
        if not route.dm_channel or not route.dm_ts:
            return
        request = self.request(self.questions.get(route.question_id), route)
        self.update(route.dm_channel, route.dm_ts, request_text(request),
                    request_blocks(request, note))

    def remind(self, route: Route) -> None:
        """A reminder in the request DM's thread (after a snooze)."""
        request = self.request(self.questions.get(route.question_id), route)
        try:
            self.client.chat_postMessage(
                channel=route.dm_channel, thread_ts=route.dm_ts,
                text="A reminder: this question is still waiting for you.",
                blocks=request_blocks(request))
        except (SlackApiError, SlackClientError) as error:
            log.info("could not remind", extra={"route": route.id, "error": error_code(error)})

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackApiError, SlackClientError) as error:
            log.info("could not update a message", extra={"channel": channel,
                                                          "error": error_code(error)})
