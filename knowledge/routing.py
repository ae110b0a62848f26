"""Who should answer a question: experts ranked by what they answered before.

No model here: the caller passes the question's nearest entries (entry id, cosine) from the
index, so history is never re-embedded per question. Each similar entry is evidence for the
person who answered it, weighted by how similar it is, how recent, and how it was rated; the
evidence is blended with how much each person answers overall (a similarity vote alone fails
where many people answer, popularity alone where a few answer everything) and with topics
people declared or belong to through Slack user groups.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from knowledge.experts import AvailabilityRules
from knowledge.store import Store


@dataclass(frozen=True)
class RoutingWeights:
    """How evidence is weighed; defaults measured in bench/routing.py."""

    neighbours: int = 100  # similar entries considered as evidence
    temperature: float = 0.05  # similarity sharpness: weight = exp((cosine - 1) / temperature)
    floor: float = 0.2  # entries less similar than this are no evidence
    popularity: float = 0.2  # share of the final score from overall answer counts
    half_life_days: float = 730.0  # an answer's evidence halves over this age
    rating: float = 0.15  # per net helpful vote, on a log scale
    topic: float = 0.15  # bonus for a declared or group topic the question matches


@dataclass(frozen=True)
class Evidence:
    entry_id: int
    question: str
    similarity: float


@dataclass(frozen=True)
class ExpertScore:
    user: str
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class _Profile:
    answers: int
    helpful: int
    not_helpful: int


class ExpertRanker:
    """Ranks people for a question from its nearest entries and everyone's answer history."""

    def __init__(self, store: Store, weights: RoutingWeights | None = None,
                 cache_seconds: float = 60.0) -> None:
        self.store = store
        self.weights = weights or RoutingWeights()
        self.cache_seconds = cache_seconds
        self._profiles: tuple[float, dict[str, _Profile], int] | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._profiles = None

    def rank(self, neighbours: Sequence[tuple[int, float]], *, topics: Iterable[str] = (),
             exclude: Iterable[str] = (), k: int = 5,
             now: datetime | None = None) -> list[ExpertScore]:
        """The best `k` people for a question whose nearest entries are `neighbours`.

        `topics` are the question's topics (matched against declared and group topics);
        `exclude` are people never to suggest (the asker, say).
        """
        w = self.weights
        now = now or self.store.clock()
        excluded = set(exclude)
        profiles, total_answers = self._answer_profiles()
        close = [(i, s) for i, s in neighbours[: w.neighbours] if s >= w.floor]
        entries = self.store.get_entries(i for i, _ in close)
        votes: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        for entry_id, similarity in close:
            entry = entries.get(entry_id)
            if entry is None or not entry.answered_by or entry.answered_by in excluded:
                continue
            weight = math.exp((similarity - 1.0) / w.temperature)
            age_days = max(0.0, (now - entry.created_at).total_seconds() / 86_400)
            weight *= 0.5 ** (age_days / w.half_life_days)
            net = entry.helpful_count - entry.not_helpful_count
            weight *= math.exp(w.rating * math.copysign(math.log1p(abs(net)), net))
            votes[entry.answered_by] += weight
            evidence[entry.answered_by].append(Evidence(entry_id, entry.question, similarity))
        vote_total = sum(votes.values())
        topic_set = {t.lower() for t in topics}
        topic_of = self._topics_by_user(topic_set) if topic_set else {}
        candidates = set(votes) | {u for u in profiles if u not in excluded} | set(topic_of)
        scored: list[ExpertScore] = []
        for user in candidates - excluded:
            profile = profiles.get(user, _Profile(0, 0, 0))
            similar = votes.get(user, 0.0) / vote_total if vote_total else 0.0
            popular = profile.answers / total_answers if total_answers else 0.0
            score = (1 - w.popularity) * similar + w.popularity * popular
            matched = topic_of.get(user, ())
            if matched:
                score += w.topic
            if score <= 0:
                continue
            scored.append(ExpertScore(user, score, (), tuple(evidence.get(user, ()))))
        scored.sort(key=lambda s: (-s.score, s.user))
        return [
            ExpertScore(s.user, s.score, _reasons(s, profiles.get(s.user), topic_of.get(s.user)),
                        s.evidence)
            for s in scored[:k]
        ]

    def _answer_profiles(self) -> tuple[dict[str, _Profile], int]:
        with self._lock:
            cached = self._profiles
            if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
                return cached[1], cached[2]
        rows = self.store.query(
            "SELECT answered_by, count(*) AS n, sum(helpful_count) AS helpful, "
            "sum(not_helpful_count) AS not_helpful FROM entries "
            "WHERE answered_by IS NOT NULL AND answered_by != '' AND status = 'published' "
            "GROUP BY answered_by"
        )
        profiles = {r["answered_by"]: _Profile(r["n"], r["helpful"] or 0, r["not_helpful"] or 0)
                    for r in rows}
        total = sum(p.answers for p in profiles.values())
        with self._lock:
            self._profiles = (time.monotonic(), profiles, total)
        return profiles, total

    def _topics_by_user(self, topics: set[str]) -> dict[str, tuple[str, ...]]:
        """People whose declared topics, or user groups' topics, include one of `topics`."""
        marks = ",".join("?" * len(topics))
        rows = self.store.query(
            f"SELECT user, topic FROM expert_topics WHERE lower(topic) IN ({marks}) "
            f"UNION SELECT m.user, g.topic FROM group_members m JOIN group_topics g "
            f"ON g.group_id = m.group_id WHERE lower(g.topic) IN ({marks})",
            [*topics, *topics],
        )
        found: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            found[row["user"]].append(row["topic"])
        return {user: tuple(sorted(set(t))) for user, t in found.items()}


