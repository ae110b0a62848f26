"""How likely a hit is to answer the question: a calibrated probability from the search evidence.

The fused score alone is not a probability: the same score means more when the next entry is
far behind and when dense and lexical search agree on the winner, and less when they pull
apart. `Calibration` turns the evidence of one hit into

    confidence = 1 / (1 + exp(-(bias + sum(weight_f * feature_f))))

a logistic regression fitted out of fold by bench/confidence_cv.py (held-out FAQs, and FAQs
left out of the index so that their paraphrases have no right answer). Every weight is kept
non-negative, so confidence never falls when the evidence for a hit grows.

Features of a hit (all cheap: no extra model call):
- `score`: the fused score; `cosine`: its dense similarity; `bonus`: its saturated BM25 bonus;
- `margin`: its fused score minus the best other entry's (negative below the top);
- `agreement`: 1 when it is both the dense and the lexical winner, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES = ("score", "cosine", "bonus", "margin", "agreement")


@dataclass(frozen=True)
class Evidence:
    """What the search knows about one hit, relative to the other entries."""

    score: float
    cosine: float
    bonus: float
    margin: float
    agreement: float

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)


@dataclass(frozen=True)
class Calibration:
    """A logistic map from a hit's evidence to the probability that it answers the question."""

    bias: float
    weights: Mapping[str, float]

    def confidence(self, evidence: Evidence) -> float:
        """The probability (0..1) that this hit answers the question."""
        z = self.bias + sum(self.weights.get(f, 0.0) * x
                            for f, x in zip(FEATURES, evidence.vector(), strict=True))
        if z >= 0:  # the two branches keep exp() from overflowing
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


# Fitted by `HF_HUB_OFFLINE=1 .venv/bin/python -m bench.confidence_cv` ("shipped") on every row
# of the 62 StackFAQ FAQs (619 paraphrases, each asked with its FAQ indexed and with it left out
# of the index), fusion weight 0.5, saturation 8. `bonus` came out negative and was dropped.
# The same procedure out of fold (5 FAQ folds x 5 seeds, thresholds by inner CV), pooled:
#   answer precision 0.943 (worst seed 0.930), coverage 0.784, answered when the FAQ is absent
#   4.7% (worst seed 5.5%), known questions given nothing 0.6%;
#   today's fused-score cut-offs (0.76 / 0.55) on the same rows: 0.920, 0.868, 7.4%.
DEFAULT = Calibration(
    bias=-9.5936,
    weights={"score": 5.1080, "cosine": 8.3158, "margin": 4.9919, "agreement": 0.2275},
)
ANSWER_AT = 0.745  # lowest confidence whose answers were >= 95% right (inner CV, every row)
SUGGEST_AT = 0.039  # lowest confidence whose suggestions were >= 60% right
