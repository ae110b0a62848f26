"""Do outcomes teach the ranker? The shared histories replayed through the router, with a
simulated response model, hit@1 / hit@5 before and after outcome learning in the same run.

    HF_HUB_OFFLINE=1 python -m bench.routing_outcomes [--sites android,dba,history]
        [--shapes all,team10] [--splits 0.7] [--weights 1.0:0.1,0.3:0.1,3.0:0.1,1.0:0.2]
        [--fitted] [--json bench/out/routing_outcomes.json]

Per site x shape x split (the cells of bench.routing): the history is imported and the blend
fitted on it (RoutingFitter, as the product does). Then the test questions are asked one by one
in time order, STEP_DAYS apart, each stored as a question. For each question, on the same
ranking call's inputs:
- before: ExpertRanker with the fitted weights and the outcome term off;
- after: the same with outcomes on (the product): the question's most similar routed questions
  come from index/routed_questions.RoutedQuestions, their outcomes from the `routes` table.
Then the question is routed from the "after" ranking, two people a round (RoutingPolicy's
route_to) for up to ROUNDS rounds, and people respond by a simulated model (seeded per cell),
one of `--responses`:
- kind: the accepted answerer answers when asked, after an exponential delay (mean 30 min); the
  asker marks it solved with probability P_SOLVED; anyone else passes (P_PASS), snoozes
  (P_SNOOZE) or stays silent, at random;
- noisy (closer to real teams): the accepted answerer ignores the request one time in five and
  answers only late, from the fallback channel; people pass by topic (someone who answered one
  of the question's 20 most similar past questions passes 30% of the time, anyone else 70%);
  and one time in ten someone who knows the topic answers instead of the accepted answerer (the
  asker marks that solved half the time), so outcomes credit a person the scoring does not.
In both, an answerer never asked answers from the fallback channel (a route recorded as
answered, as Answers.submit does).
Answers are not captured into the knowledge base (captured answers wait for review by default),
so "after" differs from "before" only by what the outcomes taught.

--weights lists outcome weight:temperature pairs (or weight:temperature:half-life-days triples;
the half-life is otherwise the product's), each replayed on its own (the rankings decide who is
asked, so who learns what). The choice among them is scored by leave-one-site-out: for
each site, the pair with the best mean gain (hit@1 + hit@5) on the other sites, reported on it.

--fitted replays each cell once more with the outcome weight and temperature fitted per
organisation by the product's own code (RoutingFitter.refit_if_stale before each question:
the outcome part is refitted on the routed questions answered so far whenever they grew by a
tenth, knowledge/outcome_fit.py), and prints it next to the term off and the constants.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.embedding_cache import CachedEmbedder
from bench.routing import asked_text, cell_parser, each_cell, history_store, hits, rates, split
from index.routed_questions import RoutedQuestions
from index.routing_fit import RoutingFitter
from knowledge.escalation import FALLBACK_ANSWER, LadderState, Routes, RouteStatus
from knowledge.expert_ranking import ExpertRanker, RoutingWeights
from knowledge.outcome_fit import OUTCOME_Z
from knowledge.questions import AskInput, QuestionBook, QuestionSource, Verdict
from knowledge.routing_fit import RoutingFit
from knowledge.routing_model import MODEL_OUTCOMES
from knowledge.store import Store
from tests.clock import ManualClock

STEP_DAYS = 0.5  # between test questions
ROUNDS = 5
ROUTE_TO = 2
P_PASS, P_SNOOZE, P_SOLVED = 0.5, 0.15, 0.7
ANSWER_MINUTES = 30.0
KNOWS_NEIGHBOURS = 20  # who "knows the topic": answered one of this many most similar questions
console = Console(width=200)


@dataclass(frozen=True)
class Responses:
    """How the people asked respond (see the module docstring)."""

    name: str
    truth_answers: float  # the accepted answerer answers when asked (else only late)
    pass_knows: float  # someone who knows the topic passes
    pass_other: float  # anyone else passes
    snooze: float
    other_answers: float  # someone who knows the topic answers instead
    other_solved: float = 0.5  # ... and the asker marks that solved


RESPONSES = {
    "kind": Responses("kind", 1.0, P_PASS, P_PASS, P_SNOOZE, 0.0),
    "noisy": Responses("noisy", 0.8, 0.3, 0.7, P_SNOOZE, 0.1),
}


def replay(site: str, shape: str, old_share: float, rows: list[dict], embedder: CachedEmbedder,
           outcomes: float | None, temperature: float, responses: Responses = RESPONSES["kind"],
           half_life: float = RoutingWeights().outcome_half_life_days,
           outcome_z: float = OUTCOME_Z) -> dict:
    """One cell replayed; `outcomes` None: the outcome weight and temperature fitted by the
    product's own code (RoutingFitter) on the routed questions answered so far, refitted
    whenever the stored fit goes stale, checked before each question (the bot checks hourly)."""
    old, new, leaver = split(rows, old_share, shape)
    clock = ManualClock()
    store, index = history_store(site, old, embedder, clock, left=leaver)
    # the history is frozen here (answers are not captured): only the routed questions grow,
    # so an age limit would only refit the same blend again
    fitter = RoutingFitter(store, index, embedder, max_age=timedelta(days=36_500),
                           outcome_z=outcome_z)
    fitted = fitter.refit().weights
    learning = replace(fitted, outcomes=fitted.outcomes if outcomes is None else outcomes,
                       outcome_temperature=temperature, outcome_half_life_days=half_life)
    before_ranker = ExpertRanker(store, replace(fitted, outcomes=0.0))
    # fitted: the ranker reads the stored fit, as the product's does
    after_ranker = ExpertRanker(store) if outcomes is None else ExpertRanker(store, learning)
    refits: list[dict] = []
    vectors = embedder.embed([asked_text(r) for r in new])
    book, routed = QuestionBook(store), RoutedQuestions(store, embedder)
    author = {e.id: e.answered_by for e in store.iter_entries()}
    rng = random.Random(f"{site}-{shape}-{old_share}")
    scores: dict[str, list[tuple[int, int]]] = defaultdict(list)
    asked_per_question = []
    for row, vector in zip(new, vectors, strict=True):
        clock.advance(days=STEP_DAYS)
        if outcomes is None and (refit := fitter.refit_if_stale()) is not None:
            after_ranker.forget()
            refits.append(_refit_record(refit, len(scores["after"])))
        question, _ = book.receive(AskInput(row["asker"], asked_text(row), QuestionSource.DM))
        near = index.nearest(vector, learning.neighbours)
        similar = routed.similar(vector, learning.outcome_neighbours, exclude=question.id)
        truth = row["accepted_answerer"]
        before = before_ranker.rank(near, exclude=[row["asker"]], k=ROUNDS * ROUTE_TO)
        after = after_ranker.rank(near, exclude=[row["asker"]], k=ROUNDS * ROUTE_TO,
                                  routed=similar)
        scores["before"].append(hits([e.user for e in before], truth))
        scores["after"].append(hits([e.user for e in after], truth))
        routed.remember(question.full_text, vector)
        knows = {author[i] for i, _ in near[:KNOWS_NEIGHBOURS] if author.get(i)}
        asked_per_question.append(simulate(store, clock, rng, question.id, row,
                                           [e.user for e in after], responses, knows))
    store.close()
    return {
        "site": site, "shape": shape, "old_share": old_share, "test_questions": len(new),
        "outcomes": "fitted" if outcomes is None else outcomes,
        "outcome_temperature": "fitted" if outcomes is None else temperature,
        "responses": responses.name, "outcome_half_life_days": half_life, "refits": refits,
        "outcome_z": outcome_z,
        "methods": {name: rates(v) for name, v in scores.items()},
        "asked_before_the_answerer": sum(asked_per_question) / max(1, len(asked_per_question)),
    }


def _refit_record(fit: RoutingFit, asked: int) -> dict:
    """What one refit chose, after `asked` test questions."""
    outcome = fit.outcome_fit
    record: dict = {"after_questions": asked, "outcomes": fit.weights.outcomes,
                    "outcome_temperature": fit.weights.outcome_temperature,
                    "fitted": bool(outcome and outcome.fitted),
                    "routed": outcome.routed if outcome else 0,
                    "held_out": outcome.held_out if outcome else 0}
    for name in ("score", "without", "constants", "nested"):
        score = getattr(outcome, name, None)
        record[name] = [score.hit1, score.hit5] if score else None
    return record


def simulate(store: Store, clock: ManualClock, rng: random.Random, question_id: int,
             row: dict, ranked: list[str], responses: Responses = RESPONSES["kind"],
             knows: frozenset[str] | set[str] = frozenset()) -> int:
    """Route one question as the product would and let people respond; returns how many
    people were asked before the one who answered."""
    book, routes = QuestionBook(store), Routes(store)
    truth, asker = row["accepted_answerer"], row["asker"]
    routes.start(question_id, 15)
    asked = 0
    answerer, answer_route = truth, None
    for round_ in range(1, ROUNDS + 1):
        batch = ranked[(round_ - 1) * ROUTE_TO:round_ * ROUTE_TO]
        for user in batch:  # asked together; each responds on their own, the first answer wins
            route = routes.add(question_id, user, round_, 0.0, ())
            if route is None:
                continue
            if user == truth:
                if responses.truth_answers >= 1 or rng.random() < responses.truth_answers:
                    answer_route = answer_route or route
                continue
            asked += 1
            if responses.other_answers and user in knows \
                    and rng.random() < responses.other_answers:
                if answer_route is None:
                    answerer, answer_route = user, route  # someone else knew it
                continue
            draw = rng.random()
            passes = responses.pass_knows if user in knows else responses.pass_other
            if draw < passes:
                routes.respond(route.id, RouteStatus.PASSED)
            elif draw < passes + responses.snooze:
                routes.respond(route.id, RouteStatus.SNOOZED,
                               snoozed_until=clock() + timedelta(hours=1))
        if answer_route is not None:
            break
        clock.advance(15)
    route = answer_route or routes.find(question_id, truth) or routes.add(
        question_id, truth, ROUNDS, 0.0, (FALLBACK_ANSWER,))
    clock.advance(rng.expovariate(1 / ANSWER_MINUTES))
    book.record_expert_answer(question_id, answerer, "answered")
    routes.respond(route.id, RouteStatus.ANSWERED)
    routes.close_others(question_id, route.id)
    routes.stop(question_id, LadderState.ANSWERED)
    solved = P_SOLVED if answerer == truth else responses.other_solved
    if rng.random() < solved:
        book.record_feedback(question_id, asker, Verdict.SOLVED)
    return asked


def _gain(cell: dict) -> float:
    m = cell["methods"]
    return sum(m["after"][k] - m["before"][k] for k in ("hit@1", "hit@5"))


def _config(cell: dict) -> tuple[float, float, float]:
    return (cell["outcomes"], cell["outcome_temperature"],
            cell.get("outcome_half_life_days", RoutingWeights().outcome_half_life_days))


def leave_one_site_out(cells: list[dict]) -> list[dict]:
    """Per site: the weights with the best mean gain on the other sites, scored on it."""
    configs = sorted({_config(c) for c in cells})
    sites = sorted({c["site"] for c in cells})
    chosen = []
    for model in sorted({c.get("responses", "kind") for c in cells}):
        same = [c for c in cells if c.get("responses", "kind") == model]
        for site in sites:
            def mean_gain(config: tuple[float, float], held: str = site,
                          pool: list[dict] = same) -> float:
                others = [_gain(c) for c in pool if c["site"] != held
                          and _config(c) == config]
                return sum(others) / max(1, len(others))
            best = max(configs, key=mean_gain)
            chosen += [dict(c, chosen_on_other_sites=True) for c in same if c["site"] == site
                       and _config(c) == best]
    return chosen


def print_report(cells: list[dict], title: str) -> None:
    table = Table(title=title)
    for column in ("site", "shape", "split", "test qs", "responses", "weight:temp:half-life",
                   "before", "after", "asked before the answerer"):
        table.add_column(column)
    for c in cells:
        m = c["methods"]
        table.add_row(c["site"], c["shape"], str(c["old_share"]), str(c["test_questions"]),
                      c.get("responses", "kind"), ":".join(f"{x:g}" for x in _config(c)),
                      *(f"{m[n]['hit@1']:.3f} / {m[n]['hit@5']:.3f}" for n in ("before",
                                                                                "after")),
                      f"{c['asked_before_the_answerer']:.2f}")
    console.print(table)
    for model in sorted({c.get("responses", "kind") for c in cells}):
        same = [c for c in cells if c.get("responses", "kind") == model]
        n = sum(c["test_questions"] for c in same)
        for metric in ("hit@1", "hit@5"):
            pooled = {name: sum(c["methods"][name][metric] * c["test_questions"] for c in same)
                      / n for name in ("before", "after")}
            console.print(f"{model} responses, {metric} pooled over {n} questions: before "
                          f"{pooled['before']:.3f}, after {pooled['after']:.3f}")


def main() -> None:
    parser = cell_parser(__doc__, shapes="all,team10", splits="0.7")
    parser.add_argument("--weights", default="1.0:0.1")
    parser.add_argument("--responses", default="kind",
                        help=f"comma-separated response models: {', '.join(RESPONSES)}")
    parser.add_argument("--fitted", action="store_true",
                        help="also replay each cell with the outcome weight fitted per "
                             "organisation by the product (RoutingFitter), refitted when stale")
    parser.add_argument("--outcome-z", type=float, default=OUTCOME_Z,
                        help="with --fitted: standard errors a weight must beat the constants by")
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing_outcomes.json"))
    parser.add_argument("--choose-z", help="comma-separated JSON files of --fitted runs with "
                                           "different --outcome-z: choose z out of site")
    args = parser.parse_args()
    if args.choose_z:
        choose_z_out_of_site([Path(p) for p in args.choose_z.split(",")])
        return
    half_life = RoutingWeights().outcome_half_life_days
    configs = [(*(float(x) for x in pair.split(":")), half_life)[:3]
               for pair in args.weights.split(",")]
    models = [RESPONSES[name] for name in args.responses.split(",")]
    cells, fitted = [], []
    for site, shape, old_share, kept, embedder in each_cell(args.sites, args.shapes, args.splits):
        for (weight, temperature, days), model in itertools.product(configs, models):
            cells.append(replay(site, shape, old_share, kept, embedder, weight, temperature,
                                model, days))
            console.log(f"{site} {shape} {old_share} {weight}:{temperature} {model.name}: "
                        f"{cells[-1]['methods']}")
        for model in models if args.fitted else ():
            fitted.append(replay(site, shape, old_share, kept, embedder, None,
                                 RoutingWeights().outcome_temperature, model,
                                 outcome_z=args.outcome_z))
            console.log(f"{site} {shape} {old_share} fitted {model.name}: "
                        f"{fitted[-1]['methods']}, {len(fitted[-1]['refits'])} refits, last "
                        f"{fitted[-1]['refits'][-1] if fitted[-1]['refits'] else None}")
    print_report(cells, "Outcome learning: hit@1 / hit@5 before and after, every weights tried")
    chosen = leave_one_site_out(cells) if len(configs) > 1 else cells
    print_report(chosen, "Outcome weights chosen on the other sites (leave one site out)")
    if fitted:
        print_fitted(cells, fitted)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cells": cells, "chosen_out_of_site": chosen,
                                     "fitted": fitted,
                                     "defaults": {"outcomes": MODEL_OUTCOMES,
                                                  "outcome_temperature":
                                                      RoutingWeights().outcome_temperature}},
                                    indent=2))


def print_fitted(cells: list[dict], fitted: list[dict]) -> None:
    """Per cell: the outcome term off, at the constants, and fitted per organisation (all in
    the same run), and what the last refit chose."""
    constants = replace(RoutingWeights(), outcomes=MODEL_OUTCOMES)  # every cell fits a model
    at_constants = {_cell_key(c): c for c in cells
                    if _config(c)[:2] == (constants.outcomes, constants.outcome_temperature)}
    table = Table(title="Outcome weight fitted per organisation: hit@1 / hit@5")
    for column in ("site", "shape", "split", "test qs", "responses", "off", "constants",
                   "fitted", "refits", "last fit: weight (routed, scored)", "vs constants"):
        table.add_column(column)
    pooled: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 6)
    for f in fitted:
        c = at_constants.get(_cell_key(f))
        last = f["refits"][-1] if f["refits"] else None
        m = f["methods"]
        const = c["methods"]["after"] if c else None
        versus = "" if const is None else "".join(
            "=" if abs(m["after"][k] - const[k]) < 1e-9 else "W" if m["after"][k] > const[k]
            else "L" for k in ("hit@1", "hit@5"))
        weight = "" if last is None else (
            f"{last['outcomes']:g}:{last['outcome_temperature']:g} ({last['routed']}, "
            f"{last['held_out']}{'' if last['fitted'] else ', constants'})")
        table.add_row(f["site"], f["shape"], str(f["old_share"]), str(f["test_questions"]),
                      f["responses"], _pair(m["before"]), _pair(const) if const else "-",
                      _pair(m["after"]), str(len(f["refits"])), weight, versus)
        if const:
            total = pooled[(f["responses"], "")]
            for k, value in enumerate((m["before"]["hit@1"], m["before"]["hit@5"],
                                       const["hit@1"], const["hit@5"], m["after"]["hit@1"],
                                       m["after"]["hit@5"])):
                total[k] += value * f["test_questions"]
            pooled[(f["responses"], "n")][0] += f["test_questions"]
    console.print(table)
    for (model, tag), total in sorted(pooled.items()):
        if tag:
            continue
        n = pooled[(model, "n")][0]
        off1, off5, c1, c5, f1, f5 = (x / n for x in total)
        console.print(f"{model} responses, pooled over {n:.0f} questions, hit@1 / hit@5: off "
                      f"{off1:.3f} / {off5:.3f}, constants {c1:.3f} / {c5:.3f}, fitted "
                      f"{f1:.3f} / {f5:.3f}")


def choose_z_out_of_site(paths: list[Path]) -> None:
    """Runs of --fitted with different --outcome-z (one JSON each): per response model and
    site, the z with the best pooled gain over the constants (hit@1 + hit@5) on the other
    sites, and what it scores on the site itself, next to the constants. z = inf (never leave
    the constants) is a candidate too, the first: a finite z must gain to be chosen."""
    runs: dict[float, tuple[list[dict], dict]] = {}
    for path in paths:
        data = json.loads(path.read_text())
        constants = {_cell_key(c): c["methods"]["after"] for c in data["cells"]}
        runs[data["fitted"][0].get("outcome_z", 1.0)] = (data["fitted"], constants)
        # never moving off the constants is z = infinity: the constants' own replay
        runs[math.inf] = ([dict(c, methods={"after": c["methods"]["after"]})
                           for c in data["cells"]], constants)

    def pooled(z: float, model: str, sites: set[str]) -> tuple[float, float, float, float]:
        """Fitted hit@1, hit@5, then the constants', pooled over these sites' cells (of every
        response model when `model` is "both")."""
        fitted, constants = runs[z]
        cells = [f for f in fitted if model in (f["responses"], "both") and f["site"] in sites]
        n = sum(f["test_questions"] for f in cells)
        return tuple(sum(of(f)[k] * f["test_questions"] for f in cells) / n
                     for of in (lambda f: f["methods"]["after"],
                                lambda f: constants[_cell_key(f)])
                     for k in ("hit@1", "hit@5"))

    first = runs[min(runs)][0]
    everywhere = {f["site"] for f in first}
    for model in [*sorted({f["responses"] for f in first}), "both"]:
        for site in sorted(everywhere):
            others = everywhere - {site}
            z = max(sorted(runs, reverse=True), key=lambda z: sum(pooled(z, model, others)[:2])
                    - sum(pooled(z, model, others)[2:]))
            fit1, fit5, c1, c5 = pooled(z, model, {site})
            console.print(f"{model} {site}: z {z:g} chosen on the other sites; fitted "
                          f"{fit1:.3f} / {fit5:.3f}, constants {c1:.3f} / {c5:.3f}")


def _cell_key(cell: dict) -> tuple:
    return cell["site"], cell["shape"], cell["old_share"], cell.get("responses", "kind")


def _pair(rates: dict) -> str:
    return f"{rates['hit@1']:.3f} / {rates['hit@5']:.3f}"


if __name__ == "__main__":
    main()
