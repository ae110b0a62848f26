"""The `switchboard` command line: import, export, learn, phrasings, stats, reindex, search, and
running the bot.

Each command opens the services, calls one domain method, and turns a SwitchboardError into a
one-line CLI error. Commands that need no model never load it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from knowledge.database import redact_url
from knowledge.errors import ImportRejected, SwitchboardError
from switchboard.settings import Settings

if TYPE_CHECKING:
    from knowledge.analytics import RoutingResult

IN_PRACTICE_DAYS = 30  # `route --explain`: who answered the routed questions of this many days

console = Console(stderr=True)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show Switchboard's own errors as one clear message and exit 1, without a traceback."""
    try:
        yield
    except ImportRejected as rejected:
        raise click.ClickException(str(rejected)) from None
    except SwitchboardError as error:
        raise click.ClickException(str(error)) from None


def load_settings() -> Settings:
    with friendly_errors():
        return Settings.from_env(os.environ)


@contextmanager
def open_services(settings: Settings, label: str = "Embedding") -> Iterator[object]:
    from switchboard.services import Services

    with friendly_errors():
        services = Services(settings)
        try:
            with progress_bar(label) as progress:
                services.progress = progress
                yield services
        finally:
            services.close()


@contextmanager
def progress_bar(label: str) -> Iterator[object]:
    """A rich progress bar fed by (done, total) callbacks; silent when stderr is not a terminal."""
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


@click.group()
@click.version_option(package_name="switchboard")
def main() -> None:
    """Switchboard: answers from your team's knowledge, and the right expert when there are none."""


@main.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows even if some are bad.")
def import_(path: Path, skip_invalid: bool) -> None:
    """Import entries from a .jsonl or .csv file, or a folder of Markdown files.

    Rows with an `id` update the entry imported with that id before. A file with bad rows
    imports nothing unless --skip-invalid is given.
    """
    from rich.markup import escape

    from knowledge.importing import printable, read_entries

    settings = load_settings()
    with friendly_errors():
        parsed = read_entries(path)
        for warning in parsed.warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        if parsed.problems and not skip_invalid:
            raise ImportRejected(parsed.problems)
    for problem in parsed.problems:
        console.print(f"[yellow]skipped[/] {escape(str(problem))}", soft_wrap=True)
    with open_services(settings) as services:
        result = services.store.upsert_entries(parsed.drafts)  # one transaction: all or nothing
        _ = services.entry_index  # embeds and indexes what changed
        click.echo(
            f"Imported {len(parsed.rows)} row(s) from {printable(str(path))}: "
            f"{len(result.created)} new, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged"
            + (f", {len(parsed.problems)} skipped." if parsed.problems else ".")
        )
        refit_routing_if_stale(services)


def refit_routing_if_stale(services) -> None:
    """Fit the routing weights again when the answered history changed enough (an import, or
    answers captured since the last fit), so `route` ranks with weights that fit this history
    at once rather than after the bot's next hourly refit. Cheap when nothing changed."""
    from knowledge.outcome_fit import MIN_ROUTED, answered_routed_count
    from knowledge.routing_fit import MIN_ENTRIES, answered_count, load_fit

    staleness = services.routing_fitter.staleness()
    if not staleness.stale:
        return
    if (answered_count(services.store) < MIN_ENTRIES and not load_fit(services.store).fitted
            and answered_routed_count(services.store) < MIN_ROUTED):
        return  # too little history: the defaults stay, no need to load the model for that
    console.print(f"Fitting the routing weights ({staleness.reason})...")
    if staleness.history:
        fit = services.routing_fitter.refit()
        console.print(f"Routing weights: {fit.reason}", soft_wrap=True)
    else:  # only the routed questions grew: the outcome weight alone
        fit = services.routing_fitter.refit_outcomes()
    if fit.outcome_fit is not None:
        console.print(f"Outcome weight: {fit.outcome_fit.reason}", soft_wrap=True)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def export(path: Path) -> None:
    """Export every entry as JSONL (the same format `import` reads)."""
    from knowledge.importing import write_jsonl
    from knowledge.store import Store

    settings = load_settings()
    with friendly_errors():
        store = Store.connect(settings.database)
        try:
            count = write_jsonl(store.iter_entries(), path)
        finally:
            store.close()
    click.echo(f"Exported {count} entries to {path}.")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--by", default="switchboard learn", show_default=True,
              help="Who the verdicts are recorded as (they count as this one person's votes).")
