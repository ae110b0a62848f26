"""Who should answer a question: experts ranked by what they answered before.

No model here: the caller passes the question's nearest entries (entry id, cosine) from the
index, so history is never re-embedded per question. Each similar entry is evidence for the
person who answered it, weighted by how similar it is, how recent, and how it was rated; the
evidence is blended with how much each person answers overall (a similarity vote alone fails
where many people answer, popularity alone where a few answer everything), with topics
people declared or belong to through Slack user groups, and with what routing taught: how
people responded to similar routed questions (knowledge/outcomes.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from knowledge.expert_profiles import ExpertBook
from knowledge.outcomes import Outcomes, PersonEvidence
from knowledge.routing_fit import RoutingFit, RoutingWeights, load_fit
from knowledge.routing_model import SHARES, HistoryModel
from knowledge.store import Store

__all__ = ["Evidence", "ExpertRanker", "ExpertScore", "Ranked", "RoutingWeights",
           "question_topics"]


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
class Ranked:
    """The people ranked for a question, best first, and those who would have ranked among
    them but have left (deactivated in Slack), for explanations."""

    experts: list[ExpertScore]
    left: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Profile:
    answers: int
    helpful: int
    not_helpful: int


@dataclass
class _History:
    """Everyone's answer counts, overall and per tag (published entries)."""

    profiles: dict[str, _Profile]
    total: int
    by_tag: dict[str, dict[str, int]]  # tag -> person -> answers with that tag
    tag_totals: dict[str, int]
    recent: dict[str, int] = field(default_factory=dict)  # person -> answers among the latest
    # for the model: everyone who answered, by name, and their volume and latest shares
    people: list[str] = field(init=False)
    column: dict[str, int] = field(init=False)  # person -> place in `people`
    volume: np.ndarray = field(init=False)
    latest: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.people = sorted(self.profiles)
        self.column = {user: i for i, user in enumerate(self.people)}
        answers = np.array([self.profiles[u].answers for u in self.people], dtype=float)
        latest = np.array([self.recent.get(u, 0) for u in self.people], dtype=float)
        self.volume = answers / answers.sum() if answers.sum() else answers
        self.latest = latest / latest.sum() if latest.sum() else latest


