"""Who should answer this? Expert routing on ../shared/data/routing, in the shapes users have.

    HF_HUB_OFFLINE=1 python -m bench.routing [--sites android,dba,history]
        [--shapes all,team3,team5,team10,leaves,team5-leaves] [--splits 0.6,0.7,0.8]
        [--json bench/out/routing.json] [--fit-folds 3 --fit-share 0.2] [--rolling] [--dated]
    HF_HUB_OFFLINE=1 python -m bench.routing --report bench/out/routing.json  # a stored run
    HF_HUB_OFFLINE=1 python -m bench.routing --compare BEFORE.json AFTER.json  # a change

`--rolling` (rolling_cell): the history grows through the test period, as the product's does
when answers are captured and published; the fit is redone when stale and the references are
recomputed before each question (bench/out/routing_rolling.json).

`--dated` (with_dates): the data have no dates, so by default the history is imported as of
one day (as `switchboard import` without `created_at`) and an answer's age never counts. With
--dated each question gets an approximate date, its id mapped linearly from the site's public
launch to the dump (LAUNCHED, DUMPED), as an organisation importing real dates would have: the
evidence half-life then matters, and the fit chooses it (bench/out/routing_dated.json).

Shapes (data README: no dates, question ids grow with time):
- all: every question of the site;
- teamN: only the questions whose accepted answerer is one of the site's N busiest answerers
  (a company where a handful of people answer everything);
- specN: specialists, a company split into areas: of the questions the N busiest answered,
  only those carrying a tag on which their answerer is the busiest of the N (each tag then has
  one owner, who answers it; a question may carry tags of several areas);
- recentN: only the site's newest N questions, with everyone who answered them (a small
  site: the issue's four small Q&A sites had 150-500 answered questions);
- slicesN: every whole run of N consecutive questions, each its own small site (sliceN.0 is
  the oldest), with everyone who answered them: many small sites from each, so that figures
  pooled over them are not one test part's luck (run with --splits 0.8: each slice's newest
  fifth is its test part);
- a+b: shape b of shape a, e.g. slices600+team3: in every run of 600 questions, only those
  its 3 busiest answerers answered (many small companies where a few people answer all);
- oneP: the busiest answerer's questions and, evenly spread over time, just enough of the
  others' that the busiest answers P% of them: one90, nine in ten (the issue's vendor support
  forum, where "ask whoever answers most" was right eleven times in twelve); one50 or one70, a
  main expert with helpers who take their own share;
- leaves / team5-leaves: the busiest answerer of the old part leaves: their answers are dropped
  from the new part's targets, and they are marked deactivated in the history store before
  anything is fitted or ranked (as Slack's `user_change` event tells the product). The product
  never suggests them; both references skip them too (the busiest five who are still here; the
  vote of the 20 most similar questions without the leaver's votes), so the comparison stays
  fair. Their answers stay in the history as evidence.

Splits: sort by question id; the oldest S share is history, imported as knowledge entries
(question = title, answer = body, answered_by = the accepted answerer, tags kept), embedded and
indexed by the product's own code; the next 20% are test questions, scored when their accepted
answerer answered in the history and is not the asker (a self-answered question has nobody
to route to; the product never routes askers their own question). hit@1 / hit@5 of the
accepted answerer, per method:
- popularity (reference): always the five most frequent past accepted answerers (who are
  still here);
- nn-vote (reference): the answerers of the 20 most similar past questions, votes weighted by
  cosine (the leaver's votes dropped);
- defaults: `ExpertRanker` with the fixed default RoutingWeights, as the bot ranks (the
  question's nearest entries from `EntryIndex.nearest`, the asker excluded);
- fitted: the same, with what `RoutingFitter` fits on the history alone (its own inner time
  folds of the history; the test part is never seen), as the product does: since issue 10 a
  ranker fitted by likelihood (knowledge/routing_model.py), before it one of 68 fixed blends.

Each cell keeps every method's hits per test question ("hits"). The report counts the
cell-metrics below and above the better reference and how many of those differences are more
than chance (an exact McNemar test, `against_best`; then with Holm's correction over the run's
cell-metrics, `holm_losses`), and pools every method over the run's test questions.
`--report JSON` prints the report of a stored run; `--compare BEFORE AFTER` weighs a change:
the fit's pooled hits in two stored runs of the same cells, the McNemar p of the difference,
and every cell whose verdict changed (print_comparison).

Embeddings are cached per site in bench/out/cache/ (the first run embeds, later runs do not).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from scipy.stats import binom

from bench.common import load_jsonl, onnx_embedder
from bench.embedding_cache import CachedEmbedder
from index.entry_index import EntryIndex
from index.routing_fit import RoutingFitter
from knowledge.expert_profiles import ExpertBook
from knowledge.expert_ranking import ExpertRanker, RoutingWeights
from knowledge.models import EntryDraft
from knowledge.routing_model import HistoryModel
from knowledge.store import Store

ROUTING = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing"
CACHE = Path("bench/out/cache")
TEST_SHARE = 0.2
METHODS = ("popularity", "nn-vote", "defaults", "fitted")
console = Console(width=200)


def shape_rows(rows: list[dict], shape: str) -> list[dict]:
    """The site's questions, oldest first, kept for this shape (`a+b`: shape b of shape a)."""
    rows = sorted(rows, key=lambda r: int(r["question_id"]))
    if "+" in shape:
        for part in shape.split("+"):
            rows = shape_rows(rows, part)
        return rows
    team = shape.removesuffix("-leaves")
    if team.startswith("team"):
        busiest = {u for u, _ in Counter(r["accepted_answerer"] for r in rows)
                   .most_common(int(team.removeprefix("team")))}
        rows = [r for r in rows if r["accepted_answerer"] in busiest]
    elif team.startswith("spec"):  # specialists: each of the N busiest keeps their own tags
        busiest = {u for u, _ in Counter(r["accepted_answerer"] for r in rows)
                   .most_common(int(team.removeprefix("spec")))}
        rows = [r for r in rows if r["accepted_answerer"] in busiest]
        by_tag: dict[str, Counter] = defaultdict(Counter)
        for r in rows:
            for tag in r["tags"]:
                by_tag[tag][r["accepted_answerer"]] += 1
        owner = {tag: counts.most_common(1)[0][0] for tag, counts in by_tag.items()}
        rows = [r for r in rows if any(owner[t] == r["accepted_answerer"] for t in r["tags"])]
    elif team.startswith("recent"):  # a small site: its newest N questions, everyone
        rows = rows[-int(team.removeprefix("recent")):]
    elif team.startswith("slice"):  # sliceN.k: the k-th run of N consecutive questions
        size, k = (int(x) for x in team.removeprefix("slice").split("."))
        rows = rows[k * size:(k + 1) * size]
    elif team.startswith("one"):  # oneP: one person answers P% (one90: a vendor's forum)
        share = int(team.removeprefix("one")) / 100
        top = Counter(r["accepted_answerer"] for r in rows).most_common(1)[0][0]
        others = [r for r in rows if r["accepted_answerer"] != top]
        keep = min(len(others), round((len(rows) - len(others)) * (1 - share) / share))
        chosen = {id(others[round(i * len(others) / keep)]) for i in range(keep)}
        rows = [r for r in rows if r["accepted_answerer"] == top or id(r) in chosen]
    return rows


