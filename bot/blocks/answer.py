"""The answer card: the best answer, where it came from, a few more suggestions, and buttons.

Pure: data in, blocks out. Everything echoed is escaped (see bot.slack_text) and trimmed to
Block Kit's limits, so a card can always be posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot import ids
from bot.blocks.kit import TEXT_LIMIT, actions, button, chunks, context, one_line, section
from bot.slack_text import escape, safe_answer, trim

PREVIEW_CHARS = 600
MAX_EXPANDED_SECTIONS = 6
MAX_SUGGESTIONS = 3
CARD_MARKER = "switchboard_card_"

INTRO = {
    "answer": "Here's the answer from our knowledge base:",
    "suggest": "I'm not sure I have the exact answer, but these might help:",
    "none": "I couldn't find this in our knowledge base yet.",
}


@dataclass(frozen=True)
class CardHit:
    """One entry as the card shows it."""

    entry_id: int
    question: str
    answer: str
    tier: str
    score: float = 0.0
    confidence: float | None = None  # how sure the search is that it answers (0..1)
    answered_by: str | None = None  # a display name, never a mention
    created_at: datetime | None = None
    verified_by: str | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class AnswerCard:
    """Everything the card shows for one question."""

    question_id: int
    question: str
    tier: str
    hits: tuple[CardHit, ...] = ()
    expanded: bool = False
    verdict: str | None = None  # "solved", "not_helpful" or "ask_expert", once chosen
    verdict_by: str | None = None  # display name of who chose it
    verdict_entry: int | None = None  # the entry the verdict named ("solved": the one that did)
    routing_available: bool = False
    echo_question: bool = False  # repeat the question (the asker's words aren't shown nearby)
    about_url: str | None = None  # the message the question is about (message shortcut)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def with_verdict(self, verdict: str, by: str, entry_id: int | None = None) -> AnswerCard:
        return replace(self, verdict=verdict, verdict_by=by, verdict_entry=entry_id)

    @property
    def open_to_solve(self) -> bool:
        """Whether each answer shown can still be marked as the one that solved it (no verdict
        yet, or the best one did not help: a related one still may)."""
        return bool(self.hits) and self.tier != "none" and self.verdict in (None, "not_helpful")


ROUTING_NOW = ("I couldn't find this in our knowledge base yet, so I'm asking the people most "
               "likely to know.")


def _intro(card: AnswerCard) -> str:
    if card.tier == "none" or not card.hits:
        return ROUTING_NOW if card.routing_available else INTRO["none"]
    return INTRO[card.tier]


def answer_text(card: AnswerCard) -> str:
    """The notification / fallback text of the card."""
    if card.tier == "none" or not card.hits:
        return _intro(card)
    best = card.hits[0]
    return trim(f"{INTRO[card.tier]} {escape(best.question)}", 300)


def card_marker(question_id: int) -> str:
    """What the block_id of a question's card starts with: it lets the bot find a card it
    posted (after a crash between Slack taking the post and the database recording it)."""
    return f"{CARD_MARKER}{question_id}_"


def posted_card(question_id: int, blocks: list[dict]) -> tuple[str, list[int]] | None:
    """(tier, ids of the entries its buttons name, best first) of a card found in Slack for the
    question."""
    marker = card_marker(question_id)
    first = next((str(b.get("block_id")) for b in blocks
                  if str(b.get("block_id", "")).startswith(marker)), None)
    if first is None:
        return None
    best: list[int] = []  # named by the best answer's buttons (Show more, the feedback row)
    related: list[int] = []  # named by the related answers' own buttons, in card order
    for block in blocks:
        for element in block.get("elements") or [block.get("accessory") or {}]:
            asked, _, entry = str(element.get("value", "")).partition(":")
            if asked == str(question_id) and entry.isdigit() and int(entry):
                (related if element.get("action_id") == ids.SOLVED_THIS else best).append(
                    int(entry))
    return first.removeprefix(marker), list(dict.fromkeys(best + related))


def answer_blocks(card: AnswerCard) -> list[dict]:
    marker = card_marker(card.question_id) + card.tier
    blocks: list[dict] = [section(f"*{_intro(card)}*", block_id=marker)]
    if card.echo_question or card.tier == "none" or not card.hits:
        asked = f"You asked: “{one_line(card.question, 280)}”"
        if card.about_url and _is_web_link(card.about_url):
            asked += f" (about <{card.about_url}|this message>)"
        blocks.append(context(asked))
    if card.hits and card.tier != "none":
        best, *others = card.hits
        blocks += _best(card, best)
        if others:
            blocks.append({"type": "divider"})
            blocks.append(section("*Related answers:*"))
            blocks += [_suggestion(card, hit) for hit in others[:MAX_SUGGESTIONS]]
    blocks += [context(trim(escape(note), 2_900)) for note in card.notes]
    blocks += _feedback(card)
    return blocks


def _best(card: AnswerCard, hit: CardHit) -> list[dict]:
    title = _linked(hit.question, hit.source_url)
    body = safe_answer(hit.answer)
    out: list[dict] = []
    if card.expanded or len(body) <= PREVIEW_CHARS:
        # the first piece shares its section with the title
        pieces = chunks(body, TEXT_LIMIT - len(title) - 1, MAX_EXPANDED_SECTIONS)
        out.append(section(f"{title}\n{pieces[0]}"))
        out += [section(piece) for piece in pieces[1:]]
    else:
        out.append(
            {
                **section(f"{title}\n{trim(body, PREVIEW_CHARS)}"),
                "accessory": button("Show more", ids.SHOW_MORE,
                                     f"{card.question_id}:{hit.entry_id}"),
            }
        )
    out.append(context(_provenance(hit)))
    return out


def _sure(confidence: float) -> str:
    """How sure, in words a reader can weigh: "92% sure" (never 100%: it is an estimate)."""
    return f"{min(99, max(1, round(confidence * 100)))}% sure"


def _suggestion(card: AnswerCard, hit: CardHit) -> dict:
    """A related answer, with its own "This solved it" while the card is open to verdicts."""
    snippet = trim(" ".join(safe_answer(hit.answer).split()), 180)
    solved = (button("This solved it", ids.SOLVED_THIS, f"{card.question_id}:{hit.entry_id}")
              if card.open_to_solve else None)
    return section(f"• {_linked(hit.question, hit.source_url)}\n{snippet}", accessory=solved)


def _provenance(hit: CardHit) -> str:
    parts = [_sure(hit.confidence)] if hit.confidence is not None else []
    if hit.answered_by:
        parts.append(f"Answered by {escape(hit.answered_by)}")
    if hit.created_at:
        parts.append(hit.created_at.strftime("%-d %b %Y"))
    parts.append(f":white_check_mark: Verified by {escape(hit.verified_by)}" if hit.verified_by
                 else "Not verified yet")
    if hit.source_url and _is_web_link(hit.source_url):
        parts.append(f"<{hit.source_url}|Source>")
    return trim(" · ".join(parts), 2_900)


def _feedback(card: AnswerCard) -> list[dict]:
    if card.verdict == "not_helpful":  # still let them ask a person
        expert = button("Ask an expert", ids.ASK_EXPERT, f"{card.question_id}:0")
        return [context(_verdict_text(card)), actions(ids.FEEDBACK_BLOCK, expert)]
    if card.verdict is not None:
        return [context(_verdict_text(card))]
    buttons = []
    if card.hits and card.tier != "none":
        best = card.hits[0].entry_id
        buttons += [
            button("This solved it", ids.SOLVED, f"{card.question_id}:{best}", "primary"),
            button("Not helpful", ids.NOT_HELPFUL, f"{card.question_id}:{best}"),
        ]
    if card.tier != "none" or not card.routing_available:  # else: already asking people
        buttons.append(button("Ask an expert", ids.ASK_EXPERT, f"{card.question_id}:0"))
    if not buttons:
        return []
    return [actions(ids.FEEDBACK_BLOCK, *buttons)]


def _verdict_text(card: AnswerCard) -> str:
    who = escape(card.verdict_by or "someone")
    if card.verdict == "solved":
        solved_by = next((hit for hit in card.hits if hit.entry_id == card.verdict_entry), None)
        which = f" with “{one_line(solved_by.question, 300)}”" if solved_by else ""
        return (f":white_check_mark: Marked as solved by {who}{which}. Thanks, that helps the "
                "next person.")
    if card.verdict == "not_helpful":
        return f":memo: {who} marked this as not helpful. Thanks, we'll use that to improve it."
    if card.routing_available:
        return f":raising_hand: {who} asked for an expert. I'm finding the right people now."
    return (f":raising_hand: {who} asked for an expert. That request is recorded; expert routing "
            "isn't switched on yet, so please ask in your team's help channel meanwhile.")


def _is_web_link(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in "<>| ")


def _linked(question: str, url: str | None) -> str:
    title = trim(escape(" ".join(question.split())), 300)
    return f"*<{url}|{title}>*" if url and _is_web_link(url) else f"*{title}*"
