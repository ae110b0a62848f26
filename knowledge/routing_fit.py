"""The routing ranker fitted to one organisation's own answered history.

The ranker's constants suit large communities where hundreds of people answer; where a handful
answer everything, "ask whoever answers most" is right far more often. So the ranker is fitted
per organisation by a time-ordered evaluation: the newer answered entries' authors, each ranked
from the older entries only, in FOLDS time folds (the newest share of the answered entries and
the same share just before it, twice), and the ranker that finds the real answerers is kept.

Since issue 10 that ranker is a conditional logit fitted by likelihood on those folds
(knowledge/routing_model.py: the shares the default blend mixes, and their logarithms; with
dates, also how fast an answer's evidence fades, `fit_history`). It replaced a choice among 68
fixed blends by the one-standard-error rule, which it beats out of fold on the shared sites
(docs/benchmarks.md). The default blend (RoutingWeights without a
model) ranks until the history is large enough: MIN_ENTRIES answered entries and MIN_ITEMS
newer questions answered by someone seen before.

No model and no index here: the caller (index/routing_fit.py) passes each held-out question's
nearest older entries. `EvidenceFrame.history` and `.hits` are the ranker's own formula
(ExpertRanker.rank) evaluated for many questions at once with numpy; tests hold them to the
ranker on seeded data. `choose` and `nested_estimate` (the one-standard-error rule) serve the
outcome term's fit (knowledge/outcome_fit.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

import numpy as np

from knowledge.models import format_time, parse_time
from knowledge.routing_model import (
    HALF_LIVES,
    MODEL_OUTCOMES,
    SHARES,
    UNFITTED,
    Block,
    HistoryModel,
    fit_choosing,
)
from knowledge.store import Store

MIN_ENTRIES = 50  # answered entries needed before a fit is trusted at all
MIN_ITEMS = 10  # scorable held-out questions needed
# (question, person) pairs a fit holds at most: more answerers mean fewer questions per fold
# (3,000 people: about 130). bench.routing_fit_memory, 3,000 people, dated (six half-lives
# tried): 449 MiB peak and 48 s at this bound, against 1,438 MiB and 147 s for all 1,500
# held-out questions (one date: 424 MiB and 13 s, against 1,455 MiB and 65 s).
MAX_CELLS = 1_000_000
Z = 1.0  # candidates within this many paired standard errors of the best count as tied
META_KEY = "routing_fit"
OUTCOME_KEYS = ("outcomes", "outcome_temperature")  # the outcome term's fitted weights

@dataclass(frozen=True)
class RoutingWeights:
    """How the ranker weighs evidence. The defaults were chosen with bench/routing.py on the
    shared StackExchange sites; once the organisation's history is large enough, `model` (fitted
    to it, see fit_weights) replaces the blend of similarity, topic_share, popularity and
    recent."""

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
    # the history part fitted by likelihood (None: the blend above)
    model: HistoryModel | None = None

    @property
    def reach(self) -> int:
        """How many nearest entries the ranker reads."""
        return max(self.neighbours, self.model.reach if self.model else 0)


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


def interval(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a hit rate measured on n questions: how
    far the rate of the next questions of the same kind may fall from it by chance alone.
    (0, 1) on no questions."""
    if n <= 0:
        return 0.0, 1.0
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


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
    name: str = ""  # "likelihood" (the fitted model), "defaults"; before issue 10 a blend's name
    # An honest estimate (`score` is in-sample: the model was fitted on the same folds): the
    # same fit run on the older folds only, scored on the newest fold.
    nested: Score | None = None
    nested_held_out: int = 0  # the newest fold's questions
    nested_name: str = ""  # what the older folds gave ("likelihood"; "defaults" if too few)
    left: int = 0  # people deactivated when fitted (never suggested, their questions not targets)
    departed: tuple[str, ...] = ()  # who they were (a staleness check compares the people)
    outcome_fit: OutcomeFit | None = None  # None: fitted before the outcome term was

    def to_json(self) -> str:
        data = asdict(self)
        data["fitted_at"] = format_time(self.fitted_at) if self.fitted_at else None
        data["weights"] = {k: getattr(self.weights, k) for k in (*self.tunable, *OUTCOME_KEYS)}
        if self.weights.model is not None:
            data["weights"]["model"] = self.weights.model.to_dict()
        del data["tunable"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RoutingFit:
        data = json.loads(text)
        weights = dict(data["weights"])
        if weights.get("model"):
            weights["model"] = HistoryModel.from_dict(weights["model"])
        return cls(
            weights=replace(RoutingWeights(), **weights),
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
                defaults: RoutingWeights | None = None,
                max_cells: int = MAX_CELLS) -> RoutingFit:
    """Fit the ranker's model on the held-out questions' answerers, each ranked from its fold's
    past (knowledge/routing_model.py), or keep the defaults while the history is too small.

    `entries` is the size of the whole answered history (for the "too small" rule and the
    record). `folds` come newest first: the model's penalty (and, when the history has dates,
    the evidence half-life) is chosen by fitting on older folds and scoring newer ones
    (fit_history, routing_model.fit_choosing); the honest estimate (`nested`) is the
    whole fit run on folds[1:] and scored on folds[0]; `score` and `defaults_score` pool every
    fold's questions.
    The fit holds every (question, person) pair of a fold in memory: past `max_cells` pairs
    in all, each fold keeps its newest questions only.
    """
    defaults = defaults or RoutingWeights()
    frames = fold_frames(within_memory(folds, max_cells), defaults)
    n = sum(frame.n_items for frame in frames if frame is not None)
    base = RoutingFit(defaults, fitted=False, reason="", fitted_at=now, entries=entries,
                      held_out=n)
    if entries < MIN_ENTRIES:
        return replace(base, reason=f"only {entries} answered entries (a fit needs "
                                    f"{MIN_ENTRIES}); using the defaults")
    if n < MIN_ITEMS:
        return replace(base, reason=f"only {n} newer questions answered by someone "
                                    f"seen before (a fit needs {MIN_ITEMS}); using the defaults")
    fitted = fit_history(frames, defaults)
    if fitted is None:  # (cannot happen with n >= MIN_ITEMS scorable questions)
        return replace(base, reason="no held-out question could be fitted; using the defaults")
    model = fitted.model
    assert model is not None
    hits = [frame.hits([fitted, defaults]) for frame in frames if frame]
    hit1 = np.concatenate([h1 for h1, _ in hits], axis=1)
    hit5 = np.concatenate([h5 for _, h5 in hits], axis=1)
    score, defaults_score = (Score(float(a.mean()), float(b.mean()))
                             for a, b in zip(hit1, hit5, strict=True))
    older = sum(frame.n_items for frame in frames[1:] if frame is not None)
    if frames[0] is not None and older:
        honest = fit_history(frames[1:], defaults) if older >= MIN_ITEMS else None
        weights = honest or defaults
        (h1,), (h5,) = frames[0].hits([weights])
        base = replace(base, nested=Score(float(h1.mean()), float(h5.mean())),
                       nested_held_out=len(h1),
                       nested_name="likelihood" if honest else "defaults")
    return replace(base, weights=fitted, fitted=True, score=score,
                   defaults_score=defaults_score, name="likelihood",
                   reason=f"a ranker fitted by likelihood: the real answerers of "
                          f"{model.questions} newer questions over {len(hits)} time split(s), "
                          f"each ranked from the entries before it; {entries} answered "
                          f"entries, penalty {model.penalty:g}; {_half_life_said(fitted, frames)}")


def fit_history(frames: Sequence[EvidenceFrame | None],
                defaults: RoutingWeights) -> RoutingWeights | None:
    """The defaults with a model fitted on the frames (newest first; routing_model.fit_choosing
    chooses its penalty) and, when the history has dates, the evidence half-life (HALF_LIVES)
    whose model predicts newer folds best; None without a usable question."""
    candidates = [replace(defaults, half_life_days=h) for h in (
        (defaults.half_life_days, *(h for h in HALF_LIVES if h != defaults.half_life_days))
        if _dated(frames) else (defaults.half_life_days,))]

    def variant(w: RoutingWeights):
        def blocks() -> list[Block]:
            for frame in frames:
                if frame is not None:
                    frame.forget()  # one half-life's shares held at a time
            return [frame.block(w) if frame else _EMPTY for frame in frames]
        return blocks

    chosen = fit_choosing([variant(w) for w in candidates])
    if chosen is None:
        return None
    k, model = chosen
    return replace(candidates[k], model=model, outcomes=MODEL_OUTCOMES)


def _dated(frames: Sequence[EvidenceFrame | None]) -> bool:
    return any(frame is not None and frame.dated for frame in frames)


def _half_life_said(weights: RoutingWeights, frames: Sequence[EvidenceFrame | None]) -> str:
    if _dated(frames):
        return (f"an answer's evidence halves over {weights.half_life_days:g} days (chosen "
                f"among {', '.join(f'{h:g}' for h in HALF_LIVES)})")
    return (f"an answer's evidence halves over {weights.half_life_days:g} days (the default: "
            "the history's answers are all of one date)")


def fold_frames(folds: Sequence[Fold], weights: RoutingWeights) -> list[EvidenceFrame | None]:
    """Each fold's scorable held-out questions as an EvidenceFrame (None where there are
    none): what the model is fitted on (`EvidenceFrame.block`) and scored with."""
    return [EvidenceFrame.build(fold.past, items, weights.recent_answers)
            if (items := fold.scorable()) else None for fold in folds]


def within_memory(folds: Sequence[Fold], max_cells: int = MAX_CELLS) -> list[Fold]:
    """`folds` with each fold's held-out questions cut to its newest ones, so that questions x
    people who answered before stay within `max_cells` over all folds (held out in time order,
    oldest first)."""
    kept = []
    for fold in folds:
        people = len({p.answered_by for p in fold.past if p.answered_by})
        keep = max(1, max_cells // max(1, len(folds) * people))
        kept.append(replace(fold, held_out=list(fold.held_out)[-keep:]))
    return kept


_EMPTY: Block = (np.zeros((0, 0, len(SHARES))), np.zeros((0, 0), dtype=bool),
                 np.zeros(0, dtype=int))


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


def history_scores(past: Sequence[PastAnswer], items: Sequence[HeldOut],
                   weights: RoutingWeights) -> tuple[list[str], np.ndarray]:
    """The people who answered in `past` (sorted by name, the ranker's tie order) and the
    ranker's history score of each (columns) for each held-out question (rows), before the
    outcome term (for knowledge/outcome_fit.py)."""
    frame = EvidenceFrame.build(past, items, weights.recent_answers)
    return frame.people, frame.history(weights)


def _recent_answers(grid: Sequence[RoutingWeights]) -> int:
    recent_answers = {w.recent_answers for w in grid}
    if len(recent_answers) != 1:
        raise ValueError("every weights scored together must share recent_answers")
    return recent_answers.pop()


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
    recent_answers: int
    _cache: dict = field(default_factory=dict, repr=False)

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
            recent_answers=recent_answers,
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

    def blend(self, w: RoutingWeights) -> np.ndarray:
        """Per item and person, the default blend's score under `w`."""
        votes, topics = self._components(w.temperature, w.half_life_days, w.rating,
                                         w.tag_neighbours, w.neighbours)
        return (w.similarity * votes + w.topic_share * topics
                + w.popularity * self.popularity + w.recent * self.recent)

    def allowed(self) -> np.ndarray:
        """Per item and person, whether they may be suggested."""
        allowed = np.ones((self.n_items, len(self.people)), dtype=bool)
        for i, p in self.excluded:
            allowed[i, p] = False
        return allowed

    def shares(self, w: RoutingWeights) -> np.ndarray:
        """Per item and person, the model's shares (routing_model.SHARES, last axis), computed
        as `w.model` says (before a fit: as any model does); the default blend's as `w`'s
        blend weights say."""
        m = w.model or UNFITTED
        sharp, topics = self._components(m.sharp_temperature, w.half_life_days, w.rating,
                                          m.tag_neighbours, m.sharp_neighbours)
        broad, _ = self._components(m.broad_temperature, w.half_life_days, w.rating,
                                    m.tag_neighbours, m.broad_neighbours)
        shape = sharp.shape
        return np.stack([sharp, broad, topics, np.broadcast_to(self.popularity, shape),
                         np.broadcast_to(self.recent, shape), self.blend(w)], axis=2)

    @property
    def dated(self) -> bool:
        """Whether some question's evidence differs in age (a history imported without dates
        is all of one date: then only a constant per question, which the shares cancel)."""
        if self.age_days.size == 0:
            return False
        oldest = np.full(self.n_items, -np.inf)
        newest = np.full(self.n_items, np.inf)
        np.maximum.at(oldest, self.item, self.age_days)
        np.minimum.at(newest, self.item, self.age_days)
        return bool((oldest - newest > 1e-6).any())

    def forget(self) -> None:
        """Drop the cached components (they are recomputed when needed)."""
        self._cache.clear()

    def block(self, w: RoutingWeights) -> Block:
        """What the model is fitted on: the shares, who may be suggested, and the answerer."""
        return self.shares(w), self.allowed(), self.truth

    def history(self, w: RoutingWeights) -> np.ndarray:
        """Per item and person, the ranker's history score under `w`: the model's probability
        among those who may be suggested, or the default blend."""
        if w.model is not None:
            return w.model.probabilities(self.shares(w), self.allowed())
        return self.blend(w)

    def hits(self, grid: Sequence[RoutingWeights]) -> tuple[np.ndarray, np.ndarray]:
        """Whether the answerer is first / in the top five, for every weights (rows) and
        question (columns)."""
        if _recent_answers(grid) != self.recent_answers:
            raise ValueError("the weights count the latest answers differently from the frame")
        hit1 = np.zeros((len(grid), self.n_items), dtype=bool)
        hit5 = np.zeros_like(hit1)
        for row, w in enumerate(grid):
            hit1[row], hit5[row] = self.ranks_of_truth(self.history(w))
        return hit1, hit5

    def _components(self, *key) -> tuple[np.ndarray, np.ndarray]:
        if key not in self._cache:
            self._cache[key] = self.components(*key)
        return self._cache[key]

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