class ExpertRanker:
    """Ranks people for a question from its nearest entries and everyone's answer history."""

    def __init__(self, store: Store, weights: RoutingWeights | None = None,
                 cache_seconds: float = 60.0) -> None:
        """With `weights`, always those; without, the ranker fitted to this organisation (stored
        by index/routing_fit.py; the defaults until there is one), re-read every
        `cache_seconds`."""
        self.store = store
        self._fixed = weights
        self.cache_seconds = cache_seconds
        self._profiles: tuple[float, _History] | None = None
        self._fit: tuple[float, RoutingFit] | None = None
        self._lock = threading.Lock()
        self.outcomes = Outcomes(store)
        self.experts = ExpertBook(store)

    @property
    def fit(self) -> RoutingFit:
        """The weights in use and why: given, fitted to this organisation, or the defaults."""
        if self._fixed is not None:
            return RoutingFit(self._fixed, fitted=False, reason="weights given by the caller")
        with self._lock:
            cached = self._fit
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        fit = load_fit(self.store)  # one row, written in one statement: never half a fit
        with self._lock:
            self._fit = (time.monotonic(), fit)
        return fit

    @property
    def weights(self) -> RoutingWeights:
        return self.fit.weights

    def forget(self) -> None:
        """Drop the cached history and fit (after a refit or an import)."""
        with self._lock:
            self._profiles = None
            self._fit = None

    def rank(self, neighbours: Sequence[tuple[int, float]], *, topics: Iterable[str] = (),
             exclude: Iterable[str] = (), k: int = 5, now: datetime | None = None,
             routed: Sequence[tuple[int, float]] = ()) -> list[ExpertScore]:
        """The best `k` people for a question (see `rank_explained`)."""
        return self.rank_explained(neighbours, topics=topics, exclude=exclude, k=k, now=now,
                                   routed=routed).experts

    def rank_explained(self, neighbours: Sequence[tuple[int, float]], *,
                       topics: Iterable[str] = (), exclude: Iterable[str] = (), k: int = 5,
                       now: datetime | None = None,
                       routed: Sequence[tuple[int, float]] = ()) -> Ranked:
        """The best `k` people for a question whose nearest entries are `neighbours` and whose
        most similar routed questions are `routed` (question id, cosine, best first), and who
        would have ranked among them but has left.

        score = history + topic bonus for declared or user-group topics matching `topics`
              + outcomes x how they responded to the similar routed questions (answered,
                fast, solved: up; passed, snoozed, silent: down; see knowledge/outcomes.py),
        where the history part is, with the default blend (RoutingWeights without a model):
                similarity x share of the similarity-weighted vote of the nearest entries'
                authors
              + topic_share x share of the answers on the question's likely tags
              + popularity x share of all answers
              + recent x share of the latest `recent_answers` answers (who is active now);
        and once a model is fitted to this organisation (knowledge/routing_model.py), the
        model's probability that they answer, from the same kinds of shares.
        `exclude` are people never to suggest (the asker, say). People whose Slack account is
        deactivated (ExpertBook.departed) are never suggested either; their answers stay in the
        history (every share above is of all answers), they are just not candidates.
        """
        w = self.weights  # read once: a refit stored meanwhile applies to the next question
        now = now or self.store.clock()
        excluded = set(exclude)
        departed = self.experts.departed() - excluded
        history = self._history()
        near = list(neighbours[: w.reach])
        entries = self.store.get_entries(i for i, _ in near)
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        for entry_id, similarity in near[: w.neighbours]:
            entry = entries.get(entry_id)
            if entry is not None and entry.answered_by and similarity >= w.evidence_floor:
                evidence[entry.answered_by].append(Evidence(entry_id, entry.question,
                                                            similarity))
        # the default blend: what ranks before a fit, and one of a fitted model's shares
        votes = _votes(near[: w.neighbours], entries, w, w.temperature, now)
        tag_weights = _tag_weights(near[: w.neighbours][: w.tag_neighbours], entries,
                                   w.temperature)  # (a model names the tags its own way)
        by_topic = _topic_shares(tag_weights, history)
        blended = _blend_scores(w, history, votes, by_topic)
        if w.model is None:
            def blend(user: str) -> float:
                column = history.column.get(user)
                if column is not None:
                    return float(blended[column])
                # answered since the history was read (it is cached): no volume counted yet
                return w.similarity * votes.get(user, 0.0) + w.topic_share * by_topic.get(
                    user, 0.0)

            speaks = (set(votes) | set(by_topic) | set(history.recent)
                      | {u for u, _ in _most(history.profiles, 30)})
        else:
            m = w.model
            tag_weights = _tag_weights(near[: m.sharp_neighbours][: m.tag_neighbours], entries,
                                       m.sharp_temperature)
            probability = _model_scores(
                m, history, excluded | departed,
                _votes(near[: m.sharp_neighbours], entries, w, m.sharp_temperature, now),
                _votes(near[: m.broad_neighbours], entries, w, m.broad_temperature, now),
                _topic_shares(tag_weights, history), blended)
            # only the likeliest can rank (the bonuses below are scored for anyone they name)
            likeliest = np.argsort(-probability, kind="stable")[: k + len(excluded | departed)
                                                                  + 20]
            speaks = {history.people[i] for i in likeliest}

            def blend(user: str) -> float:
                column = history.column.get(user)
                return float(probability[column]) if column is not None else 0.0

        topic_set = {t.lower() for t in topics}
        topic_of = self._topics_by_user(topic_set) if topic_set else {}
        learned = self.outcomes.evidence(
            routed[: w.outcome_neighbours], now=now, weight=w.outcomes,
            temperature=w.outcome_temperature, half_life_days=w.outcome_half_life_days)
        candidates = (speaks | set(topic_of)
                      | {u for u, e in learned.items() if e.term > 0}) - excluded
        scored: list[ExpertScore] = []
        for user in candidates:
            score = blend(user)
            if topic_of.get(user):
                score += w.topic
            known = score > 0  # the history or a declared topic speaks for them
            if user in learned:
                score += learned[user].term
            # one whose passes outweigh their history sinks below everyone else but stays
            # listed: on a small team the ladder may still need them before the fallback
            if score > 0 or known:
                scored.append(ExpertScore(user, score, (), tuple(evidence.get(user, ()))))
        scored.sort(key=lambda s: (-s.score, s.user))
        top: list[ExpertScore] = []
        left: list[str] = []
        for s in scored:
            if len(top) >= k:
                break
            if s.user in departed:
                left.append(s.user)
            else:
                top.append(s)
        top_tags = [t for t, _ in sorted(tag_weights.items(), key=lambda kv: -kv[1])[:3]]
        return Ranked([
            ExpertScore(s.user, s.score, _reasons(s, history, topic_of.get(s.user), top_tags,
                                                  learned.get(s.user)), s.evidence)
            for s in top
        ], tuple(left))

    def _history(self) -> _History:
        with self._lock:
            cached = self._profiles
            if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
                return cached[1]
        rows = self.store.query(
            "SELECT answered_by, count(*) AS n, sum(helpful_count) AS helpful, "
            "sum(not_helpful_count) AS not_helpful FROM entries "
            "WHERE answered_by IS NOT NULL AND answered_by != '' AND status = 'published' "
            "GROUP BY answered_by"
        )
        profiles = {r["answered_by"]: _Profile(r["n"], r["helpful"] or 0, r["not_helpful"] or 0)
                    for r in rows}
        by_tag: dict[str, dict[str, int]] = defaultdict(dict)
        tag_totals: dict[str, int] = defaultdict(int)
        # The tags are a JSON list in a text column; each dialect has its own way to unnest it.
        tags = ("json_each(e.tags) AS j" if self.store.dialect == "sqlite"
                else "json_array_elements_text(e.tags::json) AS j(value)")
        for row in self.store.query(
            f"SELECT j.value AS tag, e.answered_by AS user, count(*) AS n FROM entries e, {tags} "
            "WHERE e.answered_by IS NOT NULL AND e.answered_by != '' AND e.status = 'published' "
            "GROUP BY 1, 2"
        ):
            by_tag[row["tag"]][row["user"]] = row["n"]
            tag_totals[row["tag"]] += row["n"]
        recent: dict[str, int] = defaultdict(int)
        for row in self.store.query(
            "SELECT answered_by FROM entries WHERE answered_by IS NOT NULL AND answered_by != '' "
            "AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT ?",
            [self.weights.recent_answers],
        ):
            recent[row["answered_by"]] += 1
        history = _History(profiles, sum(p.answers for p in profiles.values()), dict(by_tag),
                           dict(tag_totals), dict(recent))
        with self._lock:
            self._profiles = (time.monotonic(), history)
        return history

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