def learn(path: Path, by: str) -> None:
    """Record verdicts in bulk, through the same code path as the card's buttons.

    One JSON object a line: {"id": <entry id, as given at import>, "question": <the wording
    someone asked>, "verdict": "solved" | "not_helpful"}. A "solved" wording becomes a phrasing
    that finds the entry; a "not_helpful" one pushes it down for similar wordings. A file with
    any bad line records nothing.
    """
    from knowledge.import_formats import printable
    from knowledge.phrasings import read_verdicts

    settings = load_settings()
    with open_services(settings) as services:
        rows = read_verdicts(services.store, path)
        learned = services.store.phrasings.learn_many(rows, by)  # one transaction
        _ = services.entry_index  # embeds and indexes the new phrasings
    left = len(rows) - learned
    click.echo(
        f"Learned {learned} phrasing(s) from {len(rows)} verdict(s) in {printable(str(path))}"
        + (f"; {left} taught nothing new (the entry's own question)." if left else ".")
    )


@main.command()
@click.argument("entry_id", type=click.IntRange(min=1))
@click.option("--remove", "phrasing_id", type=click.IntRange(min=1),
              help="Stop using this phrasing (its id, from the list); audited.")
@click.option("--by", default="cli", show_default=True, help="Who removes it (for the audit).")
@click.option("--all", "include_removed", is_flag=True, help="List removed phrasings too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per phrasing.")
def phrasings(entry_id: int, phrasing_id: int | None, by: str, include_removed: bool,
              as_json: bool) -> None:
    """List the phrasings of entry ENTRY_ID (its #id in Slack), or remove one."""
    from knowledge.errors import InvalidInput
    from knowledge.store import Store

    settings = load_settings()
    with friendly_errors():
        store = Store.connect(settings.database)
        try:
            entry = store.get_entry(entry_id)
            if phrasing_id is not None:
                if store.phrasings.get(phrasing_id).entry_id != entry.id:
                    raise InvalidInput(f"Phrasing #{phrasing_id} is not one of entry "
                                       f"#{entry.id}'s phrasings: nothing was removed.")
                removed = store.phrasings.remove(phrasing_id, by)
                click.echo(f"Removed phrasing #{removed.id} of entry #{entry.id}: "
                           f"{json.dumps(removed.text, ensure_ascii=False)}")
                return
            found = store.phrasings.of_entry(entry.id, include_removed=include_removed)
        finally:
            store.close()
    if as_json:
        for p in found:
            click.echo(json.dumps({
                "id": p.id, "text": p.text, "polarity": p.polarity, "source": p.source.value,
                "people": p.votes, "created_at": p.created_at.isoformat(),
                "removed_by": p.removed_by}, ensure_ascii=False))
        return
    _print_phrasings(entry, found)


