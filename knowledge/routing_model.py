"""A routing ranker fitted to one organisation by likelihood (a conditional logit).

Who answers a question depends on how the organisation works: where hundreds answer, the
answerers of the most similar questions; where a handful answer everything, mostly whoever
answers most, but less than in proportion to their volume; where answerers change hands, who
answered lately. No fixed blend of those signals suits them all (issue 10), so each
organisation gets its own: a person's score for a question is a linear function of the evidence
for them,

    the sharp vote: their share of the similarity-weighted vote of the 100 nearest entries,
        weight exp((cosine - 1) / 0.1) (the closest few decide);
    the broad vote: the same over the 20 nearest, weight exp((cosine - 1) / 0.5);
    the topic share: their share of the answers on the question's likely tags (the tags of the
        50 nearest entries, weighted as the sharp vote);
    the volume share: their share of all answers;
    the latest share: their share of the latest 50 answers;
    the default blend: their score under the fixed blend that ranks before a fit
        (RoutingWeights: the similar entries' vote, topics and volume);

and of the logarithm of each, log(share + FLOOR) (a multiplicative model, in which someone no
evidence speaks for sinks, and volume can count less than in proportion), each standardised.
The penalty spares the default blend's logarithm: it shrinks the model towards ranking as the
defaults do, not towards ranking everyone alike, so a small or noisy history moves the ranking
from the defaults only as far as its evidence carries.
The probability that a person answers is the softmax of the scores over everyone who answered
before (and may be asked). The coefficients maximise the likelihood of the real answerers of the
organisation's newer questions, each ranked from its older history (the time folds of
knowledge/routing_fit.py), with an L2 penalty chosen among PENALTIES by fitting on the older
folds and scoring the likelihood on the newer ones (ORIGINS). `fit_choosing` chooses the same
way among variants of the shares: with dates, the evidence half-life (HALF_LIVES), since how
fast expertise moves on is the organisation's own.

Measured by bench.routing (docs/benchmarks.md): on the same folds as the former choice among 68
fixed blends, 95 of 108 cells at least the better reference (the blends: 92), mean hit@1 0.346
(0.263); with the history kept current (--rolling) 101 of 108 (94). The default blend as a
share, spared by the penalty, raised pooled hit@1 on 42 small sites from 0.155 to 0.165 and on
the dated whole sites from 0.254 to 0.264, with 630 cells of 860 at least the better reference
against 628 before (eight runs). The feature set (the shares and their logarithms, against
either alone) was chosen leaving one site out by the experiment that preceded it
(bench/routing_logit.py, in git at 1d04b10): the same on every site.

No index and no model here: the shares come from EvidenceFrame (the fit) or the ranker
(knowledge/expert_ranking.py), which compute them each their own way; tests hold them equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize

SHARES = ("sharp vote", "broad vote", "topics", "volume", "latest", "default blend")
# The default blend's score (RoutingWeights' blend, what ranks before a fit) is a share too, and
# its logarithm's coefficient is not penalised: the penalty shrinks the model towards ranking as
# the defaults do (not towards ranking everyone alike), so a small history moves it only as far
# as its evidence carries. Models fitted before it (10 coefficients) use the first five shares.
FEATURES = (*SHARES, *(f"log {name}" for name in SHARES))
FREE = FEATURES.index("log default blend")
FLOOR = 1e-3  # log(share + FLOOR): nobody's log share is minus infinity
PENALTIES = (0.3, 3.0, 30.0)  # L2 penalties tried (per question, see `loss`)
# How fast an answer's evidence fades (RoutingWeights.half_life_days: its similarity vote halves
# over this age), tried by the fit beside the penalties when the history has dates (an
# organisation's experts change at their own pace): from six weeks to four years, doubling.
HALF_LIVES = (45.0, 90.0, 180.0, 365.0, 730.0, 1460.0)
# Time origins the penalty is chosen on: fit on the oldest fold and score the middle one, fit
# on the two older and score the newest, the likelihoods summed. Chosen over one origin (the
# newest fold only) and a stronger penalty on offer by bench.routing_penalty, leaving one site
# out (two origins on every site; 118 against 116 of 144 cells, small sites included).
ORIGINS = 2
# The outcome term's weight beside the model (knowledge/outcomes.py; its temperature stays
# RoutingWeights'). The model's probabilities sum to 1 over people where the default blend's
# scores sum to about 1.9 (a vote share, 0.8 x a topic share, 0.1 x a volume share), and the
# outcome weight 1 was chosen beside the blend. Replayed with the model in place
# (bench.routing_outcomes, 2026-11-28, docs/benchmarks.md) among 0.5, 1 and 3, the best mean
# gain over all sites is 0.5 under both response models, and left one site out on every site.
MODEL_OUTCOMES = 0.5

# (shares: items x people x len(SHARES); allowed: items x people; truth: item -> person)
Block = tuple[np.ndarray, np.ndarray, np.ndarray]


def features(shares: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """The model's inputs from the shares (last axis): the shares, then their logarithms."""
    return np.concatenate([shares, np.log(shares + floor)], axis=-1)


