"""The App Home tab and the "Ask Switchboard" modal. Pure builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import ids
from bot.blocks.kit import actions, button, context, one_line, section
from bot.slack_text import escape, safe_answer, trim
from index.duplicates import DuplicatePair
from index.gaps import Gap
from knowledge.analytics import Report
from knowledge.curation import ReviewItem, StaleEntry
from knowledge.models import Entry

STATUS_LABEL = {
    "received": ":hourglass_flowing_sand: looking it up",
    "answered": ":bulb: answered",
    "suggested": ":mag: suggestions shown",
    "unanswered": ":grey_question: not found yet",
    "expert_requested": ":raising_hand: expert requested",
    "expert_answered": ":speech_balloon: answered by an expert",
    "solved": ":white_check_mark: solved",
    "failed": ":warning: could not reply",
    "withdrawn": ":wastebasket: withdrawn",
}


@dataclass(frozen=True)
class RecentQuestion:
    text: str
    status: str
    asked_at: datetime


@dataclass(frozen=True)
class ExpertHome:
    """What an expert sees: questions waiting for them, their topics, away status, impact."""

    open_routes: tuple[tuple[int, str], ...] = ()  # (route id, question)
    topics: tuple[str, ...] = ()
    away_until: datetime | None = None
    helped: int = 0


@dataclass(frozen=True)
class AdminHome:
    report: Report
    pending: int
    queue: list[ReviewItem] = field(default_factory=list)
    stale: list[StaleEntry] = field(default_factory=list)
    duplicates: list[DuplicatePair] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # Slack id -> display name
    insights_ready: bool = True  # False until duplicates and gaps are first worked out


def _who(entry: Entry, names: dict[str, str]) -> str:
    who = entry.answered_by
    return escape(names.get(who, who)) if who else "unknown"


def expert_blocks(expert: ExpertHome) -> list[dict]:
    blocks: list[dict] = [{"type": "divider"},
                          {"type": "header", "text": {"type": "plain_text",
                                                      "text": "Questions for you"}}]
    if not expert.open_routes:
        blocks.append(section("_Nobody is waiting on you._"))
    for route_id, question in expert.open_routes[:5]:
        blocks.append(section(f"*{one_line(question, 280)}*",
                               button("Answer", ids.EXPERT_ANSWER, str(route_id), "primary")))
    topics = ", ".join(escape(t) for t in expert.topics) or "_none yet_"
    blocks.append(section(f"*Your topics:* {topics}",
                           button("Edit topics", ids.EXPERT_TOPICS)))
    if expert.away_until:
        last_day = expert.away_until - timedelta(seconds=1)
        blocks.append(section(f"*Away* until the end of {last_day:%-d %b %Y}: you won't be "
                               "asked before then.", button("I'm back", ids.EXPERT_BACK)))
    else:
        blocks.append(section("*Available* for questions in your working hours.",
                               button("Set away", ids.EXPERT_AWAY)))
    if expert.helped:
        times = "time" if expert.helped == 1 else "times"
        blocks.append(context(f":raised_hands: Your answers were marked as solving a question "
                               f"{expert.helped} {times}."))
    return blocks


def admin_blocks(admin: AdminHome) -> list[dict]:
    report = admin.report
    days = (report.end - report.start).days
    summary = (f"*Last {days} days:* {report.total} questions · "
               f"{report.share('self_serve'):.0%} self-serve · "
               f"{report.share('expert'):.0%} by experts · "
               f"{report.share('unanswered'):.0%} unanswered · first answer p50 "
               f"{_duration(report.first_answer.p50)} · {admin.pending} waiting for review")
    routed = report.routing
    if routed.answered:  # how often the ranker's top choice is the one who answers
        summary += (f"\n*Routing:* the first person asked answered "
                    f"{routed.answered_by.get('first', 0)}"
                    f" of the {routed.answered} routed questions a person answered "
                    f"({routed.share('first'):.0%})")
    blocks: list[dict] = [
        {"type": "divider"},
        _header("Admin"),
        section(summary, button("Find an entry", ids.ADMIN_FIND)),
        context("Run `switchboard report --html report.html` for the full report with charts."),
        _header("Review queue"),
    ]
    if not admin.queue:
        blocks.append(section("_Nothing waiting for review._"))
    for item in admin.queue[:5]:
        blocks += _review_item(item, admin.names)
    if admin.stale:
        blocks.append(_header("Needs a look"))
    for stale in admin.stale[:5]:
        blocks += _stale_item(stale, admin.names)
    if admin.duplicates:
        blocks.append(_header("Possible duplicates"))
    for pair in admin.duplicates[:3]:
        blocks += _duplicate_pair(pair)
    if not admin.insights_ready:
        blocks.append(context("_Possible duplicates and knowledge gaps: computing…_"))
    if admin.gaps:
        lines = "\n".join(f"• {gap.size}× {one_line(gap.example, 150)}"
                          for gap in admin.gaps[:3])
        blocks += [_header("Knowledge gaps"),
                   section(f"Questions nothing answered, grouped:\n{lines}")]
    return blocks


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _review_item(item: ReviewItem, names: dict[str, str]) -> list[dict]:
    entry, value = item.entry, str(item.entry.id)
    asked = f" · asked {item.asked}×" if item.asked else ""
    return [
        section(f"*{one_line(entry.question, 200)}*\n"
                f"{trim(safe_answer(' '.join(entry.answer.split())), 400)}"),
        context(f"#{entry.id} · by {_who(entry, names)}{asked} · {entry.created_at:%-d %b %Y}"),
        actions(f"review_{entry.id}", button("Approve", ids.ADMIN_APPROVE, value, "primary"),
                button("Edit & approve", ids.ADMIN_EDIT, f"approve:{value}"),
                button("Reject", ids.ADMIN_REJECT, value, "danger")),
    ]


def _stale_item(stale: StaleEntry, names: dict[str, str]) -> list[dict]:
    entry, value = stale.entry, str(stale.entry.id)
    return [
        section(f"*{one_line(entry.question, 200)}*\n"
                f"_{escape('; '.join(stale.reasons))}_ · by {_who(entry, names)}"),
        actions(f"stale_{entry.id}", button("Still correct", ids.ADMIN_VERIFY, value),
                button("Edit", ids.ADMIN_EDIT, f"edit:{value}"),
                button("Retire", ids.ADMIN_RETIRE, value, "danger"),
                button("Nudge the author", ids.ADMIN_NUDGE, value)),
    ]


def _duplicate_pair(pair: DuplicatePair) -> list[dict]:
    keep, fold = pair.keep, pair.fold
    return [
        section(f"#{keep.id} *{one_line(keep.question, 150)}*\n"
                f"#{fold.id} *{one_line(fold.question, 150)}*\n_{pair.similarity:.0%} alike_"),
        actions(f"dupe_{keep.id}_{fold.id}", button(f"Merge into #{keep.id}", ids.ADMIN_MERGE,
                                                    f"{keep.id}:{fold.id}")),
    ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def home_view(recent: list[RecentQuestion], expert: ExpertHome | None = None,
              admin: AdminHome | None = None) -> dict:
    """The Home tab: an Ask button, the person's recent questions, and (for experts and
    admins) what is waiting for them."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Switchboard"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Ask anything about our products, policies or past cases. I answer from "
                "what colleagues have answered before, and find an expert when I can't.",
            },
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Ask a question"},
                "action_id": ids.HOME_ASK,
                "style": "primary",
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "You can also mention me in a channel, "
                          "send me a DM, type `/ask …`, or use *Ask Switchboard* on any message."}],
        },
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Your recent questions"}},
    ]
    if not recent:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "_Nothing asked yet._"}})
    for question in recent[: 5 if admin else 10]:
        label = STATUS_LABEL.get(question.status, question.status)
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": trim(
                f"*{escape(' '.join(question.text.split()))}*\n{label} · "
                f"{question.asked_at:%-d %b %Y, %H:%M} UTC", 2_900)},
        })
    if expert is not None:
        blocks += expert_blocks(expert)
    if admin is not None:
        blocks += admin_blocks(admin)
    return {"type": "home", "blocks": blocks[:100]}


def ask_modal(prefill: str = "") -> dict:
    """The modal the Home tab's Ask button opens."""
    element: dict = {
        "type": "plain_text_input",
        "action_id": ids.ASK_MODAL_INPUT,
        "multiline": True,
        "max_length": 3000,
        "placeholder": {"type": "plain_text",
                        "text": "e.g. Can we refund an annual plan after 30 days?"},
    }
    if prefill:
        element["initial_value"] = trim(prefill, 3000)
    return {
        "type": "modal",
        "callback_id": ids.ASK_MODAL,
        "title": {"type": "plain_text", "text": "Ask Switchboard"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": ids.ASK_MODAL_BLOCK,
            "label": {"type": "plain_text", "text": "Your question"},
            "element": element,
            "hint": {"type": "plain_text", "text": "I'll answer in a direct message."},
        }],
    }
