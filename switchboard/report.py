"""`switchboard report`: how asking works, in the terminal (rich tables) or as one self-contained
HTML file with charts (matplotlib SVG inlined, no external resources)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from index.gaps import Gap
from knowledge.analytics import ANSWERED_BY, OUTCOMES, Report, RoutingResult
from knowledge.routing_fit import OutcomeFit, RoutingFit, interval

LABELS = {"self_serve": "Self-serve (bot alone)", "expert": "Answered by an expert",
          "suggested": "Suggestions, unconfirmed", "unanswered": "Unanswered"}
ANSWERED_LABELS = {"first": "the first person asked", "first_round": "another person of the "
                   "first round", "later": "someone the escalation ladder asked later",
                   "suggested": "someone a colleague suggested",
                   "not_asked": "someone never asked (fallback channel, thread)"}
TERMINAL_EXPERTS = 25  # the terminal's expert load lists the most asked; --html everyone
COLOURS = {"self_serve": "#2a9d8f", "expert": "#457b9d", "suggested": "#e9c46a",
           "unanswered": "#e76f51"}


@dataclass(frozen=True)
class FullReport:
    report: Report
    gaps: list[Gap]
    generated: datetime
    routing: RoutingFit | None = None  # the routing weights in use and their evidence


def routing_lines(fit: RoutingFit) -> list[str]:
    """The routing weights in use, why, and how they scored on this organisation's history."""
    kind = "fitted to this organisation" if fit.fitted else "the defaults"
    model = fit.weights.model
    lines = [f"Routing weights: {kind} ({fit.reason})",
             "what decides here: " + ", ".join(
                 f"{evidence} {share:.0%}" for evidence, share in model.evidence_shares().items())
             + f" (per standard deviation: {model.describe()})"
             + ("; the default blend: the fixed mix of similar questions, topics and volume "
                "that ranks before a fit" if "default blend" in model.names else "")
             if model else
             ", ".join(f"{name} {getattr(fit.weights, name):g}" for name in fit.tunable)]
    for label, score in (("in use", fit.score), ("defaults", fit.defaults_score)):
        if score is not None:
            lines.append(f"held-out hit@1 / hit@5, {label}: {score.hit1:.3f} / {score.hit5:.3f} "
                         f"on {fit.held_out} newer answered questions"
                         + (" (the questions it was fitted on: optimistic)"
                            if label == "in use" and fit.nested is not None else ""))
    if fit.nested is not None:
        (lo1, hi1), (lo5, hi5) = (interval(rate, fit.nested_held_out)
                                  for rate in (fit.nested.hit1, fit.nested.hit5))
        lines.append(f"honest estimate, hit@1 / hit@5: {fit.nested.hit1:.3f} / "
                     f"{fit.nested.hit5:.3f} on the newest {fit.nested_held_out} questions "
                     f"(95% intervals on that many: {lo1:.2f}–{hi1:.2f} / {lo5:.2f}–{hi5:.2f}), "
                     f"fitted on the older ones only ({fit.nested_name} there)")
    if fit.fitted_at:
        lines.append(f"fitted {fit.fitted_at:%Y-%m-%d %H:%M} UTC on {fit.entries} answered "
                     "entries")
    w = fit.weights
    lines.append(f"outcomes of similar routed questions (answered, fast, solved / passed, "
                 f"snoozed, silent): weight {w.outcomes:g}, temperature "
                 f"{w.outcome_temperature:g}, half-life {w.outcome_half_life_days:g} days")
    return lines + outcome_lines(fit.outcome_fit)


