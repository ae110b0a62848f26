"""A routing blend fitted to one organisation's own answered history.

The ranker's constants (similarity sharpness, topic and popularity shares, half-life) suit large
communities where hundreds of people answer; where a handful answer everything, "ask whoever
answers most" is right far more often. So the blend is chosen per organisation by a time-ordered
evaluation: rank the newer answered entries' authors from the older entries only, and keep the
candidate weights that find the real answerer most often (hit@1 + hit@5).

No model and no index here: the caller (index/routing_fit.py) passes each held-out question's
nearest older entries. `score_grid` is the ranker's own formula (ExpertRanker.rank) evaluated for
many weights at once with numpy; tests hold it to the ranker on seeded data.

The candidates are few and structured (`candidates`): the defaults; the two references a blend
must at least match, "the busiest" (pure volume) and "the similar vote" (the answerers of the 20
most similar questions); who answered most lately; and a small grid of blends of those terms.
Every candidate without a volume term gets a vanishing one (FILL), so whoever answers most fills
the places the similar questions leave empty.

Trust: with too little history (< MIN_ENTRIES answered entries or < MIN_ITEMS scorable held-out
questions) the defaults stay. Otherwise the one-standard-error rule picks: find the candidate
with the best mean hit@1 + hit@5 over every fold's questions; every candidate within Z paired
standard errors of it is as good as the evidence can tell, and of those the simplest wins (the
fewest terms; among equals the similar vote first, then the defaults, then the better mean). So
thin or noisy evidence keeps a one-term reference or the defaults, and a lucky blend rarely
wins. The similar vote goes first among equals because it routes by what is asked: when the
evidence cannot tell "the busiest" from "the similar vote" (small teams, where hit@5 is the
whole team), questions still go to whoever answered their like, not all to the busiest.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

import numpy as np

from knowledge.models import format_time, parse_time
from knowledge.store import Store

MIN_ENTRIES = 50  # answered entries needed before a fit is trusted at all
MIN_ITEMS = 10  # scorable held-out questions needed
Z = 1.0  # candidates within this many paired standard errors of the best count as tied
META_KEY = "routing_fit"
FILL = 1e-3  # a vanishing volume term: the busiest fill places the similar questions leave
OUTCOME_KEYS = ("outcomes", "outcome_temperature")  # the outcome term's fitted weights

# The blends tried besides the defaults and the references (kept small: every extra candidate
# is one more chance for a lucky blend on a few hundred held-out questions).
NEIGHBOURS = (20, 100)
TEMPERATURES = (0.1, 0.5)  # sharp: the closest questions decide; flat: a broad vote
TOPIC_SHARES = (0.0, 0.8)
POPULARITIES = (FILL, 0.3, 1.0, 3.0)
RECENT = (0.0, 1.0)
HALF_LIVES = (90.0, 365.0, 3650.0)  # only tried when the history spans a year or more


@dataclass(frozen=True)
class RoutingWeights:
    """How the ranker weighs evidence. The defaults were chosen with bench/routing.py on the
    shared StackExchange sites; temperature, topic_share, popularity and half_life_days are
    refitted per organisation (see fit_weights)."""

    similarity: float = 1.0  # weight of the similar entries' vote (0: volume only)
    neighbours: int = 100  # similar entries considered as evidence
    temperature: float = 0.2  # similarity sharpness: weight = exp((cosine - 1) / temperature)
    tag_neighbours: int = 50  # the question's topics come from the tags of this many neighbours
    topic_share: float = 0.8  # weight of "who answers most of this question's topics"
    popularity: float = 0.1  # weight of "who answers most overall"
    recent: float = 0.0  # weight of "who answered most of the latest recent_answers"
    recent_answers: int = 50
    evidence_floor: float = 0.5  # similar entries cited as reasons are at least this similar
    half_life_days: float = 730.0  # an answer's evidence halves over this age
    rating: float = 0.15  # per net helpful vote, on a log scale
    topic: float = 0.15  # bonus for a declared or user-group topic the question matches
    # outcomes of routed questions (knowledge/outcomes.py): robust values chosen by
    # bench/routing_outcomes.py; the weight and sharpness are refitted per organisation once it
    # has enough answered routed questions (knowledge/outcome_fit.py)
    outcomes: float = 1.0  # weight of "answered (fast, solved) or passed on similar routed ones"
    outcome_temperature: float = 0.5  # similarity sharpness for routed questions
    outcome_half_life_days: float = 90.0  # an outcome's evidence halves over this age
    outcome_neighbours: int = 50  # similar routed questions considered

    @property
    def terms(self) -> int:
        """How many signals the blend mixes (a vanishing FILL term does not count)."""
        return sum(x > FILL for x in (self.similarity, self.topic_share, self.popularity,
                                      self.recent))


@dataclass(frozen=True)
class PastAnswer:
    """One older entry as evidence: who answered it (None: nobody), its tags, age and rating."""

    entry_id: int
    answered_by: str | None
    tags: tuple[str, ...]
    created_at: datetime
    net_rating: int = 0


@dataclass(frozen=True)
class HeldOut:
    """A newer answered question: its nearest older entries (id, cosine), best first (and,
    when it is a routed question, its most similar routed questions asked before it)."""

    answered_by: str
    asked_at: datetime
    neighbours: tuple[tuple[int, float], ...]
    exclude: tuple[str, ...] = ()
    routed: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Score:
    hit1: float
    hit5: float

    @property
    def total(self) -> float:
        return self.hit1 + self.hit5


@dataclass(frozen=True)
class OutcomeFit:
    """The outcome term's weight and sharpness in use, and the evidence behind them: this
    organisation's answered routed questions, each ranked with the outcomes of the routed
    questions asked before it only (knowledge/outcome_fit.py)."""

    outcomes: float  # the weight in use
    temperature: float
    fitted: bool  # False: the constants, for `reason`
    reason: str
    routed: int = 0  # answered routed questions when fitted (staleness compares it)
    held_out: int = 0  # routed questions scored
    score: Score | None = None  # the weight in use, on the scored routed questions
    without: Score | None = None  # the outcome term off, on the same questions
    constants: Score | None = None  # the constants (RoutingWeights' defaults), the same
    # the rule run on the older routed questions only, its pick scored on the newest
    nested: Score | None = None
    nested_held_out: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OutcomeFit:
        scores = {k: Score(**data[k]) if data.get(k) else None
                  for k in ("score", "without", "constants", "nested")}
        return cls(**{**data, **scores})


@dataclass(frozen=True)
class RoutingFit:
    """The weights in use for this organisation, and the evidence behind them."""

    weights: RoutingWeights
    fitted: bool  # False: the defaults, for `reason`
    reason: str
    fitted_at: datetime | None = None
    entries: int = 0  # answered entries in the history when fitted
    held_out: int = 0  # newer questions scored
    score: Score | None = None  # the weights in use, on the held-out questions
    defaults_score: Score | None = None  # the defaults, on the same questions
    tunable: tuple[str, ...] = field(default=("similarity", "neighbours", "temperature",
                                              "topic_share", "popularity", "recent",
                                              "half_life_days"),
                                     compare=False)
    name: str = ""  # which candidate: "defaults", "busiest", "similar vote", "blend", ...
    # An honest estimate (`score` is in-sample: the same folds chose the candidate): the same
    # rule run on the older folds only, and what it picks scored on the newest fold.
    nested: Score | None = None
    nested_held_out: int = 0  # the newest fold's questions
    nested_name: str = ""  # the candidate the older folds picked
    left: int = 0  # people deactivated when fitted (never suggested, their questions not targets)
    departed: tuple[str, ...] = ()  # who they were (a staleness check compares the people)
    outcome_fit: OutcomeFit | None = None  # None: fitted before the outcome term was

    def to_json(self) -> str:
        data = asdict(self)
        data["fitted_at"] = format_time(self.fitted_at) if self.fitted_at else None
        data["weights"] = {k: getattr(self.weights, k) for k in (*self.tunable, *OUTCOME_KEYS)}
        del data["tunable"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RoutingFit:
        data = json.loads(text)
        return cls(
            weights=replace(RoutingWeights(), **data["weights"]),
            fitted=data["fitted"], reason=data["reason"],
            fitted_at=parse_time(data["fitted_at"]) if data["fitted_at"] else None,
            entries=data["entries"], held_out=data["held_out"],
            score=Score(**data["score"]) if data["score"] else None,
            defaults_score=Score(**data["defaults_score"]) if data["defaults_score"] else None,
            name=data.get("name", ""),
            nested=Score(**data["nested"]) if data.get("nested") else None,
            nested_held_out=data.get("nested_held_out", 0),
            nested_name=data.get("nested_name", ""),
            left=data.get("left", 0),
            departed=tuple(data.get("departed", ())),
            outcome_fit=(OutcomeFit.from_dict(data["outcome_fit"]) if data.get("outcome_fit")
                         else None),
        )


DEFAULT_FIT = RoutingFit(RoutingWeights(), fitted=False, reason="not fitted yet")


def answered_count(store: Store) -> int:
    """Published entries that name who answered them: the history a fit learns from."""
    return store.query("SELECT count(*) AS n FROM entries WHERE status = 'published' "
                       "AND answered_by IS NOT NULL AND answered_by != ''")[0]["n"]


def load_fit(store: Store) -> RoutingFit:
    """The stored fit, or the defaults when none was stored."""
    rows = store.query("SELECT value FROM meta WHERE key = ?", [META_KEY])
    return RoutingFit.from_json(rows[0]["value"]) if rows else DEFAULT_FIT


def save_fit(store: Store, fit: RoutingFit) -> None:
    """Store a fit in one statement: a ranker reads either the old one or the new one."""
    with store.transaction():
        store.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) "
                         "DO UPDATE SET value = excluded.value", [META_KEY, fit.to_json()])


def references(defaults: RoutingWeights) -> dict[str, RoutingWeights]:
    """One-term candidates, two of them the references a fitted blend must at least match."""
    plain = replace(defaults, topic_share=0.0, recent=0.0)
    return {
        "busiest": replace(plain, similarity=0.0, popularity=1.0),
        "similar vote": replace(plain, neighbours=20, temperature=0.5, popularity=FILL),
        "busiest lately": replace(plain, similarity=0.0, popularity=FILL, recent=1.0),
    }


def candidates(defaults: RoutingWeights, dated: bool) -> list[tuple[str, RoutingWeights]]:
    """The named candidates searched besides the defaults, simplest first; the half-life is
    only varied when the history has real dates."""
    half_lives = HALF_LIVES if dated else (defaults.half_life_days,)
    named = list(references(defaults).items())
    blends = [replace(defaults, neighbours=n, temperature=t, topic_share=ts, popularity=p,
                      recent=r, half_life_days=h)
              for n, t, h, ts, p, r in itertools.product(NEIGHBOURS, TEMPERATURES, half_lives,
                                                          TOPIC_SHARES, POPULARITIES, RECENT)]
    named += [("blend", w) for w in sorted(blends, key=lambda w: w.terms) if w != defaults]
    return named


@dataclass(frozen=True)
class Fold:
    """One time-ordered evaluation: older entries as evidence, newer questions to score."""

    past: Sequence[PastAnswer]
    held_out: Sequence[HeldOut]

    def scorable(self) -> list[HeldOut]:
        """Held-out questions whose answerer answered in the past (the others cannot be hit)."""
        answered = {p.answered_by for p in self.past if p.answered_by}
        return [h for h in self.held_out if h.answered_by in answered]


def fit_weights(folds: Sequence[Fold], *, entries: int, now: datetime,
                defaults: RoutingWeights | None = None) -> RoutingFit:
    """Choose the candidate that finds the held-out questions' answerers from their pasts
    (the one-standard-error rule, see `choose`).

    `entries` is the size of the whole answered history (for the "too small" rule and the
    record). Each fold is scored on its own past; the scores are pooled over every fold's
    questions (several time origins, so one lucky period weighs less). `folds` come newest
    first: the nested estimate chooses on folds[1:] and scores the choice on folds[0].
    """
    defaults = defaults or RoutingWeights()
    scorable = [(fold, fold.scorable()) for fold in folds]
    n = sum(len(items) for _, items in scorable)
    base = RoutingFit(defaults, fitted=False, reason="", fitted_at=now, entries=entries,
                      held_out=n)
    if entries < MIN_ENTRIES:
        return replace(base, reason=f"only {entries} answered entries (a fit needs "
                                    f"{MIN_ENTRIES}); using the defaults")
    if n < MIN_ITEMS:
        return replace(base, reason=f"only {n} newer questions answered by someone "
                                    f"seen before (a fit needs {MIN_ITEMS}); using the defaults")
    dates = [p.created_at for fold in folds for p in fold.past]
    dated = (max(dates) - min(dates)).days >= 365
    named = [("defaults", defaults), *candidates(defaults, dated)]
    grid = [w for _, w in named]
    scored = [_hits(fold.past, items, grid) for fold, items in scorable if items]
    terms = [w.terms for w in grid]
    hit1 = np.concatenate([h1 for h1, _ in scored], axis=1)
    hit5 = np.concatenate([h5 for _, h5 in scored], axis=1)
    first = [row for row, (name, _) in enumerate(named) if name == "similar vote"] + [0]
    chosen, best = choose(hit1.astype(np.int8) + hit5.astype(np.int8), terms, first)
    hits = [Score(float(a.mean()), float(b.mean())) for a, b in zip(hit1, hit5, strict=True)]
    base = replace(base, **nested_estimate(scored if scorable[0][1] else [], terms, first,
                                           [name for name, _ in named]))
    name = named[chosen][0]
    how = (f"the best of {len(grid)} candidates" if chosen == best else
           f"the simplest of the candidates within {Z:g} standard error of the best "
           f"({named[best][0]}, hit@1 {hits[best].hit1:.3f} / hit@5 {hits[best].hit5:.3f})")
    if chosen == 0:
        return replace(base, score=hits[0], defaults_score=hits[0], name=name,
                       reason=f"no candidate beat the defaults clearly on {n} newer questions "
                              f"over {len(scored)} time split(s); using the defaults")
    return replace(base, weights=grid[chosen], fitted=True, score=hits[chosen],
                   defaults_score=hits[0], name=name,
                   reason=f"{name}: {how}; fitted on {entries} answered entries, scored on "
                          f"{n} newer questions over {len(scored)} time split(s)")


def nested_estimate(scored: Sequence[tuple[np.ndarray, np.ndarray]], terms: Sequence[int],
                    first: Sequence[int], names: Sequence[str], z: float = Z) -> dict:
    """The rule run on the older folds (scored[1:]) and its pick scored on the newest
    (scored[0]); no estimate without an older fold. Too few older questions keep the
    defaults, as fit_weights does."""
    if len(scored) < 2:
        return {}
    older = np.concatenate([h1.astype(np.int8) + h5.astype(np.int8)
                            for h1, h5 in scored[1:]], axis=1)
    row = choose(older, terms, first, z)[0] if older.shape[1] >= MIN_ITEMS else 0
    hit1, hit5 = scored[0]
    return {"nested": Score(float(hit1[row].mean()), float(hit5[row].mean())),
            "nested_held_out": hit1.shape[1], "nested_name": names[row]}


def choose(per_item: np.ndarray, terms: Sequence[int],
           first: Sequence[int] = (0,), z: float = Z) -> tuple[int, int]:
    """The one-standard-error rule over candidates (rows, the defaults first) scored per
    held-out question (columns): (the row chosen, the row with the best mean).

    Every row whose mean is within `z` paired standard errors of the best row's is as good as
    the evidence can tell; of those, the fewest `terms` win, then the rows in `first` (in that
    order), then the best mean."""
    means = per_item.mean(axis=1)
    best = int(np.argmax(means))
    n = per_item.shape[1]
    if n < 2:
        return 0, best
    diff = per_item[best][None, :].astype(float) - per_item
    se = diff.std(axis=1, ddof=1) / math.sqrt(n)
    tied = np.flatnonzero(means >= means[best] - z * se - 1e-12)
    preferred = {row: place for place, row in enumerate(first)}
    chosen = min(tied, key=lambda row: (terms[row], preferred.get(row, len(first)),
                                        -means[row], row))
    return int(chosen), best


def score_grid(past: Sequence[PastAnswer], items: Sequence[HeldOut],
               grid: Sequence[RoutingWeights]) -> np.ndarray:
    """hit@1 + hit@5 (0, 1 or 2) of each weights (rows) on each held-out question (columns)."""
    hit1, hit5 = _hits(past, items, grid)
    return hit1.astype(np.int8) + hit5.astype(np.int8)


def _hits(past: Sequence[PastAnswer], items: Sequence[HeldOut],
          grid: Sequence[RoutingWeights]) -> tuple[np.ndarray, np.ndarray]:
    """Whether the answerer is first / in the top five, for every weights and question.

    The ranker's score, per person: their share of the similarity-weighted vote of the
    question's nearest entries + topic_share x their share of answers on the question's likely
    tags + popularity x their share of all answers; ties go to the name first in order.
    """
    recent_answers = {w.recent_answers for w in grid}
    if len(recent_answers) != 1:
        raise ValueError("every weights scored together must share recent_answers")
    frame = EvidenceFrame.build(past, items, recent_answers.pop())
    hit1 = np.zeros((len(grid), len(items)), dtype=bool)
    hit5 = np.zeros((len(grid), len(items)), dtype=bool)
    for (temperature, half_life, rating, tag_n, n), rows in _group(grid).items():
        votes, topics = frame.components(temperature, half_life, rating, tag_n, n)
        for row in rows:
            hit1[row], hit5[row] = frame.ranks_of_truth(frame.blend(grid[row], votes, topics))
    return hit1, hit5


def history_scores(past: Sequence[PastAnswer], items: Sequence[HeldOut],
                   weights: RoutingWeights) -> tuple[list[str], np.ndarray]:
    """The people who answered in `past` (sorted by name, the ranker's tie order) and the
    ranker's history score of each (columns) for each held-out question (rows), before the
    outcome term (for knowledge/outcome_fit.py)."""
    frame = EvidenceFrame.build(past, items, weights.recent_answers)
    w = weights
    votes, topics = frame.components(w.temperature, w.half_life_days, w.rating,
                                     w.tag_neighbours, w.neighbours)
    return frame.people, frame.blend(w, votes, topics)


def _group(grid: Sequence[RoutingWeights]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for row, w in enumerate(grid):
        key = (w.temperature, w.half_life_days, w.rating, w.tag_neighbours, w.neighbours)
        groups.setdefault(key, []).append(row)
    return groups


@dataclass
class EvidenceFrame:
    """The held-out questions' neighbours, flattened into arrays once for every weights."""

    people: list[str]
    popularity: np.ndarray  # person -> share of all answers
    recent: np.ndarray  # person -> share of the latest answers
    tag_share: np.ndarray  # tag x person -> share of that tag's answers
    truth: np.ndarray  # item -> person index (-1: never answered before, never found)
    excluded: list[tuple[int, int]]  # (item, person) never suggested
    item: np.ndarray  # per (item, neighbour) pair
    rank: np.ndarray
    similarity: np.ndarray
    person: np.ndarray  # -1: nobody answered that neighbour
    age_days: np.ndarray
    net_rating: np.ndarray
    pair_tags: list[tuple[int, int, int]]  # (pair, tag) flattened: pair index, tag index
    n_items: int
    n_tags: int

    @classmethod
    def build(cls, past: Sequence[PastAnswer], items: Sequence[HeldOut],
              recent_answers: int) -> EvidenceFrame:
        counts: dict[str, int] = {}
        tag_counts: dict[tuple[str, str], int] = {}
        for p in past:
            if p.answered_by:
                counts[p.answered_by] = counts.get(p.answered_by, 0) + 1
                for tag in p.tags:
                    tag_counts[(tag, p.answered_by)] = tag_counts.get((tag, p.answered_by), 0) + 1
        people = sorted(counts)
        index = {u: i for i, u in enumerate(people)}
        tags = sorted({t for p in past for t in p.tags})
        tag_index = {t: i for i, t in enumerate(tags)}
        tag_share = np.zeros((len(tags), len(people)))
        for (tag, user), n in tag_counts.items():
            tag_share[tag_index[tag], index[user]] = n
        totals = tag_share.sum(axis=1, keepdims=True)
        tag_share = np.divide(tag_share, totals, out=np.zeros_like(tag_share), where=totals > 0)
        answers = np.array([counts[u] for u in people], dtype=float)
        recent = np.zeros(len(people))
        latest = sorted((p for p in past if p.answered_by),
                        key=lambda p: (p.created_at, p.entry_id))[-recent_answers:]
        for p in latest:
            recent[index[p.answered_by]] += 1
        by_id = {p.entry_id: p for p in past}
        cols: dict[str, list] = {k: [] for k in ("item", "rank", "sim", "person", "age", "net")}
        pair_tags: list[tuple[int, int, int]] = []
        for i, h in enumerate(items):
            for r, (entry_id, sim) in enumerate(h.neighbours):
                p = by_id.get(entry_id)
                if p is None:
                    continue
                for tag in p.tags:
                    pair_tags.append((len(cols["item"]), tag_index[tag], i))
                cols["item"].append(i)
                cols["rank"].append(r)
                cols["sim"].append(sim)
                cols["person"].append(index.get(p.answered_by, -1) if p.answered_by else -1)
                cols["age"].append(max(0.0, (h.asked_at - p.created_at).total_seconds() / 86_400))
                cols["net"].append(p.net_rating)
        return cls(
            people=people, popularity=answers / answers.sum(), recent=recent / recent.sum(),
            tag_share=tag_share,
            truth=np.array([index.get(h.answered_by, -1) for h in items], dtype=int),
            excluded=[(i, index[u]) for i, h in enumerate(items) for u in h.exclude
                      if u in index],
            item=np.array(cols["item"], dtype=int), rank=np.array(cols["rank"], dtype=int),
            similarity=np.array(cols["sim"]), person=np.array(cols["person"], dtype=int),
            age_days=np.array(cols["age"]), net_rating=np.array(cols["net"], dtype=float),
            pair_tags=pair_tags, n_items=len(items), n_tags=len(tags),
        )

    def components(self, temperature: float, half_life: float, rating: float, tag_n: int,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per item and person: the vote share, and the topic share (before its weight)."""
        near = self.rank < n
        weight = np.exp((self.similarity - 1.0) / temperature)
        votes = np.zeros((self.n_items, len(self.people)))
        voted = near & (self.person >= 0)
        vote = (weight * 0.5 ** (self.age_days / half_life)
                * np.exp(rating * np.sign(self.net_rating) * np.log1p(np.abs(self.net_rating))))
        np.add.at(votes, (self.item[voted], self.person[voted]), vote[voted])
        totals = votes.sum(axis=1, keepdims=True)
        votes = np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0)
        tag_weights = np.zeros((self.n_items, self.n_tags))
        if self.pair_tags:
            pairs = np.array(self.pair_tags)
            keep = (self.rank[pairs[:, 0]] < tag_n) & near[pairs[:, 0]]
            pairs = pairs[keep]
            np.add.at(tag_weights, (pairs[:, 2], pairs[:, 1]), weight[pairs[:, 0]])
        totals = tag_weights.sum(axis=1, keepdims=True)
        tag_weights = np.divide(tag_weights, totals, out=np.zeros_like(tag_weights),
                                where=totals > 0)
        return votes, tag_weights @ self.tag_share

    def blend(self, w: RoutingWeights, votes: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Per item and person, the ranker's score under `w` (from `components`)."""
        return (w.similarity * votes + w.topic_share * topics
                + w.popularity * self.popularity + w.recent * self.recent)

    def ranks_of_truth(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each item's answerer ranks first / in the top five under `scores`."""
        scores = np.where(scores > 0, scores, -np.inf)
        for i, p in self.excluded:
            scores[i, p] = -np.inf
        return truth_ranks(scores, self.truth)


def truth_ranks(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each item's (row's) answerer, the column `truth` (-1: none), ranks first / in
    the top five; -inf: not ranked at all; ties go to the column first in order (the ranker
    breaks ties by name, and the columns are sorted by name)."""
    rows = np.arange(scores.shape[0])
    known = truth >= 0
    truth = np.where(known, truth, 0)
    truth_score = scores[rows, truth][:, None]
    order = np.arange(scores.shape[1])[None, :]
    ahead = (scores > truth_score).sum(axis=1) + (
        (scores == truth_score) & (order < truth[:, None])).sum(axis=1)
    found = known & np.isfinite(truth_score[:, 0])
    return found & (ahead == 0), found & (ahead < 5)
