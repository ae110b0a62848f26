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
- `agreement`: 1 when it is both the dense and the lexical winner, else 0;
- `question_cosine`: the query's cosine to the entry's question alone (the index searches the
  question with the opening of its answer; a question asked the entry's way scores high on both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES = ("score", "cosine", "bonus", "margin", "agreement", "question_cosine")


@dataclass(frozen=True)
class Evidence:
    """What the search knows about one hit, relative to the other entries."""

    score: float
    cosine: float
    bonus: float
    margin: float
    agreement: float
    question_cosine: float

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
# of the index), fusion weight 0.5, saturation 8, the cosine being the better of the entry's two
# (question + answer, question alone; index/search.py), BM25 over the entry's whole text as one
# document (no field weights; index/lexical_index.py). The same procedure out of fold (5 FAQ
# folds x 5 seeds, thresholds by inner cross-validation aiming at 96% right), pooled:
#   with FTS5's BM25: answer precision 0.958 (worst seed 0.955), coverage 0.868, answered when
#   the FAQ is absent 3.8% (worst seed 4.2%), known questions given nothing 1.0%;
#   these constants on tantivy's BM25 (what the bot searches with): 0.959 (worst 0.956), 0.868,
#   3.8% (worst 4.0%);
#   with the former field weights (question 1, answer 0.35, tags 0.5): 0.958, 0.861, 3.7% (FTS5);
#   before the two-vector cosine (question + answer only): 0.955, 0.834, 3.9% (FTS5).
DEFAULT = Calibration(
    bias=-11.1158,
    weights={"score": 4.1563, "cosine": 5.7790, "bonus": 0.2882, "margin": 4.6581,
             "agreement": 0.1775, "question_cosine": 5.1832},
)
ANSWER_AT = 0.686  # lowest confidence whose answers were >= 96% right (inner CV, every row)
SUGGEST_AT = 0.029  # lowest confidence whose suggestions were >= 60% right
