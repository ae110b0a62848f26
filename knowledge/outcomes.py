"""What routed questions teach the ranker: who answered (and how fast), whose answer the asker
marked solved, who passed, snoozed or let the question go by.

Evidence attaches to the routed question, not to the person alone: a new question is helped by
the outcomes of similar routed questions (the caller passes their ids and cosines, from the
questions' stored vectors, see index/routed_questions.py), each weighted by how similar it is
and how long ago it was asked (exponential decay). So a person who answers quickly and well on a
topic rises for questions on it, and one who always passes on it sinks, without either moving
for other topics.

Per person and routed question, one signal (SIGNALS): answered +1, plus up to +0.5 the faster
it came (halving every FAST_MINUTES), plus +1 when the asker marked that answer solved; passed
-1; each snooze not followed by an answer -0.25 (counted by a trigger on `routes`, migration
0013_route_outcomes, as a woken snooze reads "asked" again); asked but silent while someone
else answered or the ladder ran out -0.25. Unreachable people (failed routes) and routes still
open say nothing. The ranker adds, per person,

    outcomes x sum_q kernel(q) x signal(q, person) / (PRIOR + sum_q kernel(q))

where kernel(q) = exp((cosine - 1) / outcome_temperature) x 0.5 ** (age / half-life): at most
about +2 x outcomes for someone who answered many near-identical questions well, -1 x outcomes
for someone who passed on all of them, and little either way from one distant question (PRIOR
acts as one perfectly similar question with no outcome).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from knowledge.models import parse_time
from knowledge.store import Store

ANSWERED = 1.0
FAST = 0.5  # bonus for an immediate answer, halving every FAST_MINUTES
FAST_MINUTES = 60.0
SOLVED = 1.0
PASSED = -1.0
SNOOZED = -0.25  # per snooze, when no answer followed
SILENT = -0.25  # asked, never answered, and the question was settled without them
PRIOR = 1.0
CHUNK = 500  # ids per SQL statement


@dataclass(frozen=True)
class Outcome:
    """How one person responded to one routed question."""

    question_id: int
    expert: str
    kind: str  # "answered", "passed", "snoozed", "silent"
    asked_at: datetime
    minutes: float | None = None  # how long an answer took
    solved: bool = False  # the asker marked this person's answer solved
    snoozes: int = 0

    @property
    def signal(self) -> float:
        if self.kind == "answered":
            fast = 0.0 if self.minutes is None else FAST * 0.5 ** (self.minutes / FAST_MINUTES)
            return ANSWERED + fast + (SOLVED if self.solved else 0.0)
        if self.kind == "passed":
            return PASSED
        if self.kind == "snoozed":
            return SNOOZED * max(1, self.snoozes)
        return SILENT


@dataclass
class PersonEvidence:
    """One person's outcome evidence for a question: the score term and what it came from."""

    term: float = 0.0
    answered: int = 0
    solved: int = 0
    passed: int = 0
    snoozed: int = 0
    silent: int = 0
    minutes: list[float] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """What counted for this person (route --explain, the request DM's "why you")."""
        if not self.answered:
            return []
        details = []
        if self.solved:
            details.append(f"{self.solved} marked solved")
        if self.minutes:
            typical = sorted(self.minutes)[len(self.minutes) // 2]
            details.append(f"typically in {_duration(typical)}")
        line = f"answered {_count(self.answered, 'similar routed question')}"
        return [line + (f" ({', '.join(details)})" if details else "")]

    def cautions(self) -> list[str]:
        """What counted against this person (listed after everything in their favour)."""
        lines = []
        if self.passed:
            lines.append(f"passed on {_count(self.passed, 'similar routed question')}")
        if self.snoozed:
            lines.append(f"snoozed {_count(self.snoozed, 'similar routed question')} "
                         "without answering")
        if self.silent:
            lines.append(f"did not answer {_count(self.silent, 'similar routed question')}")
        return lines


class Outcomes:
    """Reads routed questions' outcomes from `routes` and `questions`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def routed_question_ids(self) -> list[int]:
        """Every question someone was asked to answer, oldest first."""
        return [r["question_id"] for r in self.store.query(
            "SELECT DISTINCT question_id FROM routes ORDER BY question_id")]

    def of(self, question_ids: Iterable[int]) -> dict[int, list[Outcome]]:
        """The settled outcomes of these questions, per question."""
        ids = list(question_ids)
        found: dict[int, list[Outcome]] = defaultdict(list)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            rows = self.store.query(
                "SELECT r.question_id, r.expert, r.status, r.asked_at, r.responded_at, "
                "r.snoozes, q.expert_answered_by, q.status AS question_status, l.state "
                "FROM routes r JOIN questions q ON q.id = r.question_id "
                "LEFT JOIN ladders l ON l.question_id = r.question_id "
                f"WHERE r.question_id IN ({','.join('?' * len(chunk))}) ORDER BY r.id", chunk)
            for row in rows:
                outcome = _outcome(row)
                if outcome is not None:
                    found[outcome.question_id].append(outcome)
        return dict(found)

    def evidence(self, similar: Sequence[tuple[int, float]], *, now: datetime,
                 weight: float, temperature: float,
                 half_life_days: float) -> dict[str, PersonEvidence]:
        """Per person, the outcome term for a question whose similar routed questions are
        `similar` (question id, cosine), and the counts behind it."""
        if not similar or not weight:
            return {}
        outcomes = self.of(q for q, _ in similar)
        terms = outcome_terms(similar, outcomes, now=now, temperature=temperature,
                              half_life_days=half_life_days)
        people = {person: PersonEvidence(term=weight * term) for person, term in terms.items()}
        for question_id, cosine in similar:
            if cosine < 0.5:
                continue  # counted in the score, too distant to cite as a reason
            for outcome in outcomes.get(question_id, ()):
                person = people[outcome.expert]
                setattr(person, outcome.kind, getattr(person, outcome.kind) + 1)
                if outcome.kind == "answered":
                    person.solved += outcome.solved
                    if outcome.minutes is not None:
                        person.minutes.append(outcome.minutes)
        return people


def outcome_terms(similar: Sequence[tuple[int, float]], outcomes: dict[int, list[Outcome]], *,
                  now: datetime, temperature: float,
                  half_life_days: float) -> dict[str, float]:
    """Per person, the outcome term at weight 1 (as `Outcomes.evidence` computes it, without
    the counts): for fitting the weight (knowledge/outcome_fit.py)."""
    terms: dict[str, float] = defaultdict(float)
    mass = 0.0
    for question_id, cosine in similar:
        found = outcomes.get(question_id)
        if not found:
            continue
        age_days = max(0.0, (now - found[0].asked_at).total_seconds() / 86_400)
        kernel = math.exp((cosine - 1.0) / temperature) * 0.5 ** (age_days / half_life_days)
        mass += kernel
        for outcome in found:
            terms[outcome.expert] += kernel * outcome.signal
    return {person: term / (PRIOR + mass) for person, term in terms.items()}


def _outcome(row: dict) -> Outcome | None:
    asked_at = parse_time(row["asked_at"])
    status = row["status"]
    settled = row["state"] in ("answered", "exhausted", "cancelled") or row["expert_answered_by"]
    if status == "answered":
        minutes = None
        if row["responded_at"]:
            minutes = max(0.0, (parse_time(row["responded_at"]) - asked_at).total_seconds() / 60)
        solved = (row["question_status"] == "solved"
                  and row["expert_answered_by"] == row["expert"])
        return Outcome(row["question_id"], row["expert"], "answered", asked_at, minutes, solved)
    if status == "passed":
        return Outcome(row["question_id"], row["expert"], "passed", asked_at)
    if row["snoozes"]:  # snoozed (now or before) and not answered
        return Outcome(row["question_id"], row["expert"], "snoozed", asked_at,
                       snoozes=row["snoozes"])
    if status == "closed" or (status in ("asked", "snoozed") and settled):
        return Outcome(row["question_id"], row["expert"], "silent", asked_at)
    return None  # still open, or unreachable (failed)


def _count(n: int, noun: str) -> str:
    return f"{'a' if n == 1 else n} {noun}{'' if n == 1 else 's'}"


def _duration(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.0f} h"