def outcome_lines(found: OutcomeFit | None) -> list[str]:
    """Why the outcome weight is what it is, and how it scored on the routed questions."""
    if found is None:
        return ["outcome weight: the constants (not fitted yet)"]
    lines = [f"outcome weight: {found.reason}"]
    if found.score and found.without and found.constants:
        lines.append(f"held-out hit@1 / hit@5 on {found.held_out} answered routed questions "
                     f"(each ranked from the routed questions before it): with outcomes as in "
                     f"use {found.score.hit1:.3f} / {found.score.hit5:.3f}, without "
                     f"{found.without.hit1:.3f} / {found.without.hit5:.3f}, at the constants "
                     f"{found.constants.hit1:.3f} / {found.constants.hit5:.3f}")
    if found.nested is not None:
        lines.append(f"outcome weight, honest estimate, hit@1 / hit@5: {found.nested.hit1:.3f} "
                     f"/ {found.nested.hit5:.3f} on the newest {found.nested_held_out} routed "
                     "questions, with the weight chosen on the older ones only")
    return lines


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def print_report(full: FullReport, console: Console) -> None:
    report = full.report
    console.print(f"[bold]Switchboard report[/bold] {report.start:%-d %b %Y} – "
                  f"{report.end:%-d %b %Y}: {report.total} questions")
    outcomes = Table(title="Outcomes", title_justify="left")
    outcomes.add_column("outcome")
    outcomes.add_column("questions", justify="right")
    outcomes.add_column("share", justify="right")
    for name in OUTCOMES:
        outcomes.add_row(LABELS[name], str(report.outcomes.get(name, 0)),
                         f"{report.share(name):.0%}")
    console.print(outcomes)
    speed = Table(title="Speed", title_justify="left")
    for column in ("", "questions", "p50", "p90"):
        speed.add_column(column, justify="right" if column else "left")
    for label, spread in (("time to first answer", report.first_answer),
                          ("time to resolution", report.resolution)):
        speed.add_row(label, str(spread.count), duration(spread.p50), duration(spread.p90))
    console.print(speed)
    unit, buckets = volume_buckets(report.per_day)
    days = Table(title=f"Questions per {unit}", title_justify="left")
    days.add_column(unit)
    days.add_column("questions", justify="right")
    days.add_column("")
    most = max((n for _, _, n in buckets), default=0) or 1
    for label, _, count in buckets:
        days.add_row(label, str(count), "█" * round(20 * count / most))
    console.print(days)
    experts = Table(title="Expert load", title_justify="left")
    for column in ("expert", "asked", "answered", "passed", "open", "response p50"):
        experts.add_column(column, justify="left" if column == "expert" else "right")
    for load in report.experts[:TERMINAL_EXPERTS]:
        experts.add_row(load.expert, str(load.asked), str(load.answered), str(load.passed),
                        str(load.open), duration(load.response_p50))
    if len(report.experts) > TERMINAL_EXPERTS:
        more = report.experts[TERMINAL_EXPERTS:]
        experts.add_row(f"… {len(more)} more (--html lists everyone)",
                        *(str(sum(getattr(load, name) for load in more))
                          for name in ("asked", "answered", "passed", "open")), "")
    if not report.experts:
        experts.add_row("nobody routed yet", "", "", "", "", "")
    console.print(experts)
    routed = Table(title="Who answered routed questions", title_justify="left",
                   caption=routed_caption(report.routing, full.routing is not None),
                   caption_justify="left")
    for column in ("answered by", "questions", "share"):
        routed.add_column(column, justify="left" if column == "answered by" else "right")
    if report.routing.answered:
        for kind in ANSWERED_BY:
            routed.add_row(ANSWERED_LABELS[kind], str(report.routing.answered_by.get(kind, 0)),
                           f"{report.routing.share(kind):.0%}")
    else:
        routed.add_row("no routed question answered yet", "", "")
    console.print(routed)
    for title, rows in (("Most used entries", report.most_used),
                        ("Most often not helpful", report.least_helpful)):
        table = Table(title=title, title_justify="left")
        for column in ("#", "question", "used", "helpful", "not helpful"):
            table.add_column(column, justify="left" if column == "question" else "right")
        for use in rows:
            table.add_row(str(use.entry_id), use.question[:80], str(use.used), str(use.helpful),
                          str(use.not_helpful))
        console.print(table)
    gaps = Table(title="Knowledge gaps (questions nothing answered, grouped)",
                 title_justify="left")
    gaps.add_column("questions", justify="right")
    gaps.add_column("for example")
    for gap in full.gaps:
        gaps.add_row(str(gap.size), gap.example[:100])
    if not full.gaps:
        gaps.add_row("0", "no unanswered questions")
    console.print(gaps)
    if full.routing is not None:
        first, *rest = routing_lines(full.routing)
        console.print(f"[bold]{escape(first)}[/bold]")
        for line in rest:
            console.print(f"  {escape(line)}")