def _print_phrasings(entry, found: list) -> None:
    from rich.markup import escape

    if not found:
        click.echo(f"Entry #{entry.id} has no phrasings yet.")
        return
    table = Table(title=f"Phrasings of #{entry.id}: {escape(entry.question[:80])}")
    for column, justify in (("id", "right"), ("phrasing", "left"), ("people", "right"),
                            ("source", "left"), ("added", "left")):
        table.add_column(column, justify=justify)
    for p in found:
        text = ("(-) " if p.polarity < 0 else "") + escape(p.text)
        gone = f" [dim](removed by {escape(p.removed_by or '?')})[/]" if not p.is_active else ""
        table.add_row(str(p.id), text + gone, str(p.votes), p.source.value,
                      f"{p.created_at:%Y-%m-%d}")
    Console().print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(as_json: bool) -> None:
    """How many entries there are, by status and kind, and the state of the search indexes."""
    from index.lexical_index import read_manifest as read_lexical_manifest
    from index.vectors import read_manifest
    from knowledge.store import Store

    settings = load_settings()
    with friendly_errors():
        store = Store.connect(settings.database)
        try:
            by_status = {s.value: n for s, n in store.count_by_status().items()}
            by_kind = store.count_by_kind()
            cursor = store.changes.cursor()
            followers = [{"name": f["follower"], "saved_change": f["cursor"],
                          "behind": max(cursor - int(f["cursor"]), 0), "seen_at": f["seen_at"]}
                         for f in store.changes.followers()]
        finally:
            store.close()
        manifest = read_manifest(settings.index_dir)
        lexical_manifest = read_lexical_manifest(settings.index_dir / "lexical")
    lexical = None
    if lexical_manifest is not None:
        lexical = {"documents": lexical_manifest.count,
                   "pending_changes": max(cursor - lexical_manifest.cursor, 0)}
    index = None
    if manifest is not None:
        index = {
            "vectors": manifest.count,
            "kind": manifest.kind,
            "model": manifest.model,
            "pending_changes": max(cursor - manifest.cursor, 0),
        }
    figures = {
        "database": settings.database_label,
        "entries": sum(by_status.values()),
        "by_status": by_status,
        "by_kind": by_kind,
        "index": index,
        "lexical_index": lexical,
        "change_log": {"latest": cursor, "followers": followers},
    }
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    table = Table(title=f"Switchboard knowledge ({settings.database_label})")
    table.add_column("")
    table.add_column("entries", justify="right")
    for status, count in by_status.items():
        table.add_row(status.replace("_", " "), f"{count:,}")
    for kind, count in by_kind.items():
        table.add_row(f"kind: {kind.replace('_', ' ')}", f"{count:,}")
    Console().print(table)
    if index is None:
        click.echo(
            "Search index: not built yet (it is built at the first search, or by `reindex`)."
        )
    else:
        pending = index["pending_changes"]
        click.echo(
            f"Search index: {index['vectors']:,} vectors ({index['kind']}, {index['model']}); "
            + (f"{pending} change(s) to apply at next start." if pending else "up to date.")
        )
    if lexical is not None:
        pending = lexical["pending_changes"]
        click.echo(
            f"Lexical index: {lexical['documents']:,} documents (tantivy); "
            + (f"{pending} change(s) to apply at next start." if pending else "up to date.")
        )
    if len(followers) > 1:  # several replicas (or index folders) follow this database
        click.echo(f"Replicas following the change log (latest change {cursor:,}):")
        for follower in followers:
            click.echo(f"  {follower['name']}: saved at change {follower['saved_change']:,} "
                       f"({follower['behind']:,} behind), last seen {follower['seen_at']}")


@main.command()
@click.option("--to", "url", required=True, metavar="postgresql://...",
              help="The PostgreSQL database to copy into (created tables, same schema).")
@click.option("--from", "path", type=click.Path(path_type=Path, dir_okay=False),
              help="The SQLite file to copy (default: the one in SWITCHBOARD_HOME).")
