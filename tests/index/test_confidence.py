"""The confidence of a hit: bounded, monotone in its evidence, the source of the tier."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from index.confidence import DEFAULT, FEATURES, Calibration, Evidence
from index.search import HybridSearch, Thresholds, Tier
from switchboard.cli import main
from tests.conftest import FIXTURES

evidence = st.builds(
    Evidence,
    score=st.floats(-1, 2),
    cosine=st.floats(-1, 1),
    bonus=st.floats(0, 1),
    margin=st.floats(-2, 2),
    agreement=st.sampled_from([0.0, 1.0]),
    question_cosine=st.floats(-1, 1),
)
calibrations = st.one_of(
    st.just(DEFAULT),
    st.builds(
        Calibration,
        bias=st.floats(-50, 50),
        weights=st.dictionaries(st.sampled_from(FEATURES), st.floats(0, 50)),
    ),
)


@given(calibrations, evidence, st.sampled_from(FEATURES), st.floats(0, 3))
def test_confidence_is_bounded_and_never_falls_as_evidence_grows(
    calibration: Calibration, seen: Evidence, feature: str, more: float
) -> None:
    stronger = Evidence(**{**vars(seen), feature: getattr(seen, feature) + more})
    low, high = calibration.confidence(seen), calibration.confidence(stronger)
    assert 0.0 <= low <= high <= 1.0


def test_shipped_weights_are_non_negative() -> None:
    assert all(weight >= 0 for weight in DEFAULT.weights.values())
    assert set(DEFAULT.weights) <= set(FEATURES)


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_the_tier_follows_the_confidence(a: float, b: float, confidence: float) -> None:
    thresholds = Thresholds(answer=max(a, b), suggest=min(a, b))
    expected = (
        Tier.ANSWER if confidence >= thresholds.answer
        else Tier.SUGGEST if confidence >= thresholds.suggest
        else Tier.NONE
    )
    assert thresholds.tier(confidence) is expected


def test_hits_carry_their_confidence_and_tier(faq_search: HybridSearch) -> None:
    hits = faq_search.search("download a whole dropbox folder", k=5)
    for hit in hits:
        assert 0.0 <= hit.confidence <= 1.0
        assert hit.tier is faq_search.thresholds.tier(hit.confidence)
    assert hits[0].confidence == max(h.confidence for h in hits)


def test_a_known_paraphrase_is_more_confident_than_an_unrelated_question(
    faq_search: HybridSearch,
) -> None:
    known = faq_search.search("Viewing all available public trello boards.", k=1)[0]
    unrelated = faq_search.search("What time does the Lisbon office canteen close?", k=1)[0]
    assert "trello" in known.entry.question.lower()
    assert known.confidence > 0.5 > unrelated.confidence
    assert known.tier is Tier.ANSWER and unrelated.tier is Tier.NONE


def test_search_json_gives_confidence_beside_tier(tmp_path: Path, model_cache: Path) -> None:
    env = {"SWITCHBOARD_HOME": str(tmp_path / "home"), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}
    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(FIXTURES / "stackfaq_sample.jsonl")], env=env)
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(
        main, ["search", "--json", "--k", "3"], env=env,
        input="Can I download a whole folder via the Dropbox web?\nLisbon canteen opening hours\n",
    )
    assert result.exit_code == 0, result.output
    known, unrelated = (json.loads(line) for line in result.output.splitlines())
    for payload in (known, unrelated):
        for hit in payload["hits"]:
            assert 0.0 <= hit["confidence"] <= 1.0 and hit["tier"] in ("answer", "suggest", "none")
    assert known["hits"][0]["confidence"] > unrelated["hits"][0]["confidence"]
    assert known["hits"][0]["tier"] == "answer"
