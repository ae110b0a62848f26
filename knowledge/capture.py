"""Capture: a question and the answer a person gave become a knowledge entry.

Customer details pasted by the asker (or the expert) are redacted first, since askers are often
mid-conversation with a customer. Whether the entry is published at once or waits for an
admin's review is a setting (default: review). Entries from private channels keep that channel's
visibility. Capturing the same question again updates its entry instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.models import EntryDraft, EntryKind, EntryStatus, Visibility
from knowledge.phrasings import PhrasingSource
from knowledge.questions import Question
from knowledge.redaction import redact
from knowledge.store import Store


@dataclass(frozen=True)
class Captured:
    entry_id: int
    status: EntryStatus
    redacted: str  # what was removed, e.g. "1 email address redacted" ("" when nothing)


def visibility_for(question: Question) -> Visibility:
    """A private channel's knowledge stays in that channel; everything else is public."""
    if question.channel_kind == "private" and question.channel:
        return Visibility(scope="channel", members=(question.channel,))
    return Visibility()


def capture_answer(store: Store, question: Question, *, answered_by: str, answer: str,
                   source_url: str | None, publish: bool) -> Captured:
    asked = redact(question.full_text)
    answered = redact(answer)
    status = EntryStatus.PUBLISHED if publish else EntryStatus.PENDING_REVIEW
    draft = EntryDraft(
        question=asked.text,
        answer=answered.text,
        kind=EntryKind.EXPERT_ANSWER,
        answered_by=answered_by,
        source_url=source_url,
        status=status,
        visibility=visibility_for(question),
        external_id=f"question-{question.id}",
    )
    with store.transaction():
        result = store.upsert_entries([draft])
        [entry_id] = result.created + result.updated + result.unchanged
        # The asker's own words keep finding the entry even if its question is rewritten.
        store.phrasings.learn(entry_id, question.text, answered_by, PhrasingSource.EXPERT,
                              question.id)
    found = [s for s in (asked.summary(), answered.summary()) if s]
    return Captured(entry_id, status, "; ".join(found))