def migrate(url: str, path: Path | None) -> None:
    """Copy the SQLite database into PostgreSQL, verified by counts; safe to run again."""
    from knowledge.store import Store
    from knowledge.transfer import copy_store
    from switchboard.settings import check_database_url

    settings = load_settings()
    source_path = path or settings.database_path
    with friendly_errors():
        check_database_url(url)
        if not source_path.is_file():
            raise click.ClickException(f"There is no SQLite database at {source_path}.")
        source = Store.open(source_path)
        try:
            destination = Store.connect(url)
            try:
                with progress_bar("Copying") as progress:
                    result = copy_store(source, destination,
                                        lambda _, done, total: progress(done, total))
            finally:
                destination.close()
        finally:
            source.close()
    table = Table(title=f"Copied {source_path} into {redact_url(url)}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.source.items():
        table.add_row(name, f"{rows:,}")
    Console().print(table)
    click.echo(f"Verified: {result.rows:,} rows in {len(result.source)} tables match. Set "
               "SWITCHBOARD_DATABASE_URL to this URL on every replica; each builds its search "
               "indexes from it at start.")


@main.command()
@click.option("--full", is_flag=True, help="Re-embed every entry instead of reusing embeddings.")
def reindex(full: bool) -> None:
    """Rebuild the search index from the database."""
    settings = load_settings()
    with open_services(settings) as services:
        if full:
            services.store.vector_cache.clear()
            services.store.question_alone_cache.clear()
        count = services.reindex()
    click.echo(f"Rebuilt the search index: {count} published entries.")


@main.command()
@click.argument("query", required=False)
@click.option(
    "--k",
    "k",
    default=5,
    show_default=True,
    type=click.IntRange(1, 100),
    help="How many hits to show.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
def search(query: str | None, k: int, as_json: bool) -> None:
    """Search the knowledge base. With no QUERY, answer each line of standard input."""
    settings = load_settings()
    queries = [query] if query is not None else (line.rstrip("\n") for line in sys.stdin)
    with open_services(settings, "Loading index") as services:
        engine = services.search
        for text in queries:
            if not text.strip():
                continue
            hits = engine.search(text, k=k)
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "query": text,
                            "hits": [
                                {
                                    "id": h.entry.id,
                                    "external_id": h.entry.external_id,
                                    "question": h.entry.question,
                                    "score": round(h.score, 4),
                                    "tier": h.tier.value,
                                    "confidence": round(h.confidence, 4),
                                }
                                for h in hits
                            ],
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                _print_hits(text, hits)


def _print_hits(query: str, hits: list) -> None:
    table = Table(title=query, title_justify="left", show_lines=False)
    for column in ("#", "score", "tier", "question", "answer"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(hits, 1):
        answer = " ".join(hit.entry.answer.split())
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            hit.tier.value,
            hit.entry.question,
            answer[:160] + ("…" if len(answer) > 160 else ""),
        )
    Console().print(table if hits else f"[dim]{query}: nothing published yet.[/]")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Port of the page (default: PORT).")
@click.option("--reset", is_flag=True, help="Start the sandbox afresh (its data only).")
def sandbox(port: int | None, reset: bool) -> None:
    """Try Switchboard with no Slack workspace: a Slack-like page on 127.0.0.1 drives the real
    bot. Its data lives in SWITCHBOARD_HOME/sandbox, apart from any real workspace's."""
    run_sandbox(port, reset)


def run_sandbox(port: int | None, reset: bool) -> None:
    from index.embedder import load_embedder
    from sandbox.app import serve
    from sandbox.runner import build_world
    from switchboard import logs

    settings = load_settings()
    with friendly_errors():
        logs.configure("WARNING", "text")
        embedder = load_embedder(settings.embedder_backend, settings.model_cache)
        world = build_world(settings.sandbox_home, embedder, reset=reset)
        try:
            serve(world, port or settings.port,
                  on_ready=lambda url: click.echo(f"Switchboard sandbox: open {url}"))
        finally:
            world.stop()


@main.command()
def run() -> None:
    """Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT); with no Slack
    settings at all, the sandbox."""
    import time

    from bot.runner import run as run_bot
    from knowledge.curation import StalenessRules
    from switchboard import logs
    from switchboard.services import Services

    settings = load_settings()
    if not (settings.slack_bot_token or settings.slack_app_token
            or settings.slack_signing_secret):
        run_sandbox(None, reset=False)
        return
    with friendly_errors():
        mode = settings.slack_mode()
        logs.configure(settings.log_level, settings.log_format)
        services = Services(settings)
        started = time.monotonic()

        def health() -> dict:
            from knowledge.models import EntryStatus

            by_status = services.store.count_by_status()
            return {"mode": mode, "published_entries": by_status[EntryStatus.PUBLISHED],
                    "indexed": len(services.entry_index.vectors),
                    "uptime_s": round(time.monotonic() - started, 1)}

        try:
            run_bot(services.search, mode=mode, token=settings.slack_bot_token,
                    app_token=settings.slack_app_token,
                    signing_secret=settings.slack_signing_secret,
                    base_url=settings.slack_api_base_url, port=settings.port, health=health,
                    routing=settings.routing_policy(), admins=settings.admins,
                    admin_group=settings.admin_group, staleness=StalenessRules(
                        reverify_days=settings.reverify_days),
                    recovery=settings.recovery_policy())
        finally:
            services.close()


@main.command()
@click.argument("question", required=False)
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 50),
              help="How many people to rank.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--asker", help="Who asks (never suggested their own question), for every "
                              "question; a stdin line {\"question\": ..., \"asker\": ...} "
                              "names its own.")
@click.option("--explain", is_flag=True,
              help="Show the routing weights in use, fitted or defaults and why, and how they "
                   "scored on this organisation's own history.")
@click.option("--refit", is_flag=True,
              help="Fit the weights to this organisation's answered history now (implies "
                   "--explain).")
def route(question: str | None, k: int, as_json: bool, asker: str | None, explain: bool,
          refit: bool) -> None:
    """Show who would be asked about QUESTION (or each line of stdin); nothing is sent."""
    from index.expert_finder import ExpertFinder
    from knowledge.analytics import Analytics
    from knowledge.expert_ranking import ExpertRanker

    settings = load_settings()
    explain = explain or refit
    questions = [(question, asker)] if question is not None else [] if explain else \
        _route_lines(sys.stdin, asker)
    with open_services(settings, "Fitting the routing weights" if refit else "Embedding") \
            as services:
        if refit:
            services.routing_fitter.refit()
        elif questions or explain:
            refit_routing_if_stale(services)
        if explain:
            _print_fit(ExpertRanker(services.store).fit, as_json,
                       Analytics(services.store).routing(days=IN_PRACTICE_DAYS))
        finder = ExpertFinder(services.search) if questions else None
        for text, who in questions:
            ranking = finder.rank(text, k=k, exclude=[who] if who else [])
            if as_json:
                click.echo(json.dumps({"query": text, "experts": [
                    {"user": e.user, "score": round(e.score, 6), "reasons": list(e.reasons)}
                    for e in ranking.experts], "left": list(ranking.left)},
                    ensure_ascii=False))
            else:
                _print_experts(text, ranking)