def split(rows: list[dict], old_share: float, shape: str) -> tuple[list[dict], list[dict], str]:
    """History, scorable test questions, and who left (or "")."""
    cut, end = int(len(rows) * old_share), int(len(rows) * (old_share + TEST_SHARE))
    old, new = rows[:cut], rows[cut:end]
    counts = Counter(r["accepted_answerer"] for r in old)
    leaver = counts.most_common(1)[0][0] if shape.endswith("leaves") else ""
    return old, [r for r in new if r["accepted_answerer"] in counts
                 and r["accepted_answerer"] not in (leaver, r["asker"])], leaver


def hits(ranked: list[str], truth: str) -> tuple[int, int]:
    return int(ranked[:1] == [truth]), int(truth in ranked[:5])


def history_store(site: str, old: list[dict], embedder: CachedEmbedder,
                  clock: Callable[[], datetime] | None = None,
                  left: str = "") -> tuple[Store, EntryIndex]:
    """A fresh store holding the history as knowledge entries, and its index; `left` (if any)
    is marked deactivated, as Slack would have told the product."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-routing-{site}-"))
    store = Store.open(folder / "sb.db", clock=clock) if clock else Store.open(folder / "sb.db")
    store.upsert_entries([
        EntryDraft(question=r["title"], answer=r["body"] or r["title"],
                   answered_by=r["accepted_answerer"], tags=tuple(r["tags"]),
                   external_id=f"{site}-{r['question_id']}", created_at=r.get("dated"))
        for r in old
    ])
    if left:
        ExpertBook(store).set_deactivated(left)
    return store, EntryIndex.open(store, embedder, folder / "index")


def asked_text(row: dict) -> str:
    """What a test question asks, as the product would see it."""
    return f"{row['title']}\n{row['body']}".strip()


def evaluate_cell(site: str, shape: str, old_share: float, rows: list[dict],
                  embedder: CachedEmbedder, fit_folds: int = 3, fit_share: float = 0.2) -> dict:
    old, new, leaver = split(rows, old_share, shape)
    store, index = history_store(site, old, embedder, left=leaver)
    ids = {e.external_id: e.id for e in store.iter_entries()}
    author = {ids[f"{site}-{r['question_id']}"]: r["accepted_answerer"] for r in old}
    vectors = embedder.embed([asked_text(r) for r in new])
    neighbours = [index.nearest(v, 200) for v in vectors]

    popular = [u for u, _ in Counter(r["accepted_answerer"] for r in old
                                     if r["accepted_answerer"] != leaver).most_common(5)]
    results: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row, near in zip(new, neighbours, strict=True):
        truth = row["accepted_answerer"]
        results["popularity"].append(hits(popular, truth))
        votes: Counter = Counter()
        for entry_id, sim in near[:20]:
            if author[entry_id] != leaver:
                votes[author[entry_id]] += sim
        results["nn-vote"].append(hits([u for u, _ in votes.most_common(5)], truth))

    seconds: dict[str, float] = {}

    def product(name: str, weights: RoutingWeights) -> list[tuple[int, int]]:
        ranker = ExpertRanker(store, weights)
        ranker.rank(neighbours[0])  # the history's counts are read once and cached
        started = time.perf_counter()
        ranked = [[s.user for s in ranker.rank(near, exclude=[row["asker"]], k=5)]
                  for row, near in zip(new, neighbours, strict=True)]
        seconds[name] = (time.perf_counter() - started) / len(new)
        return [hits(users, row["accepted_answerer"]) for users, row in zip(ranked, new,
                                                                           strict=True)]

    results["defaults"] = product("defaults", RoutingWeights())
    started = time.perf_counter()
    fit = RoutingFitter(store, index, embedder, folds=fit_folds,
                        held_out_share=fit_share).fit()  # sees the history only
    fit_seconds = time.perf_counter() - started
    results["fitted"] = product("fitted", fit.weights)
    store.close()
    w = fit.weights
    return {
        "site": site, "shape": shape, "old_share": old_share, "history": len(old),
        "test_questions": len(new), "left": leaver,
        "methods": {name: rates(v) for name, v in results.items()},
        "hits": per_question(results),
        "rank_ms": {name: round(1000 * t, 3) for name, t in seconds.items()},
        "fit": {"fitted": fit.fitted, "reason": fit.reason, "held_out": fit.held_out,
                "seconds": round(fit_seconds, 2),
                "candidate": fit.name,
                "weights": {"similarity": w.similarity, "neighbours": w.neighbours,
                            "temperature": w.temperature,
                            "topic_share": w.topic_share, "popularity": w.popularity,
                            "recent": w.recent, "half_life_days": w.half_life_days},
                "model": w.model.to_dict() if w.model else None,
                "inner": fit.score.__dict__ if fit.score else None,
                "inner_defaults": fit.defaults_score.__dict__ if fit.defaults_score else None,
                "nested": fit.nested.__dict__ if fit.nested else None,
                "nested_candidate": fit.nested_name},
    }


def rolling_cell(site: str, shape: str, old_share: float, rows: list[dict],
                 embedder: CachedEmbedder) -> dict:
    """The same cell, but the history keeps growing as the product's does when answers are
    captured and published: every question of the test period joins the history once it is
    answered (in order), the fit is redone when the answered history grew by a tenth
    (RoutingFitter.refit_if_stale, as the bot's hourly job), and both references are also
    recomputed from everything answered before each question. The scored questions are the
    static cell's. With --dated, each question is ranked as of its date and joins the history
    with it."""
    old, new, leaver = split(rows, old_share, shape)
    cut, end = int(len(rows) * old_share), int(len(rows) * (old_share + TEST_SHARE))
    scored = {r["question_id"] for r in new}
    store, index = history_store(site, old, embedder, left=leaver)
    fitter = RoutingFitter(store, index, embedder)
    first = fitter.refit()
    refits, candidates = 0, [first.name or "defaults"]
    fitted, defaults = ExpertRanker(store, cache_seconds=0), ExpertRanker(
        store, RoutingWeights(), cache_seconds=0)
    counts = Counter(r["accepted_answerer"] for r in old if r["accepted_answerer"] != leaver)
    author = {e.id: e.answered_by for e in store.iter_entries()}
    results: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in rows[cut:end]:
        if row["question_id"] in scored:
            truth, asker = row["accepted_answerer"], row["asker"]
            index.sync()
            near = index.nearest(embedder.embed([asked_text(row)])[0], 200)
            results["popularity"].append(hits([u for u, _ in counts.most_common(5)], truth))
            votes: Counter = Counter()
            for entry_id, sim in near[:20]:
                if author.get(entry_id) and author[entry_id] != leaver:
                    votes[author[entry_id]] += sim
            results["nn-vote"].append(hits([u for u, _ in votes.most_common(5)], truth))
            for name, ranker in (("defaults", defaults), ("fitted", fitted)):
                ranked = ranker.rank(near, exclude=[asker], k=5, now=row.get("dated"))
                results[name].append(hits([e.user for e in ranked], truth))
        # answered, captured and published: the history grows
        created = store.upsert_entries([EntryDraft(
            question=row["title"], answer=row["body"] or row["title"],
            answered_by=row["accepted_answerer"], tags=tuple(row["tags"]),
            external_id=f"{site}-{row['question_id']}", created_at=row.get("dated"))]).created
        author.update({i: row["accepted_answerer"] for i in created})
        if row["accepted_answerer"] != leaver:
            counts[row["accepted_answerer"]] += 1
        if (refit := fitter.refit_if_stale()) is not None:
            refits += 1
            candidates.append(refit.name or "defaults")
    w = fitted.weights
    store.close()
    return {
        "site": site, "shape": shape, "old_share": old_share, "history": len(old),
        "test_questions": len(new), "left": leaver, "rolling": True,
        "methods": {name: rates(v) for name, v in results.items()},
        "hits": per_question(results),
        "fit": {"fitted": True, "refits": refits, "candidate": " → ".join(candidates),
                "weights": {"similarity": w.similarity, "neighbours": w.neighbours,
                            "temperature": w.temperature, "topic_share": w.topic_share,
                            "popularity": w.popularity, "recent": w.recent,
                            "half_life_days": w.half_life_days},
                "model": w.model.to_dict() if w.model else None},
    }


# Approximate dates for --dated: the data have none, but question ids grow with time, so an id
# is mapped linearly from the site's public launch (id 0) to the dump (its largest id)
LAUNCHED = {"android": datetime(2010, 9, 14, tzinfo=UTC), "dba": datetime(2011, 1, 4, tzinfo=UTC),
            "history": datetime(2011, 10, 11, tzinfo=UTC)}
DUMPED = datetime(2019, 9, 1, tzinfo=UTC)


def with_dates(site: str, rows: list[dict]) -> list[dict]:
    """The rows, each with an approximate `dated` (see LAUNCHED)."""
    last = max(int(r["question_id"]) for r in rows)
    span = DUMPED - LAUNCHED[site]
    return [{**r, "dated": LAUNCHED[site] + span * (int(r["question_id"]) / last)} for r in rows]


def each_cell(sites: str, shapes: str, splits: str, dated: bool = False
              ) -> Iterator[tuple[str, str, float, list[dict], CachedEmbedder]]:
    """(site, shape, split, the shape's questions, the site's embedder) for every cell of the
    comma-separated lists; each site's new embeddings are cached once its cells are done."""
    model = onnx_embedder()
    for site in sites.split(","):
        embedder = CachedEmbedder(model, CACHE / f"routing-{site}.npz")
        rows = load_jsonl(ROUTING / f"stackexchange-{site}.jsonl")
        if dated:
            rows = with_dates(site, rows)
        for shape in expand_shapes(shapes, len(rows)):
            kept = shape_rows(rows, shape)
            for old_share in (float(s) for s in splits.split(",")):
                yield site, shape, old_share, kept, embedder
        embedder.save()


def expand_shapes(shapes: str, questions: int) -> list[str]:
    """The comma-separated shapes, `slicesN` expanded to every whole run of N consecutive
    questions of a site of `questions` (sliceN.0, sliceN.1, ...)."""
    expanded = []
    for shape in shapes.split(","):
        first, plus, rest = shape.partition("+")
        if first.startswith("slices"):
            size = int(first.removeprefix("slices"))
            expanded += [f"slice{size}.{k}{plus}{rest}" for k in range(questions // size)]
        else:
            expanded.append(shape)
    return expanded


def per_question(results: dict[str, list[tuple[int, int]]]) -> dict[str, dict[str, str]]:
    """Each method's hits per test question, in order, as strings of 0 and 1 per metric (for
    significance tests on stored runs, `against_best`)."""
    return {name: {metric: "".join(str(p[col]) for p in pairs)
                   for col, metric in enumerate(("hit@1", "hit@5"))}
            for name, pairs in results.items()}


def question_hits(cell: dict, method: str, metric: str) -> list[int]:
    return [int(c) for c in cell["hits"][method][metric]]


def rates(pairs: list[tuple[int, int]]) -> dict[str, float]:
    n = max(1, len(pairs))
    return {"hit@1": sum(p[0] for p in pairs) / n, "hit@5": sum(p[1] for p in pairs) / n}


def verdict(cell: dict, method: str) -> str:
    """Against the better reference, per metric: W (at least as good) or L."""
    m = cell["methods"]
    marks = []
    for metric in ("hit@1", "hit@5"):
        best = max(m["popularity"][metric], m["nn-vote"][metric])
        marks.append("W" if m[method][metric] >= best - 1e-9 else "L")
    return "".join(marks)


def mcnemar_p(mine: list[int], theirs: list[int]) -> float:
    """The exact two-sided McNemar p-value of two methods' hits on the same questions: the
    chance of so lopsided a split of the questions only one of them hits, if neither were
    better."""
    only_theirs = sum(t and not o for o, t in zip(mine, theirs, strict=True))
    only_mine = sum(o and not t for o, t in zip(mine, theirs, strict=True))
    return min(1.0, 2 * binom.cdf(min(only_mine, only_theirs), only_mine + only_theirs, 0.5))


def against_best(cell: dict, method: str, metric: str) -> tuple[int, float] | None:
    """`method` against the better reference on `metric`: the sign of the difference (-1
    below, 0 level, 1 above both references) and its exact two-sided McNemar p-value (the
    questions one hits and the other misses); None for a cell stored without its per-question
    hits. The better reference is picked after the fact, so a small p below it is, if
    anything, too easily reached, and one above it too hard."""
    if "hits" not in cell:
        return None
    m = cell["methods"]
    best = max(("popularity", "nn-vote"), key=lambda r: m[r][metric])
    diff = m[method][metric] - m[best][metric]
    return (0 if abs(diff) < 1e-9 else 1 if diff > 0 else -1,
            mcnemar_p(question_hits(cell, method, metric), question_hits(cell, best, metric)))


def holm_losses(cells: list[dict], method: str, alpha: float = 0.05
                ) -> tuple[int, list[str]] | None:
    """`method`'s cell-metrics below the better reference that stay beyond chance when the
    run's every cell-metric is one family of tests (Holm's step-down correction: with some
    hundred cell-metrics, a few p < 0.05 are expected by chance alone): how many tests, and the
    losses that survive. None for a run stored without per-question hits."""
    tests = []
    for c in cells:
        for metric in ("hit@1", "hit@5"):
            versus = against_best(c, method, metric)
            if versus is None:
                return None
            tests.append((versus[1], versus[0], f"{c['site']} {c['shape']} {c['old_share']} "
                                                f"{metric} (p={versus[1]:.3g})"))
    tests.sort(key=lambda t: t[0])
    losses = []
    for i, (p, sign, name) in enumerate(tests):
        if p > alpha / (len(tests) - i):
            break
        if sign < 0:
            losses.append(name)
    return len(tests), losses


def print_report(cells: list[dict]) -> None:
    table = Table(title="Routing: hit@1 / hit@5 of the accepted answerer "
                        "(W/L: fitted vs the better reference, hit@1 then hit@5)")
    for column in ("site", "shape", "split", "test qs", *METHODS, "W/L", "fitted weights"):
        table.add_column(column)
    for cell in cells:
        m, w = cell["methods"], cell["fit"]["weights"]
        model = cell["fit"].get("model")
        weights = ("defaults" if not cell["fit"]["fitted"] and not model else
                   f"{cell['fit']['candidate']}: "
                   + (HistoryModel.from_dict(model).describe(3) if model else
                      f"sim={w['similarity']} n={w['neighbours']} t={w['temperature']} "
                      f"topic={w['topic_share']} pop={w['popularity']} recent={w['recent']}"))
        table.add_row(cell["site"], cell["shape"], str(cell["old_share"]),
                      str(cell["test_questions"]),
                      *(f"{m[n]['hit@1']:.3f} / {m[n]['hit@5']:.3f}" for n in METHODS),
                      verdict(cell, "fitted"), weights)
    console.print(table)
    for method in ("defaults", "fitted"):
        marks = "".join(verdict(c, method) for c in cells)
        console.print(f"{method}: {marks.count('W')} of {len(marks)} site x shape x split x "
                      "metric cells at least the better reference")
    for method in ("defaults", "fitted"):
        compared = [(c, metric, *versus) for c in cells for metric in ("hit@1", "hit@5")
                    if (versus := against_best(c, method, metric)) is not None]
        for sign, side in ((-1, "below"), (1, "above")):
            these = [(c, metric, p) for c, metric, s, p in compared if s == sign]
            clear = [f"{c['site']} {c['shape']} {c['old_share']} {metric} (p={p:.3g})"
                     for c, metric, p in these if p < 0.05]
            if these:
                console.print(
                    f"{method}: {len(these)} cell-metrics {side} the better reference, "
                    f"{len(clear)} by more than chance (exact McNemar, p < 0.05)"
                    + (f": {', '.join(clear)}" if clear and sign < 0 else ""))
    for method in ("defaults", "fitted"):
        held = holm_losses(cells, method)
        if held is not None:
            console.print(f"{method}: {len(held[1])} losses beyond chance after Holm's correction "
                          f"over the run's {held[0]} cell-metrics (family-wise 5%)"
                          + (": " + ", ".join(held[1]) if held[1] else ""))
    asked = sum(c["test_questions"] for c in cells)
    if asked:
        pooled = {method: [sum(c["methods"][method][metric] * c["test_questions"] for c in cells)
                           / asked for metric in ("hit@1", "hit@5")] for method in METHODS}
        console.print(f"pooled over the {asked} test questions (hit@1 / hit@5): " + ", ".join(
            f"{method} {h1:.3f} / {h5:.3f}" for method, (h1, h5) in pooled.items()))
        if all("hits" in c for c in cells):
            def p(other: str, metric: str) -> str:
                fitted, theirs = ([h for c in cells for h in question_hits(c, m, metric)]
                                  for m in ("fitted", other))
                return f"{mcnemar_p(fitted, theirs):.3g}"

            console.print("fitted against each, pooled (exact McNemar p, hit@1 / hit@5): "
                          + ", ".join(f"{other} {p(other, 'hit@1')} / {p(other, 'hit@5')}"
                                      for other in METHODS if other != "fitted"))
    timed = [c for c in cells if "rank_ms" in c]
    if timed:
        for site in dict.fromkeys(c["site"] for c in timed):
            mine = [c for c in timed if c["site"] == site]
            fitted = sum(c["rank_ms"]["fitted"] for c in mine) / len(mine)
            defaults = sum(c["rank_ms"]["defaults"] for c in mine) / len(mine)
            fits = sum(c["fit"]["seconds"] for c in mine) / len(mine)
            console.print(f"{site}: ranking a question takes {fitted:.2f} ms fitted, "
                          f"{defaults:.2f} ms with the defaults ({fitted / defaults:.2f}x); "
                          f"a fit {fits:.1f} s (mean over its cells)")


def print_comparison(before: list[dict], after: list[dict], method: str = "fitted") -> None:
    """Two stored runs of the same cells (a change's before and after): `method`'s pooled hits
    in each with the exact McNemar p of the change (the same questions, one run each), then per
    site, the cells at least the better reference, and every cell whose verdict changed."""
    def key(c: dict) -> tuple:
        return c["site"], c["shape"], c["old_share"]

    old = {key(c): c for c in before}
    pairs = [(old[key(c)], c) for c in after if key(c) in old]
    if not pairs:
        console.print("no cell of the second run is in the first")
        return
    for metric in ("hit@1", "hit@5"):
        was, now = ([h for pair in pairs for h in question_hits(pair[i], method, metric)]
                    for i in (0, 1))
        console.print(f"{method} {metric}: {sum(was) / len(was):.4f} -> {sum(now) / len(now):.4f}"
                      f" (exact McNemar p {mcnemar_p(now, was):.3g}, {len(was)} test questions)")
    for site in dict.fromkeys(b["site"] for _, b in pairs):
        mine = [(a, b) for a, b in pairs if b["site"] == site]
        figures = []
        for metric in ("hit@1", "hit@5"):
            was, now = ([h for pair in mine for h in question_hits(pair[i], method, metric)]
                        for i in (0, 1))
            figures.append(f"{metric} {sum(was) / len(was):.3f} -> {sum(now) / len(now):.3f} "
                           f"(p {mcnemar_p(now, was):.2g})")
        console.print(f"  {site}: " + ", ".join(figures))
    marks = [(verdict(a, method), verdict(b, method)) for a, b in pairs]
    console.print(f"cells at least the better reference: {sum(a.count('W') for a, _ in marks)} "
                  f"-> {sum(b.count('W') for _, b in marks)} of {2 * len(pairs)}")
    for (a, b), (was_mark, now_mark) in zip(pairs, marks, strict=True):
        if was_mark != now_mark:
            was, now = a["methods"][method], b["methods"][method]
            figures = ", ".join(f"{m} {was[m]:.3f} -> {now[m]:.3f}" for m in ("hit@1", "hit@5"))
            console.print(f"  {b['site']} {b['shape']} {b['old_share']}: {was_mark} -> "
                          f"{now_mark} ({figures})")


def cell_parser(doc: str | None, shapes: str = "all,team3,team5,team10,leaves,team5-leaves",
                splits: str = "0.6,0.7,0.8") -> argparse.ArgumentParser:
    """The command line every routing bench shares: which sites, shapes and splits to run."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", default="android,dba,history")
    parser.add_argument("--shapes", default=shapes)
    parser.add_argument("--splits", default=splits)
    return parser


def main() -> None:
    parser = cell_parser(__doc__)
    parser.add_argument("--json", type=Path, default=Path("bench/out/routing.json"))
    parser.add_argument("--fit-folds", type=int, default=3,
                        help="the fit's time folds (RoutingFitter; the product uses 3)")
    parser.add_argument("--fit-share", type=float, default=0.2,
                        help="each fold's share of the answered history (the product: 0.2)")
    parser.add_argument("--dated", action="store_true",
                        help="import the history with approximate dates from the question ids "
                             "(LAUNCHED): the evidence's age counts, as with real dates")
    parser.add_argument("--rolling", action="store_true",
                        help="the history grows through the test period (answers captured and "
                             "published, refits when stale); see rolling_cell")
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="print the report of a stored run (its --json file) and stop")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="compare two stored runs of the same cells and stop")
    args = parser.parse_args()
    if args.compare:
        print_comparison(*(json.loads(path.read_text()) for path in args.compare))
        return
    if args.report:
        print_report(json.loads(args.report.read_text()))
        return
    cells = []
    for site, shape, old_share, kept, embedder in each_cell(args.sites, args.shapes, args.splits,
                                                               args.dated):
        if args.rolling:
            cells.append(rolling_cell(site, shape, old_share, kept, embedder))
        else:
            cells.append(evaluate_cell(site, shape, old_share, kept, embedder, args.fit_folds,
                                       args.fit_share))
        console.log(f"{site} {shape} {old_share}: fitted {cells[-1]['methods']['fitted']}")
    print_report(cells)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(cells, indent=2))


if __name__ == "__main__":
    main()