def _votes(near: Sequence[tuple[int, float]], entries: dict, w: RoutingWeights,
           temperature: float, now: datetime) -> dict[str, float]:
    """Each answerer's share of the similarity-weighted vote of `near`: weight
    exp((cosine - 1) / temperature), halved every half-life, scaled by the net rating."""
    votes: dict[str, float] = defaultdict(float)
    for entry_id, similarity in near:
        entry = entries.get(entry_id)
        if entry is None or not entry.answered_by:
            continue
        weight = math.exp((similarity - 1.0) / temperature)
        age_days = max(0.0, (now - entry.created_at).total_seconds() / 86_400)
        weight *= 0.5 ** (age_days / w.half_life_days)
        net = entry.helpful_count - entry.not_helpful_count
        weight *= math.exp(w.rating * math.copysign(math.log1p(abs(net)), net))
        votes[entry.answered_by] += weight
    total = sum(votes.values())
    return {user: vote / total for user, vote in votes.items()} if total else {}


def _tag_weights(near: Sequence[tuple[int, float]], entries: dict,
                 temperature: float) -> dict[str, float]:
    """The question's likely tags: the tags of `near`, weighted by similarity."""
    weights: dict[str, float] = defaultdict(float)
    for entry_id, similarity in near:
        entry = entries.get(entry_id)
        if entry is not None:
            for tag in entry.tags:
                weights[tag] += math.exp((similarity - 1.0) / temperature)
    return dict(weights)