def _reasons(score: ExpertScore, profile: _Profile | None,
             topics: tuple[str, ...] | None) -> tuple[str, ...]:
    reasons: list[str] = []
    if score.evidence:
        best = max(score.evidence, key=lambda e: e.similarity)
        count = len(score.evidence)
        similar = "a similar question" if count == 1 else f"{count} similar questions"
        reasons.append(f"answered {similar}, e.g. “{_short(best.question)}”")
    if topics:
        reasons.append(f"knows about {', '.join(topics)}")
    if profile is not None and profile.answers:
        reasons.append(f"{profile.answers} answer{'s' if profile.answers != 1 else ''} "
                       "in the knowledge base")
        if profile.helpful:
            reasons.append(f"marked helpful {profile.helpful} time"
                           f"{'s' if profile.helpful != 1 else ''}")
    return tuple(reasons)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class RoutingPolicy:
    """How routing behaves (settings; see README "Routing")."""

    route_to: int = 2  # experts asked per round
    sla_minutes: float = 15.0  # wait this long for an answer before escalating
    topic_sla: tuple[tuple[str, float], ...] = ()  # per-topic overrides of sla_minutes
    fallback_channel: str | None = None  # asked when no expert answered in time
    publish_captured: bool = False  # captured answers publish at once (else: review)
    snooze_minutes: float = 60.0
    rules: AvailabilityRules = field(default_factory=AvailabilityRules)

    def sla_for(self, topic: str | None) -> float:
        return dict(self.topic_sla).get((topic or "").lower(), self.sla_minutes)


def question_topics(neighbour_tags: Sequence[tuple[tuple[str, ...], float]], text: str,
                    known: Iterable[str], min_similarity: float = 0.5) -> list[str]:
    """A question's topics: known topics named in it, then the tags of its close neighbours
    (weighted by similarity), most likely first."""
    weights: dict[str, float] = defaultdict(float)
    words = set(text.lower().replace("-", " ").split())
    for topic in known:
        if set(topic.lower().replace("-", " ").split()) <= words:
            weights[topic.lower()] += 10.0
    for tags, similarity in neighbour_tags[:5]:
        if similarity >= min_similarity:
            for tag in tags:
                weights[tag.lower()] += similarity
    return [t for t, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))]