def volume_buckets(per_day: list[tuple[date, int]]) -> tuple[str, list[tuple[str, str, int]]]:
    """The questions per day, as the period's length reads best: per day up to a month, per
    week (from Monday) up to half a year, per month up to three years, per year beyond. The
    unit and, per bucket (oldest first), its label, a short label for the chart's axis, and its
    count."""
    if len(per_day) <= 31:
        return "day", [(f"{d:%a %-d %b}", f"{d:%-d %b}", n) for d, n in per_day]
    unit = "week" if len(per_day) <= 183 else "month" if len(per_day) <= 1096 else "year"
    counts: dict[date, int] = {}
    for d, n in per_day:
        start = (d - timedelta(days=d.weekday()) if unit == "week" else
                 d.replace(day=1) if unit == "month" else d.replace(month=1, day=1))
        counts[start] = counts.get(start, 0) + n
    label, short = {"week": ("week of %-d %b %Y", "%-d %b"), "month": ("%b %Y", "%b %y"),
                    "year": ("%Y", "%Y")}[unit]
    return unit, [(f"{d:{label}}", f"{d:{short}}", n) for d, n in counts.items()]


def in_practice_line(routing: RoutingResult, days: int) -> str:
    """One line for `route --explain`: how often the first person asked was the one who
    answered, over the routed questions of the last `days`."""
    if not routing.answered:
        return (f"in practice, last {days} days: {routing.routed} questions routed, none "
                "answered by a person yet")
    others = ", ".join(f"{ANSWERED_LABELS[kind]} {routing.answered_by.get(kind, 0)}"
                       for kind in ANSWERED_BY[1:])
    return (f"in practice, last {days} days: the first person asked answered "
            f"{routing.answered_by.get('first', 0)} of the {routing.answered} routed questions "
            f"a person answered ({routing.share('first'):.0%}); {others}")


def routed_caption(routing: RoutingResult, fit_shown: bool) -> str:
    """How many questions were routed and answered by a person, and what the first row means
    (`fit_shown`: the routing weights' section follows, with the fit's held-out hit@1)."""
    return (f"{routing.routed} questions routed, {routing.answered} answered by a person. "
            "The first person asked is the ranker's top choice"
            + (": how often they answer is the live counterpart of the routing fit's hit@1 "
               "below." if fit_shown else "."))


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and doctype


def charts(report: Report) -> dict[str, str]:
    """The report's charts as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.hashsalt": "switchboard", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    figure, axes = plt.subplots(figsize=(7, 2.4))
    _, buckets = volume_buckets(report.per_day)
    days = [short for _, short, _ in buckets]
    axes.bar(days, [n for _, _, n in buckets], color="#457b9d")
    axes.set_ylabel("questions")
    axes.tick_params(axis="x", labelrotation=45 if len(days) > 10 else 0)
    step = -(-len(days) // 16)  # at most 16 labels on the axis
    if step > 1:
        axes.set_xticks(range(0, len(days), step), days[::step])
    axes.yaxis.get_major_locator().set_params(integer=True)
    out["per_day"] = _svg(figure)

    figure, axes = plt.subplots(figsize=(7, 1.1))
    left = 0.0
    for name in OUTCOMES:
        share = report.share(name)
        axes.barh([0], [share], left=left, color=COLOURS[name], label=LABELS[name])
        if share >= 0.06:
            axes.text(left + share / 2, 0, f"{share:.0%}", ha="center", va="center",
                      color="white", fontweight="bold")
        left += share
    axes.set_xlim(0, 1)
    axes.axis("off")
    axes.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.05), frameon=False)
    out["outcomes"] = _svg(figure)

    if report.experts:
        loads = report.experts[:12]
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(loads) + 0.8))
        names = [e.expert for e in loads][::-1]
        answered = [e.answered for e in loads][::-1]
        passed = [e.passed for e in loads][::-1]
        waiting = [e.open for e in loads][::-1]
        axes.barh(names, answered, color="#2a9d8f", label="answered")
        axes.barh(names, passed, left=answered, color="#e9c46a", label="passed")
        axes.barh(names, waiting, left=[a + p for a, p in zip(answered, passed, strict=True)],
                  color="#e76f51", label="open")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        out["experts"] = _svg(figure)
    return out


def html_report(full: FullReport) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(["html"]))
    env.filters["duration"] = duration
    return env.get_template("report.html").render(
        full=full, report=full.report, charts=charts(full.report), labels=LABELS,
        volume_unit=volume_buckets(full.report.per_day)[0],
        answered_labels=ANSWERED_LABELS, answered_by=ANSWERED_BY,
        routed_caption=routed_caption(full.report.routing, full.routing is not None),
        colours=COLOURS, outcomes=OUTCOMES,
        routing=routing_lines(full.routing) if full.routing is not None else [])
