"""Block Kit for expert routing: the request DM, its modals, the answer in the asker's thread,
and the fallback channel post. Pure builders; everything echoed is escaped and trimmed."""

from __future__ import annotations

from dataclasses import dataclass

from bot import ids
from bot.blocks.kit import TEXT_LIMIT, actions, button, chunks, context, section
from bot.slack_text import escape, safe_answer, trim


@dataclass(frozen=True)
class ExpertRequest:
    route_id: int
    question: str
    asker: str  # display name
    channel: str | None  # where it was asked (a channel id), if anywhere public
    link: str | None  # permalink of the question
    found: tuple[str, ...]  # titles of what the bot found
    reasons: tuple[str, ...]  # why this person was picked
    suggested_by: str | None = None  # display name of a colleague who passed it on


def _quote(text: str, limit: int = 2_800) -> str:
    lines = trim(escape(text.strip()), limit).splitlines() or [" "]
    return "\n".join(f">{line}" for line in lines[:40])


def request_text(request: ExpertRequest) -> str:
    return trim(f"{escape(request.asker)} has a question you may know the answer to: "
                f"{escape(' '.join(request.question.split()))}", 300)


def request_blocks(request: ExpertRequest, closed: str | None = None) -> list[dict]:
    """The DM asking one expert for help; `closed` replaces the buttons once it is settled."""
    where = f" in <#{request.channel}>" if request.channel else ""
    intro = f"*{escape(request.asker)}* asked{where}:"
    if request.suggested_by:
        intro = f"*{escape(request.suggested_by)}* thought you could help. " + intro
    blocks: list[dict] = [section(intro), section(_quote(request.question))]
    about = []
    if request.link:
        about.append(f"<{request.link}|Open the conversation>")
    if request.reasons:
        about.append("Why you: " + escape("; ".join(request.reasons)))
    if about:
        blocks.append(context(trim(" · ".join(about), 2_900)))
    if request.found:
        found = "\n".join(f"• {trim(escape(t), 150)}" for t in request.found[:3])
        blocks.append(context(trim(f"I found these, but not a confident answer:\n{found}",
                                    2_900)))
    if closed is not None:
        blocks.append(context(trim(closed, 2_900)))
        return blocks
    value = str(request.route_id)
    blocks.append(actions("expert_request",
                          button("Answer", ids.EXPERT_ANSWER, value, "primary"),
                          button("Pass", ids.EXPERT_PASS, value),
                          button("Snooze 1 hour", ids.EXPERT_SNOOZE, value)))
    return blocks


def answer_modal(metadata: str, question: str, initial: str = "") -> dict:
    element: dict = {"type": "plain_text_input", "action_id": ids.EXPERT_ANSWER_INPUT,
                     "multiline": True, "max_length": 3000, "min_length": 2}
    if initial:
        element["initial_value"] = trim(initial, 3000)
    return {
        "type": "modal", "callback_id": ids.EXPERT_ANSWER_MODAL, "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Answer a question"},
        "submit": {"type": "plain_text", "text": "Send answer"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(_quote(question, 2_000)),
            {"type": "input", "block_id": ids.EXPERT_ANSWER_BLOCK,
             "label": {"type": "plain_text", "text": "Your answer"}, "element": element,
             "hint": {"type": "plain_text", "text": "Posted in the asker's thread and saved to "
                      "the knowledge base (customer details are removed first)."}},
        ],
    }


def pass_modal(route_id: int) -> dict:
    return {
        "type": "modal", "callback_id": ids.EXPERT_PASS_MODAL, "private_metadata": str(route_id),
        "title": {"type": "plain_text", "text": "Pass this question"},
        "submit": {"type": "plain_text", "text": "Pass"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input", "block_id": ids.EXPERT_PASS_BLOCK, "optional": True,
            "label": {"type": "plain_text", "text": "Who could answer it? (optional)"},
            "element": {"type": "users_select", "action_id": ids.EXPERT_PASS_INPUT,
                        "placeholder": {"type": "plain_text", "text": "Pick a colleague"}},
        }],
    }


def expert_answer_blocks(question_id: int, asker_id: str, expert: str, answer: str,
                         note: str | None, settled: str | None = None) -> list[dict]:
    """The expert's answer in the asker's thread (the asker is mentioned: they asked for it)."""
    body = safe_answer(answer)
    blocks = [section(f"<@{asker_id}> *{escape(expert)}* answered your question:")]
    blocks += [section(piece) for piece in chunks(body, TEXT_LIMIT, 8)]
    if note:
        blocks.append(context(trim(escape(note), 2_900)))
    if settled:
        blocks.append(context(trim(settled, 2_900)))
    else:
        value = str(question_id)
        blocks.append(actions("expert_answer_feedback",
                              button("This solved it", ids.ANSWER_SOLVED, value, "primary"),
                              button("Ask for more", ids.ANSWER_MORE, value)))
    return blocks


def fallback_blocks(question_id: int, question: str, asker: str, link: str | None,
                    closed: str | None = None) -> list[dict]:
    where = f" (<{link}|conversation>)" if link else ""
    blocks = [section(f"*Nobody has answered {escape(asker)}'s question yet{where}. "
                       "Can anyone help?*"), section(_quote(question))]
    if closed:
        blocks.append(context(trim(closed, 2_900)))
    else:
        blocks.append(actions("fallback", button("Answer", ids.FALLBACK_ANSWER, str(question_id),
                                                 "primary")))
    return blocks