@dataclass(frozen=True)
class HistoryModel:
    """The fitted coefficients (per standardised feature, in `names` order) and how the shares
    are computed."""

    coefficients: tuple[float, ...]
    center: tuple[float, ...]  # the features' means on the folds (standardisation)
    scale: tuple[float, ...]  # their standard deviations
    penalty: float  # the L2 penalty chosen
    questions: int = 0  # held-out questions fitted on
    sharp_temperature: float = 0.1
    sharp_neighbours: int = 100
    broad_temperature: float = 0.5
    broad_neighbours: int = 20
    tag_neighbours: int = 50
    floor: float = FLOOR

    @property
    def shares_used(self) -> int:
        """How many of SHARES the model reads (5 for a model fitted before the default blend
        was one)."""
        return len(self.coefficients) // 2 if self.coefficients else len(SHARES)

    @property
    def names(self) -> tuple[str, ...]:
        used = SHARES[: self.shares_used]
        return (*used, *(f"log {name}" for name in used))

    @property
    def reach(self) -> int:
        """How many nearest entries the shares read."""
        return max(self.sharp_neighbours, self.broad_neighbours)

    def logits(self, shares: np.ndarray) -> np.ndarray:
        """Each person's score (before the softmax) from their shares (last axis)."""
        x = (features(shares[..., : self.shares_used], self.floor)
             - np.array(self.center)) / np.array(self.scale)
        return x @ np.array(self.coefficients)

    def probabilities(self, shares: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """The probability that each person (second-to-last axis of `shares`, last of the
        result) answers, among those `allowed`. The others get theirs on the same scale (people
        who left are listed as left); all 0 where nobody is allowed."""
        logits = self.logits(shares)
        if logits.shape[-1] == 0:  # nobody answered before
            return logits
        masked = np.where(allowed, logits, -np.inf)
        top = masked.max(axis=-1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        totals = np.exp(masked - top).sum(axis=-1, keepdims=True)
        return np.divide(np.exp(logits - top), totals, out=np.zeros_like(logits),
                         where=totals > 0)

    def describe(self, top: int = 10) -> str:
        """The coefficients, largest first: what counts for this organisation (per standard
        deviation of each feature; a log feature's large weight means that the share counts
        by ratios: double it and the odds grow by the same factor at any level)."""
        pairs = sorted(((name, value) for name, value, scale in zip(
            self.names, self.coefficients, self.scale, strict=True) if scale > 1e-6),
            key=lambda pair: -abs(pair[1]))[:top]  # (a feature that never varied says nothing)
        return ", ".join(f"{name} {value:+.2f}" for name, value in pairs)

    def evidence_shares(self) -> dict[str, float]:
        """How much each kind of evidence weighs in this organisation, as shares of the sum of
        the coefficients' sizes (a share and its logarithm together; the two votes together as
        "similar questions"), largest first: a plain summary of `describe`."""
        kinds = {"sharp vote": "similar questions", "broad vote": "similar questions",
                 "topics": "topics", "volume": "volume", "latest": "latest answers",
                 "default blend": "the default blend"}
        sizes: dict[str, float] = {}
        for name, value, scale in zip(self.names, self.coefficients, self.scale, strict=True):
            if scale > 1e-6:
                kind = kinds[name.removeprefix("log ")]
                sizes[kind] = sizes.get(kind, 0.0) + abs(value)
        total = sum(sizes.values())
        return {kind: size / total for kind, size in sorted(sizes.items(), key=lambda kv: -kv[1])
                } if total else {}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HistoryModel:
        return cls(**{**data, **{k: tuple(data[k]) for k in ("coefficients", "center",
                                                              "scale")}})


UNFITTED = HistoryModel((), (), (), 0.0)  # how the shares are computed before a fit


def loss(w: np.ndarray, blocks: Sequence[Block], penalty: float,
         penalised: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the answerers (+ the L2 penalty on the coefficients
    `penalised` marks, all by default) and its gradient; `blocks` hold standardised features
    (and every question's answerer is allowed)."""
    total, grad = 0.0, np.zeros_like(w)
    for x, allowed, truth in blocks:
        s = np.where(allowed, x @ w, -np.inf)
        top = s.max(axis=1, keepdims=True)
        e = np.exp(s - top)
        z = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(truth))
        total -= (s[rows, truth] - top[:, 0] - np.log(z[:, 0])).sum()
        p = e / z
        grad -= (x[rows, truth] - np.matmul(p[:, None, :], x)[:, 0, :]).sum(axis=0)
    count = sum(len(t) for _, _, t in blocks)
    shrunk = w if penalised is None else w * penalised
    return (total / count + penalty / 2 * shrunk @ shrunk / count,
            grad / count + penalty * shrunk / count)


def _standardised(blocks: Sequence[Block], center=None, scale=None):
    xs = [(features(shares), allowed, truth) for shares, allowed, truth in blocks]
    if center is None:
        flat = np.concatenate([x[allowed] for x, allowed, _ in xs])
        center, scale = flat.mean(axis=0), flat.std(axis=0) + 1e-9
    return [((x - center) / scale, a, t) for x, a, t in xs], center, scale


def _solve(blocks: Sequence[Block], penalty: float) -> np.ndarray:
    n = blocks[0][0].shape[2]
    penalised = np.ones(n)
    if n == len(FEATURES):  # (blocks without the default blend penalise everything)
        penalised[FREE] = 0.0  # shrink towards the defaults' ranking
    return minimize(loss, np.zeros(n), args=(blocks, penalty, penalised), jac=True,
                    method="L-BFGS-B").x


def usable(blocks: Sequence[Block]) -> list[Block]:
    """The blocks' questions whose answerer may be picked (allowed), empty blocks dropped."""
    kept = []
    for shares, allowed, truth in blocks:
        keep = (truth >= 0) & allowed[np.arange(len(truth)), np.maximum(truth, 0)]
        if keep.any():
            kept.append((shares[keep], allowed[keep], truth[keep]))
    return kept


def fit_model(blocks: Sequence[Block], penalties: Sequence[float] = PENALTIES,
              origins: int = ORIGINS) -> HistoryModel | None:
    """The model fitted on `blocks` (time folds, newest first); None without a usable
    question. The penalty: see fit_choosing (by the likelihood of newer blocks under fits on
    older ones, over `origins` time origins; 1: fit on blocks[1:], score blocks[0]; 2: also fit
    on blocks[2:] and score blocks[1]); the middle one with a single block."""
    chosen = fit_choosing([lambda: blocks], penalties, origins)
    return chosen[1] if chosen else None


def fit_choosing(variants: Sequence[Callable[[], Sequence[Block]]],
                 penalties: Sequence[float] = PENALTIES, origins: int = ORIGINS
                 ) -> tuple[int, HistoryModel] | None:
    """fit_model, choosing also among `variants`: the same questions' shares computed in
    different ways (e.g. with different evidence half-lives), each built when called so that
    one is held at a time. The variant and penalty whose fits on older blocks give the newer
    ones the highest likelihood win (ties: the first variant, then the first penalty); the
    model is fitted on the winner. (its index, the model); None without a usable question."""
    best: tuple[float, int, float] | None = None
    for k, make in enumerate(variants):
        blocks = usable(make())
        if not blocks:
            return None  # (the variants share their questions: none is usable in any)
        pairs = [(blocks[j + 1:], blocks[j]) for j in range(min(origins, len(blocks) - 1))]
        if not pairs:  # a single block: nothing newer to choose by
            best = best or (0.0, k, penalties[len(penalties) // 2])
            continue
        totals = dict.fromkeys(penalties, 0.0)
        for older, newer in pairs:  # (one origin's standardised copy held at a time)
            scaled, center, scale = _standardised(older)
            (target,), _, _ = _standardised([newer], center, scale)
            for lam in penalties:
                totals[lam] += loss(_solve(scaled, lam), [target], 0.0)[0] * len(newer[2])
            del scaled, target
        for lam in penalties:
            if best is None or totals[lam] < best[0] - 1e-9 * abs(best[0]):  # (rounding: a tie)
                best = (totals[lam], k, lam)
        del blocks, pairs
    assert best is not None
    _, k, penalty = best
    blocks = usable(variants[k]())
    scaled, center, scale = _standardised(blocks)
    w = _solve(scaled, penalty)
    return k, HistoryModel(tuple(float(c) for c in w), tuple(float(c) for c in center),
                           tuple(float(c) for c in scale), penalty,
                           questions=sum(len(t) for _, _, t in blocks))
