"""Outcomes teach the ranker, end to end against the fake Slack: an expert who passes or snoozes
on a routed question sinks for similar ones, one who answers and whose answer the asker marks
solved rises; the reasons say so; a question on another topic moves less."""

from __future__ import annotations

from dataclasses import replace

from knowledge.escalation import Routes, RouteStatus
from knowledge.expert_ranking import ExpertRanker
from knowledge.questions import QuestionStatus
from knowledge.routing_fit import RoutingFit, RoutingWeights, save_fit
from knowledge.routing_model import MODEL_OUTCOMES, HistoryModel
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.bot.routing_world import (
    PARKING,
    World,
    answer_via_modal,
    ask_and_request_expert,
    dm_card,
    open_modal,
    press,
)

SIMILAR = "A customer paid the same invoice twice, how do I refund one of the payments?"


def ranked(world: World, text: str) -> dict[str, tuple[int, float, tuple[str, ...]]]:
    """Everyone the bot would ask about `text`: place, score and reasons."""
    ranking = world.router.asker.finder.rank(text, exclude=["U123"], k=10)
    return {e.user: (place, e.score, e.reasons) for place, e in enumerate(ranking.experts)}


def without_outcomes(world: World, text: str) -> dict[str, float]:
    """The same ranking with the outcome term switched off: what the history alone says."""
    finder = world.router.asker.finder
    weights = replace(finder.ranker.weights, outcomes=0.0)
    plain = ExpertRanker(world.store, weights)
    vector = finder.search.embedder.embed([text])[0]
    neighbours = finder.search.entries.nearest(vector, weights.neighbours)
    return {e.user: e.score for e in plain.rank(neighbours, exclude=["U123"], k=10)}


def pass_on(bot: Bot, user: str) -> None:
    bot.send(signing.view_submission("expert_pass_modal", {}, user_id=user,
                                     private_metadata=open_modal(bot, user, "expert_pass")))
    bot.settle()


def test_pass_snooze_answer_and_solved_move_the_next_ranking(world: World) -> None:
    bot = world.bot
    before = ranked(world, SIMILAR)
    assert before["UERIN"][0] == 0 and before["UOMAR"][0] == 1  # the billing people lead

    _event, question_id = ask_and_request_expert(world)
    assert [r.expert for r in Routes(world.store).for_question(question_id)] == ["UERIN",
                                                                                  "UOMAR"]
    pass_on(bot, "UERIN")  # Omar is still asked: no new round yet
    card = dm_card(bot, "UOMAR")
    press(bot, "UOMAR", "expert_snooze", button_values(card["blocks"])["expert_snooze"],
          "DUOMAR", card["ts"])
    world.clock.advance(16)
    assert world.router.tick() == 1  # round 2: Lee and Kim are asked
    world.clock.advance(3)
    answer_via_modal(bot, "UKIM", "Refund the second payment from the invoice's Payments tab.")
    post = [m for m in bot.fake.history["C123"] if "answered your question" in
            blocks_text(m.get("blocks"))][-1]
    press(bot, "U123", "expert_answer_solved",
          button_values(post["blocks"])["expert_answer_solved"], "C123", post["ts"])
    assert bot.questions.get(question_id).status is QuestionStatus.SOLVED
    routes = {r.expert: r for r in Routes(world.store).for_question(question_id)}
    assert routes["UERIN"].status is RouteStatus.PASSED
    assert routes["UKIM"].status is RouteStatus.ANSWERED

    after = ranked(world, SIMILAR)
    plain = without_outcomes(world, SIMILAR)
    # the outcome term, per person: Erin passed, Omar snoozed (and the question went to
    # someone else), Lee stayed silent, Kim answered within minutes and it solved it
    term = {u: after[u][1] - plain.get(u, 0.0) for u in after}
    assert term["UKIM"] > 0.5 > 0 > term["UOMAR"] > term["UERIN"]
    assert term["ULEE"] < 0  # silent: down, still listed (the ladder may need them)
    assert after["UKIM"][0] < before["UKIM"][0] and after["UKIM"][0] == 0
    assert after["UERIN"][0] > before["UERIN"][0]
    kim = " ".join(after["UKIM"][2])
    assert "answered a similar routed question (1 marked solved, typically in 3 min)" in kim
    assert "passed on a similar routed question" in " ".join(after["UERIN"][2])
    assert "snoozed a similar routed question" in " ".join(after["UOMAR"][2])
    # a question on another topic moves less with what happened on billing
    parking, parking_plain = ranked(world, PARKING), without_outcomes(world, PARKING)
    parking_term = {u: s - parking_plain.get(u, 0.0) for u, (_, s, _) in parking.items()}
    for user in ("UKIM", "UERIN"):
        assert abs(parking_term.get(user, 0.0)) < abs(term[user]) / 2
    # and the next similar question really goes to Kim first
    _event, next_id = ask_and_request_expert(world, SIMILAR)
    assert Routes(world.store).for_question(next_id)[0].expert == "UKIM"


def test_with_a_fitted_ranker_in_place_the_bot_ranks_by_it_and_outcomes_still_count(
        world: World) -> None:
    """The stored fit holds a model (as after a refit on a larger history): the bot's ranking
    is the model's probability, and the same signals through signed requests move it, with the
    outcome weight on the model's scale."""
    # what a fit learns where the most similar questions decide: the sharp vote, by ratios
    model = HistoryModel((0.5, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.5, 0.0), (0.0,) * 10,
                         (1.0,) * 10, 3.0, questions=40)
    save_fit(world.store, RoutingFit(replace(RoutingWeights(), model=model,
                                             outcomes=MODEL_OUTCOMES),
                                     fitted=True, reason="fitted by likelihood (test)",
                                     fitted_at=world.clock(), entries=8, name="likelihood"))
    world.router.asker.finder.ranker.forget()
    before = ranked(world, SIMILAR)
    assert world.router.asker.finder.ranker.weights.model == model
    assert before["UERIN"][0] == 0 and before["UOMAR"][0] == 1
    assert 0.99 < sum(score for _, score, _ in before.values()) <= 1.0 + 1e-9  # probabilities

    _event, question_id = ask_and_request_expert(world)
    pass_on(world.bot, "UERIN")
    world.clock.advance(16)
    assert world.router.tick() == 1  # round 2: Lee and Kim are asked
    world.clock.advance(3)
    answer_via_modal(world.bot, "UKIM", "Refund the second payment from the Payments tab.")
    post = [m for m in world.bot.fake.history["C123"] if "answered your question" in
            blocks_text(m.get("blocks"))][-1]
    press(world.bot, "U123", "expert_answer_solved",
          button_values(post["blocks"])["expert_answer_solved"], "C123", post["ts"])
    assert world.bot.questions.get(question_id).status is QuestionStatus.SOLVED

    after, plain = ranked(world, SIMILAR), without_outcomes(world, SIMILAR)
    term = {u: after[u][1] - plain.get(u, 0.0) for u in after}
    assert term["UKIM"] > 0 > term["UERIN"]
    assert term["UKIM"] <= MODEL_OUTCOMES  # the weight on the model's scale bounds the term
    assert after["UKIM"][0] < before["UKIM"][0] and after["UERIN"][0] > before["UERIN"][0]
    assert "answered a similar routed question (1 marked solved" in " ".join(after["UKIM"][2])