def _topic_shares(tag_weights: dict[str, float], history: _History) -> dict[str, float]:
    """Each person's share of the answers on the question's likely tags."""
    total = sum(tag_weights.values())
    shares: dict[str, float] = defaultdict(float)
    for tag, weight in tag_weights.items():
        for user, count in history.by_tag.get(tag, {}).items():
            shares[user] += (weight / total) * count / history.tag_totals[tag]
    return dict(shares)


def _blend_scores(w: RoutingWeights, history: _History, votes: dict[str, float],
                  by_topic: dict[str, float]) -> np.ndarray:
    """Per person who answered before (history.people), their score under the default blend
    of `w` (RoutingWeights: similarity x vote + topic_share x topics + popularity x volume +
    recent x latest; summed in that order, as EvidenceFrame.blend does)."""
    similar, topical = np.zeros(len(history.people)), np.zeros(len(history.people))
    for spread, share in ((similar, votes), (topical, by_topic)):
        for user, value in share.items():
            if user in history.column:
                spread[history.column[user]] = value
    scores = w.similarity * similar + w.topic_share * topical + w.popularity * history.volume
    if w.recent and history.latest.any():
        scores += w.recent * history.latest
    return scores


def _model_scores(model: HistoryModel, history: _History, barred: set[str],
                  sharp: dict[str, float], broad: dict[str, float], topics: dict[str, float],
                  blended: np.ndarray) -> np.ndarray:
    """Per person who answered before (history.people), the model's probability that they
    answer, among those not `barred` (the barred get theirs on the same scale: people who left
    are listed as left). `blended`: their default blend scores (_blend_scores)."""
    people = history.people
    shares = np.zeros((len(people), len(SHARES)))
    for column, share in enumerate((sharp, broad, topics)):
        for user, value in share.items():
            if user in history.column:
                shares[history.column[user], column] = value
    shares[:, 3], shares[:, 4], shares[:, 5] = history.volume, history.latest, blended
    return model.probabilities(shares, np.array([u not in barred for u in people], dtype=bool))


def _most(profiles: dict[str, _Profile], n: int) -> list[tuple[str, int]]:
    return sorted(((u, p.answers) for u, p in profiles.items()), key=lambda x: -x[1])[:n]


def _reasons(score: ExpertScore, history: _History, topics: tuple[str, ...] | None,
             question_tags: list[str], learned: PersonEvidence | None) -> tuple[str, ...]:
    reasons: list[str] = learned.reasons() if learned is not None else []
    if score.evidence:
        best = max(score.evidence, key=lambda e: e.similarity)
        count = len(score.evidence)
        similar = "a similar question" if count == 1 else f"{count} similar questions"
        reasons.append(f"answered {similar}, e.g. “{_short(best.question)}”")
    on_tags = [(t, history.by_tag.get(t, {}).get(score.user, 0)) for t in question_tags]
    on_tags = [(t, n) for t, n in on_tags if n]
    if on_tags:
        reasons.append("answers on " + ", ".join(f"{t} ({n})" for t, n in on_tags))
    if topics:
        reasons.append(f"knows about {', '.join(topics)}")
    profile = history.profiles.get(score.user)
    if profile is not None and profile.answers:
        reasons.append(f"{profile.answers} answer{'s' if profile.answers != 1 else ''} "
                       "in the knowledge base")
        if profile.helpful:
            reasons.append(f"marked helpful {profile.helpful} time"
                           f"{'s' if profile.helpful != 1 else ''}")
    if learned is not None:
        reasons += learned.cautions()
    return tuple(reasons)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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