def _route_lines(lines, asker: str | None) -> list[tuple[str, str | None]]:
    """(question, asker) per non-blank line: plain text, or a JSON object with "question" and
    optionally "asker". A bad line is named by its number and nothing is ranked."""
    questions = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if not text.startswith("{"):
            questions.append((text, asker))
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as error:
            raise click.ClickException(f"line {number}: not valid JSON ({error.msg}).") from None
        asked = row.get("question") if isinstance(row, dict) else None
        who = row.get("asker", asker) if isinstance(row, dict) else None
        if not isinstance(asked, str) or not asked.strip():
            raise click.ClickException(f'line {number}: a JSON line needs a "question" '
                                       "(text).")
        if who is not None and not isinstance(who, str):
            raise click.ClickException(f'line {number}: "asker" must be text.')
        questions.append((asked.strip(), who))
    return questions


def _print_fit(fit, as_json: bool, practice: RoutingResult) -> None:
    from knowledge.analytics import ANSWERED_BY
    from knowledge.routing_fit import interval
    from switchboard.report import in_practice_line, routing_lines

    if as_json:
        figures = {name: ({"hit@1": round(score.hit1, 4), "hit@5": round(score.hit5, 4)}
                          if score else None)
                   for name, score in (("in_use", fit.score), ("defaults", fit.defaults_score),
                                       ("nested", fit.nested))}
        click.echo(json.dumps({
            "routing_weights": {name: getattr(fit.weights, name) for name in fit.tunable},
            "model": ({"kind": "conditional logit, fitted by likelihood",
                       "coefficients": dict(zip(fit.weights.model.names,
                                                fit.weights.model.coefficients, strict=True)),
                       "evidence_shares": {kind: round(share, 4) for kind, share in
                                           fit.weights.model.evidence_shares().items()},
                       "penalty": fit.weights.model.penalty,
                       "questions": fit.weights.model.questions}
                      if fit.weights.model else None),
            "fitted": fit.fitted, "reason": fit.reason,
            "fitted_at": fit.fitted_at.isoformat() if fit.fitted_at else None,
            "answered_entries": fit.entries, "held_out_questions": fit.held_out,
            "held_out": figures, "nested_questions": fit.nested_held_out,
            "nested_interval": ({metric: [round(x, 4) for x in interval(rate, fit.nested_held_out)]
                                 for metric, rate in (("hit@1", fit.nested.hit1),
                                                      ("hit@5", fit.nested.hit5))}
                                if fit.nested else None),
            "nested_candidate": fit.nested_name or None, "outcomes": _outcome_json(fit),
            "in_practice": {"days": IN_PRACTICE_DAYS, "routed": practice.routed,
                            "answered": practice.answered,
                            "answered_by": {kind: practice.answered_by.get(kind, 0)
                                            for kind in ANSWERED_BY}}}))
        return
    first, *rest = routing_lines(fit)
    click.echo(first)
    for line in [*rest, in_practice_line(practice, IN_PRACTICE_DAYS)]:
        click.echo(f"  {line}")


def _outcome_json(fit) -> dict:
    """The outcome term's weight in use and how it scored on the answered routed questions."""
    w, found = fit.weights, fit.outcome_fit
    figures = {name: ({"hit@1": round(score.hit1, 4), "hit@5": round(score.hit5, 4)}
                      if score else None)
               for name, score in (("in_use", found and found.score),
                                   ("without", found and found.without),
                                   ("constants", found and found.constants),
                                   ("nested", found and found.nested))}
    return {"weight": w.outcomes, "temperature": w.outcome_temperature,
            "half_life_days": w.outcome_half_life_days,
            "fitted": bool(found and found.fitted),
            "reason": found.reason if found else "not fitted yet",
            "answered_routed_questions": found.routed if found else 0,
            "held_out_questions": found.held_out if found else 0, "held_out": figures,
            "nested_questions": found.nested_held_out if found else 0}


