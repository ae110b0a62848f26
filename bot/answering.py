"""Answering a question in Slack: search, post the card, remember what was shown.

The question is already stored when we get here (the listeners store it before anything else).
A claim makes sure only one worker answers it (Slack retries, parallel deliveries, the recovery
pass). A post that fails for a passing reason (rate limit, 5xx, connection) is queued and tried
again later (bot/retry.py); a permanent failure is recorded against the question and, where
possible, the asker gets the answer in a direct message, with advice that fits the error.

Exactly once: the reply claim in SQLite decides who posts, and the reply is recorded right after
the post. Slack's chat.postMessage has no idempotency key, so for the window between Slack taking
the card and the database recording it (the process dying, or a connection timing out), each
card's first block_id names its question, and the recovery pass looks for the card in the thread
or DM before posting (`look_first`). Only an ephemeral reply, which cannot be read back, stays
at-least-once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.answer import (
    AnswerCard,
    CardHit,
    answer_blocks,
    answer_text,
    card_marker,
    posted_card,
)
from bot.outbox import DirectMessage, EphemeralReply, Outbox, PostFailed, error_code, send
from bot.people import People
from index.search import HybridSearch, Tier
from knowledge.deliveries import DeliveryQueue
from knowledge.models import Entry
from knowledge.questions import Question, QuestionBook, ShownHit, Verdict
from knowledge.recovery import Orphans, RecoveryPolicy
from knowledge.visibility import Audience, can_see

log = logging.getLogger(__name__)
SHOWN = 4  # the best answer and up to three more suggestions
# Named moments in answering a question, where tests inject faults (e.g. SIGKILL the process).
FAULT_POINTS = ("received", "claimed", "before_post", "sent", "posted")
Faults = Callable[[str, int], None]  # (point, question id)
# What the asker is told when their answer cannot go where they asked, by Slack's error.
ADVICE = {
    "not_in_channel": "To get answers in that channel, invite me with `/invite @Switchboard`.",
    "channel_not_found": "I can't see that conversation (it may be private to people I'm not "
                         "with, or deleted). Ask me in a channel I'm in, or here.",
    "is_archived": "That channel is archived, so nobody can post there any more.",
    "restricted_action": "Only some people may post in that channel, and I'm not one of them.",
    "restricted_action_read_only_channel": "That channel is read-only for me.",
    "restricted_action_thread_only_channel": "That channel only allows replies in threads.",
    "msg_too_long": "My answer was too long for Slack there.",
}
GENERIC_ADVICE = "You can ask me here in a direct message any time."


def reply_key(question_id: int) -> str:
    """The retry queue's key for a question's reply."""
    return f"reply:{question_id}"


@dataclass(frozen=True)
class Posted:
    question: Question
    card: AnswerCard | None


@dataclass(frozen=True)
class CardMessage:
    """Where a card already is, for updating it in place."""

    channel: str | None
    ts: str | None
    response_url: str | None = None  # ephemeral cards can only be replaced through this

    @property
    def ephemeral(self) -> bool:
        return self.ts is None


class Answerer:
    """Everything between 'a question is stored' and 'the card is in Slack'."""

    def __init__(self, questions: QuestionBook, search: HybridSearch, people: People,
                 on_unanswered: Callable[[Question], None] | None = None,
                 deliveries: DeliveryQueue | None = None,
                 policy: RecoveryPolicy | None = None, faults: Faults | None = None) -> None:
        self.questions = questions
        self.search = search
        self.people = people
        self.on_unanswered = on_unanswered  # expert routing, when it is switched on
        self.deliveries = deliveries or DeliveryQueue(questions.store)
        self.policy = policy or RecoveryPolicy()
        self.orphans = Orphans(questions, self.policy)
        self.faults = faults  # a test hook: called at each of FAULT_POINTS

    @property
    def routing_available(self) -> bool:
        return self.on_unanswered is not None

    def answer(self, client: WebClient, question: Question, outbox: Outbox,
               note: str | None = None, look_first: bool = False) -> Posted:
        """Answer a stored question once into `outbox` (repeats and races do nothing).

        `look_first` (recovery): a process that died between Slack taking the card and the
        database recording it leaves a card nobody knows of; look for it before posting again.
        """
        self._fault("received", question.id)
        if isinstance(outbox, EphemeralReply):
            self.orphans.remember_response_url(question.id, outbox.response_url)
        lease = max(1, round(self.policy.lease.total_seconds()))  # stored times are in seconds
        if not self.questions.claim_reply(question.id, lease_seconds=lease):
            log.info("question already answered or being answered",
                     extra={"question_id": question.id})
            return Posted(question, None)
        self._fault("claimed", question.id)
        if look_first and (adopted := self._adopt(question, outbox)) is not None:
            return adopted
        try:
            card = self.fresh_card(question, outbox)
        except Exception:  # a bug or a broken index: say so rather than stay silent
            log.exception("search failed", extra={"question_id": question.id})
            self.questions.record_failure(question.id, "search_failed")
            self._apologise(question, outbox)
            return Posted(self.questions.get(question.id), None)
        if note:
            card = replace(card, notes=(note, *card.notes))
        self._fault("before_post", question.id)
        try:
            ts = outbox.post(answer_text(card), answer_blocks(card))
        except PostFailed as failed:
            if failed.transient:
                self._defer(question, failed.code)
            else:
                self._failed(client, question, outbox, card, failed.code)
                self.deliveries.done(reply_key(question.id))
            return Posted(self.questions.get(question.id), None)
        except BaseException:
            self.questions.release_reply(question.id)
            raise
        self._fault("sent", question.id)  # Slack has the card; the database does not know yet
        # Routing starts while the claim still holds: once the card is recorded, the claim is
        # over and nothing would find a question whose process died before routing it. (Dying
        # here, before the card is recorded, leaves it to recovery, which finds the card and
        # routes; starting a ladder twice does nothing.)
        self._route_if_unanswered(replace(question, reply_channel=outbox.channel or
                                          question.reply_channel, reply_ts=ts or
                                          question.reply_ts, tier=card.tier), card.tier)
        done = self._record(question, card, outbox.channel, ts)
        self.deliveries.done(reply_key(question.id))
        self._fault("posted", question.id)
        log.info("answered", extra={"question_id": question.id, "tier": card.tier,
                                    "hits": len(card.hits), "channel": outbox.channel})
        return Posted(done, card)

    def _route_if_unanswered(self, question: Question, tier: str) -> None:
        """Nothing usable found: hand the question to expert routing (which starts once)."""
        if tier == "none" and self.on_unanswered is not None:
            try:
                self.on_unanswered(question)
            except Exception:  # the answer card is out; routing must not take it down
                log.exception("routing failed", extra={"question_id": question.id})

    def answer_again(self, question: Question, outbox: Outbox) -> Posted:
        """Post a new card for a question that has changed (a follow-up in its thread)."""
        card = self.fresh_card(question, outbox)
        try:
            ts = outbox.post(answer_text(card), answer_blocks(card))
        except PostFailed as failed:
            log.warning("could not answer a follow-up", extra={"question_id": question.id,
                                                               "error": failed.code})
            return Posted(question, None)
        done = self._record(question, card, outbox.channel, ts)
        self._route_if_unanswered(done, card.tier)  # as a first answer that found nothing
        return Posted(done, card)

    def refresh(self, client: WebClient, question: Question, outbox: Outbox) -> Posted:
        """Search again and update the card already posted for `question` in place."""
        card = self.fresh_card(question, outbox)
        try:
            client.chat_update(channel=question.reply_channel, ts=question.reply_ts,
                               text=answer_text(card), blocks=answer_blocks(card))
        except (SlackApiError, SlackClientError) as error:
            log.warning("could not update an answer", extra={"question_id": question.id,
                                                             "error": error_code(error)})
            return Posted(question, None)
        done = self._record(question, card, None, None)
        self._route_if_unanswered(done, card.tier)  # as a first answer that found nothing
        return Posted(done, card)

    def fresh_card(self, question: Question, outbox: Outbox) -> AnswerCard:
        """Search for the question (with any follow-ups) and build its card."""
        audience = Audience(
            user=question.asker, channel=outbox.channel, private=outbox.private,
            member_of=lambda channel: self.people.is_member(question.asker, channel),
        )
        hits = self.search.search(question.full_text, k=SHOWN,
                                  visible=lambda entry: can_see(entry.visibility, audience))
        useful = [h for h in hits if h.tier is not Tier.NONE]
        tier = useful[0].tier.value if useful else Tier.NONE.value
        card_hits = tuple(self._card_hit(h.entry, h.tier.value, h.score, h.confidence)
                          for h in useful)
        return AnswerCard(question.id, question.full_text, tier, card_hits,
                          routing_available=self.routing_available,
                          echo_question=outbox.echo_question, about_url=question.source_link)

    def stored_card(self, question_id: int, expanded: bool = False,
                    echo_question: bool = False) -> AnswerCard:
        """The card as it was shown, rebuilt from the database (for updates after clicks).

        It shows the asker's own verdict, if they gave one: other people's clicks are counted
        but do not take the buttons away from the asker.
        """
        question = self.questions.get(question_id)
        shown = self.questions.shown_hits(question_id)
        entries = self.search.store.get_entries(h.entry_id for h in shown)
        hits = tuple(self._card_hit(entries[h.entry_id], h.tier, h.score, h.confidence)
                     for h in shown if h.entry_id in entries)
        card = AnswerCard(question.id, question.full_text, question.tier or "none", hits,
                          expanded=expanded, routing_available=self.routing_available,
                          echo_question=echo_question, about_url=question.source_link)
        mine = [(entry, verdict) for entry, user, verdict in self.questions.verdicts(question_id)
                if user == question.asker]
        if mine:
            entry, verdict = mine[-1]
            card = card.with_verdict(verdict.value, self.people.name(question.asker) or "you",
                                     entry)
        return card

    def update_card(self, client: WebClient, where: CardMessage, card: AnswerCard) -> None:
        """Show `card` in place of the one at `where` (a channel message or an ephemeral one)."""
        try:
            if where.ephemeral:
                if where.response_url:
                    send(where.response_url, text=answer_text(card), blocks=answer_blocks(card),
                         replace_original=True)
            else:
                client.chat_update(channel=where.channel, ts=where.ts, text=answer_text(card),
                                   blocks=answer_blocks(card))
        except (PostFailed, SlackApiError, SlackClientError) as error:
            code = error.code if isinstance(error, PostFailed) else error_code(error)
            log.warning("could not update a card", extra={"question_id": card.question_id,
                                                          "error": code})

    def give_feedback(self, question_id: int, user: str, verdict: Verdict,
                      entry_id: int | None) -> bool:
        """Record a verdict once; True if it was new."""
        return self.questions.record_feedback(question_id, user, verdict, entry_id)

    def _record(self, question: Question, card: AnswerCard, channel: str | None,
                ts: str | None) -> Question:
        shown = [ShownHit(h.entry_id, h.score, h.tier, h.confidence) for h in card.hits]
        return self.questions.record_reply(question.id, shown, card.tier, channel, ts)

    def _card_hit(self, entry: Entry, tier: str, score: float,
                  confidence: float | None) -> CardHit:
        return CardHit(
            entry_id=entry.id, question=entry.question, answer=entry.answer, tier=tier,
            answered_by=self.people.name(entry.answered_by), created_at=entry.created_at,
            verified_by=self.people.name(entry.verified_by), source_url=entry.source_url,
            score=score, confidence=confidence,
        )

    def _apologise(self, question: Question, outbox: Outbox) -> None:
        text = (f"Sorry, something went wrong while I was looking this up. Your question is saved "
                f"(#{question.id}); please try again in a minute.")
        try:
            outbox.post(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        except PostFailed as failed:
            log.warning("could not apologise", extra={"question_id": question.id,
                                                      "error": failed.code})

    def _adopt(self, question: Question, outbox: Outbox) -> Posted | None:
        """Record a card for `question` that is already in Slack, if there is one."""
        find = getattr(outbox, "find", None)
        found = find(card_marker(question.id), question.message_ts) if find else None
        card = posted_card(question.id, found.blocks) if found else None
        if found is None or card is None or card[0] not in {tier.value for tier in Tier}:
            return None
        tier, entries = card
        shown = [ShownHit(entry_id, 0.0, tier) for entry_id in entries]
        done = self.questions.record_reply(question.id, shown, tier, outbox.channel, found.ts)
        self.deliveries.done(reply_key(question.id))
        log.info("found the answer already posted", extra={"question_id": question.id})
        self._route_if_unanswered(done, tier)  # the dead process may not have got that far
        return Posted(done, None)

    def _fault(self, point: str, question_id: int) -> None:
        if self.faults is not None:
            self.faults(point, question_id)

    def _defer(self, question: Question, code: str) -> None:
        """Slack is briefly unwell: queue the reply for later and let the claim go."""
        pending = self.deliveries.defer(reply_key(question.id), "reply", code,
                                        question_id=question.id)
        self.questions.release_reply(question.id)
        log.warning("reply queued for a retry", extra={
            "question_id": question.id, "error": code, "attempts": pending.attempts,
            "next_attempt_at": pending.next_attempt_at.isoformat()})

    def _failed(self, client: WebClient, question: Question, outbox: Outbox, card: AnswerCard,
                code: str) -> None:
        log.warning("could not post an answer", extra={
            "question_id": question.id, "channel": outbox.channel, "error": code})
        self.questions.record_failure(question.id, code)
        if isinstance(outbox, DirectMessage):
            return  # nowhere else to tell them
        fallback = DirectMessage(client, question.asker)
        private = self.fresh_card(question, fallback)  # visibility for a private reply
        note = (f"I couldn't reply where you asked (Slack said `{code}`), so here is my answer "
                f"privately. {ADVICE.get(code, GENERIC_ADVICE)}")
        private = replace(private, notes=(*private.notes, note))
        try:
            ts = fallback.post(answer_text(private), answer_blocks(private))
        except PostFailed as again:
            log.warning("could not tell the asker either", extra={
                "question_id": question.id, "error": again.code})
            return
        self._record(question, private, fallback.channel, ts)