def _print_experts(text: str, ranking) -> None:
    table = Table(title=f"Who to ask: {text}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("person")
    table.add_column("score", justify="right")
    table.add_column("why")
    for rank, expert in enumerate(ranking.experts, 1):
        table.add_row(str(rank), expert.user, f"{expert.score:.3f}", "; ".join(expert.reasons))
    if not ranking.experts:
        table.add_row("", "nobody yet", "", "no one has answered anything similar")
    Console().print(table)
    if ranking.left:
        click.echo(f"Not suggested, they left (account deactivated): {', '.join(ranking.left)}")


@main.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="How many days back to report on.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a self-contained HTML report with charts to this file.")
def report(days: int, html_path: Path | None) -> None:
    """How asking works: volumes, self-serve rate, speed, expert load, knowledge gaps."""
    from datetime import UTC, datetime

    from index.gaps import knowledge_gaps
    from knowledge.analytics import Analytics
    from knowledge.routing_fit import load_fit
    from switchboard.report import FullReport, html_report, print_report

    settings = load_settings()
    with open_services(settings, "Grouping unanswered questions") as services:
        figures = Analytics(services.store).report(days=days)
        gaps = knowledge_gaps(services.embedder, figures.unanswered) if figures.unanswered else []
        full = FullReport(figures, gaps, datetime.now(UTC), load_fit(services.store))
        print_report(full, Console())
        if html_path is not None:
            html_path.write_text(html_report(full), encoding="utf-8")
            console.print(f"HTML report written to {html_path}")


@main.command("map-group")
@click.argument("group_id")
@click.argument("topic")
def map_group(group_id: str, topic: str) -> None:
    """Say that members of Slack user group GROUP_ID (e.g. S0123ABC) know about TOPIC.

    Routing then counts that topic for them; the running bot re-reads the group's members
    every hour.
    """
    from knowledge.expert_profiles import ExpertBook
    from knowledge.store import Store

    settings = load_settings()
    if not (group_id[:1] == "S" and group_id.isalnum() and group_id.upper() == group_id):
        raise click.ClickException(f"{group_id!r} is not a user group id: use its id, such as "
                                   "S0123ABC, not its @handle.")
    if not topic.strip():
        raise click.ClickException("Name the topic, e.g. billing.")
    with friendly_errors():
        store = Store.connect(settings.database)
        try:
            book = ExpertBook(store)
            book.map_group(group_id, None, topic)
            mapped = [f"{g} → {t}" for g, _, t in book.group_topics()]
        finally:
            store.close()
    click.echo("User groups mapped to topics: " + ", ".join(mapped))


@main.command("import-slack")
@click.argument("channel")
@click.option("--oldest", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only threads started on or after this day.")
@click.option("--restart", is_flag=True, help="Look at the whole history again.")
@click.option("--page-size", type=click.IntRange(1, 1000), default=200, show_default=True,
              help="Messages asked of Slack per page (progress is saved after each page).")
def import_slack(channel: str, oldest, restart: bool, page_size: int) -> None:
    """Import a Slack channel's answered threads as entries waiting for review.

    Needs SLACK_BOT_TOKEN (and the bot invited to the channel). Resumable: run it again after
    an interruption and it goes on from where it stopped.
    """
    from datetime import UTC

    from bot.history_import import HistoryImporter
    from bot.slack_client import web_client
    from knowledge.store import Store

    settings = load_settings()
    with friendly_errors():
        if not settings.slack_bot_token:
            settings.slack_mode()  # says what is missing and how to fix it
        store = Store.connect(settings.database)
        try:
            with progress_bar("Threads") as update:
                importer = HistoryImporter(
                    web_client(settings.slack_bot_token, settings.slack_api_base_url), store,
                    page_size=page_size, on_thread=lambda p: update(p.threads, None))
                done = importer.run(channel, oldest.replace(tzinfo=UTC) if oldest else None,
                                    restart=restart)
        finally:
            store.close()
    resumed = " (resumed)" if done.resumed else ""
    click.echo(f"{channel}: {done.threads} threads looked at{resumed}, {done.candidates} "
               "candidate entries waiting for review.")


@main.command("prepare-model")
def prepare_model() -> None:
    """Export the packaged model to ONNX once (run by `make install`; no download)."""
    from index.embedder import prepare_onnx_model

    settings = load_settings()
    with friendly_errors():
        path = prepare_onnx_model(settings.model_cache)
    click.echo(f"Model ready: {path}")


if __name__ == "__main__":
    main()
