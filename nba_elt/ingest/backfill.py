"""`invoke backfill`: plan, run, resume; the progress bar, the final table, the alert.

The library pieces are nba_elt.ingest.request (flags -> a validated request),
nba_elt.ingest.plan (units in run order; the dry-run description),
nba_elt.ingest.runner (unit-by-unit execution) and nba_elt.ingest.ledger (ops.backfill_*).
This module is the edge: it wires them together and talks to the operator.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.cli import TaskResult, console
from nba_elt.config import Settings, get_settings
from nba_elt.errors import EXIT_FAILED, EXIT_OK, BadInput, NbaEltError
from nba_elt.ingest import ledger
from nba_elt.ingest.plan import (
    Plan,
    build_plan,
    days_with_schedule,
    describe_plan,
    enabled_sources,
    site_path,
    unit_sort_key,
)
from nba_elt.ingest.request import BackfillRequest, parse_request
from nba_elt.ingest.runner import BackfillRunner, RunReport, UnitOutcome

log = logging.getLogger(__name__)

MAX_UNITS_IN_ALERT = 20
OUTCOME_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "not_available": "yellow",
    "skipped": "dim",
}


# ---------------------------------------------------------------- progress (rich, stderr)


class RichProgress:
    """A live bar on stderr: the unit in flight and the outcomes so far."""

    def __init__(self) -> None:
        self.counts = {"succeeded": 0, "failed": 0, "not_available": 0, "skipped": 0}
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task_id = self.bar.add_task("starting", total=0, counts=self._counts_text())

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def _counts_text(self) -> str:
        c = self.counts
        return (
            f"[green]{c['succeeded']} ok[/] [red]{c['failed']} failed[/] "
            f"[yellow]{c['not_available']} n/a[/] [dim]{c['skipped']} skipped[/]"
        )

    def add_total(self, count: int) -> None:
        total = (self.bar.tasks[0].total or 0) + count
        self.bar.update(self.task_id, total=total)

    def unit_started(self, unit: Any) -> None:
        self.bar.update(self.task_id, description=escape(f"{unit.source} {unit.unit_key}"))

    def unit_finished(self, outcome: UnitOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.bar.update(self.task_id, advance=1, counts=self._counts_text())


# ---------------------------------------------------------------- planning


def _schema_ready(engine: Engine) -> bool:
    """Whether the nba_source and ops tables exist (a dry run does not create them)."""
    with engine.connect() as conn:
        return all(
            conn.execute(text(f"select to_regclass('{name}')")).scalar() is not None
            for name in ("nba_source.schedule", "nba_source.feature_flags", "ops.backfill_runs")
        )


def _done_in_chain(engine: Engine, run: ledger.LedgerRun) -> set[tuple[str, str]]:
    """Units finished by this run or any run it resumed, transitively."""
    done: set[tuple[str, str]] = set()
    seen: set[int] = set()
    current: ledger.LedgerRun | None = run
    while current is not None and current.id not in seen:
        seen.add(current.id)
        done |= {(u.source, u.unit_key) for u in current.units if u.done}
        current = ledger.load_run(engine, current.resumed_from) if current.resumed_from else None
    return done


def resume_plan(
    engine: Engine, ctx: Any, request: BackfillRequest
) -> tuple[Plan, dict[str, Any], set[tuple[str, str]]]:
    """The units of run `request.resume` that did not succeed (plus pbp games not yet listed)."""
    from nba_elt.sources import SOURCES, Unit, units_for_dates

    run_id = request.resume
    run = ledger.load_run(engine, run_id)
    if run is None:
        raise BadInput(f"there is no backfill run {run_id} in ops.backfill_runs")
    if run.status == "running" and ledger.run_is_alive(engine, run_id):
        raise BadInput(
            f"backfill run {run_id} is still running (pid {run.pid} on {run.host}); "
            "wait for it to end before resuming it"
        )
    old_args = dict(run.args or {})
    sources = tuple(s for s in SOURCES if s in (old_args.get("sources") or SOURCES))
    dates = tuple(dt.date.fromisoformat(d) for d in old_args.get("dates") or [])
    done = _done_in_chain(engine, run)
    units = [Unit(u.source, u.unit_key, u.game_date, u.provider) for u in run.units if not u.done]
    plan = Plan(sources=sources, units=units, dates=dates)
    if plan.discover_pbp:
        # The pbp games of a day whose schedule unit finished just before the run died
        # may not be listed in the ledger: list them again from nba_source.schedule.
        listed = {(u.source, u.unit_key) for u in units} | done
        loaded_days = sorted(days_with_schedule(engine, dates))
        units += [
            u
            for u in units_for_dates("pbp", loaded_days, ctx)
            if (u.source, u.unit_key) not in listed
        ]
    plan.units = sorted(units, key=unit_sort_key)
    args = {
        **old_args,
        "resume": run_id,
        "offline": request.offline,
        "force": request.force,
        "refresh": request.refresh,
        "predict": request.predict,
    }
    return plan, args, done


# ---------------------------------------------------------------- output


def _print_plan(description: dict[str, Any]) -> None:
    d = description
    what = (
        f"{len(d['dates'])} date(s) {d['dates'][0]} .. {d['dates'][-1]}"
        if d["dates"]
        else f"{len(d['games'])} game(s)"
    )
    console.print(f"[bold]Backfill plan[/] (dry run: nothing is written): {what}")
    console.print(f"  sources: {', '.join(d['sources'])}")
    console.print(
        f"  units: {d['unit_count']} ({d['to_run']} to run, "
        f"{d['unit_count'] - d['to_run']} already complete)"
    )
    console.print(
        f"  pages for the units to run: {d['page_count']}, {d['pages_in_archive']} already in the "
        f"raw archive, {d['page_count'] - d['pages_in_archive']} to fetch from the site"
    )
    if d["games"]:
        console.print(f"  games known: {len(d['games'])}")
    selection = d["dbt_selection"] or f"unknown ({d['dbt_selection_note']})"
    console.print(f"  dbt selection a --refresh would build: {escape(selection)}")
    for note in d["notes"]:
        console.print(f"  note: {escape(note)}")
    table = Table(title="units", show_lines=False)
    for column in ("source", "date/game", "pages", "in archive", "action"):
        table.add_column(column)
    for row in d["units"]:
        table.add_row(
            row["source"],
            row["unit_key"],
            escape("\n".join(site_path(url) for url in row["pages"])),
            str(row["pages_in_archive"]),
            row["action"],
        )
    console.print(table)


def _print_report(report: RunReport) -> None:
    table = Table(title=f"backfill run {report.run_id}")
    for column in ("source", "date/game", "outcome", "rows", "seconds", "error"):
        table.add_column(column, justify="right" if column in ("rows", "seconds") else "left")
    for o in report.outcomes:
        style = OUTCOME_STYLE.get(o.status, "")
        table.add_row(
            o.source,
            o.unit_key,
            f"[{style}]{o.status}[/]",
            str(o.rows_written),
            f"{o.seconds:.1f}",
            escape(o.error or ""),
        )
    console.print(table)


def _summary_line(report: RunReport) -> str:
    text_ = f"run {report.run_id}: {report.counts_text()} ({report.rows_written} rows written)"
    if report.fell_back:
        text_ += f"; {report.fell_back}"
    if report.stopped:
        text_ += f"; stopped: {report.stopped}"
    if report.exit_code != EXIT_OK:
        text_ += f". Resume with: invoke backfill --resume {report.run_id}"
    return text_


def alert_text(report: RunReport) -> str:
    """The Slack message for a run with failed or not-available units."""
    c = report.counts()
    lines = [
        f"{':warning:' if report.exit_code != EXIT_OK else ':information_source:'} "
        f"nba-elt backfill run {report.run_id} on {socket.gethostname()}: "
        f"{c['failed']} failed, {c['not_available']} not available, "
        f"{c['succeeded']} succeeded, {c['skipped']} skipped"
    ]
    if report.stopped:
        lines.append(f"Stopped: {report.stopped}")
    if report.fell_back:
        lines.append(f"Provider fallback: {report.fell_back}")
    bad = [o for o in report.outcomes if o.status in ("failed", "not_available") or o.error]
    for o in bad[:MAX_UNITS_IN_ALERT]:
        lines.append(
            f"- {o.source} {o.unit_key}: {o.status}" + (f" ({o.error})" if o.error else "")
        )
    if len(bad) > MAX_UNITS_IN_ALERT:
        lines.append(f"... and {len(bad) - MAX_UNITS_IN_ALERT} more (see ops.backfill_units)")
    if report.exit_code != EXIT_OK:
        lines.append(f"Resume: invoke backfill --resume {report.run_id}")
    return "\n".join(lines)


# ---------------------------------------------------------------- refresh / predict


TONIGHT_MODEL = "ml_tonights_games"


def _call(step: str, fn: Any, **kwargs: Any) -> TaskResult:
    """Run another task's function; its named errors become a result, like the CLI does."""
    try:
        return fn(**kwargs)
    except NbaEltError as exc:
        return TaskResult(exc.exit_code, f"{step}: {type(exc).__name__}: {exc}")


def _refresh_and_predict(
    request: BackfillRequest, report: RunReport
) -> tuple[int, list[str], dict[str, Any]]:
    """dbt refresh of the sources the run wrote; with --predict, predictions per date touched.

    The refresh builds ml_tonights_games for the first date touched; each further date
    rebuilds only that model (run_date = the date) before its predictions.
    """
    sources, dates = report.touched()
    notes: list[str] = []
    summary: dict[str, Any] = {}
    if not sources:
        notes.append("refresh: nothing was written, nothing to refresh")
        return EXIT_OK, notes, summary
    try:
        from nba_elt.transform.dbt import refresh_task
    except ImportError as exc:
        return (
            EXIT_FAILED,
            [f"refresh: cannot run, nba_elt.transform.dbt is not available ({exc})"],
            summary,
        )
    first = dates[0].isoformat() if request.predict and dates else None
    refresh_sources = ",".join(sources)
    log.info("refresh: dbt build for %s", refresh_sources)
    result = _call(
        "refresh", refresh_task, sources=refresh_sources, select=None, full=False, run_date=first
    )
    summary["refresh"] = {"exit_code": result.exit_code, "message": result.message}
    notes.append(f"refresh ({', '.join(sources)}): {result.message or result.exit_code}")
    if result.exit_code != EXIT_OK or not request.predict:
        return result.exit_code, notes, summary
    try:
        from ml.app import predict_task
    except ImportError as exc:
        return (
            EXIT_FAILED,
            [*notes, f"predict: cannot run, ml.app is not available ({exc})"],
            summary,
        )
    worst = EXIT_OK
    summary["predict"] = []
    for index, day in enumerate(dates):
        outcome = None
        if index:
            outcome = _call(
                f"features for {day}",
                refresh_task,
                sources=None,
                select=TONIGHT_MODEL,
                full=False,
                run_date=day.isoformat(),
            )
        if outcome is None or outcome.exit_code == EXIT_OK:
            outcome = _call(f"predict {day}", predict_task, date=day.isoformat())
        summary["predict"].append(
            {"date": day.isoformat(), "exit_code": outcome.exit_code, "message": outcome.message}
        )
        notes.append(f"predict {day}: {outcome.message or outcome.exit_code}")
        if outcome.exit_code == EXIT_FAILED or (outcome.exit_code and worst == EXIT_OK):
            worst = outcome.exit_code
    return worst, notes, summary


# ---------------------------------------------------------------- the task


def _plan_with_fallback(
    request: BackfillRequest, sources: tuple[str, ...], ctx: Any, schema_ready: bool
) -> Plan:
    """The plan; with --provider auto, planned from the NBA when the site blocks planning."""
    from nba_elt.errors import SiteBlocked

    try:
        return build_plan(request, sources, ctx, schema_ready=schema_ready)
    except SiteBlocked as exc:
        if request.provider != "auto" or ctx.provider != "bbref":
            raise
        log.warning("basketball-reference blocked planning (%s); planning from the NBA", exc)
        ctx.provider = "nba"
        plan = build_plan(request, sources, ctx, schema_ready=schema_ready)
        plan.notes.append(f"basketball-reference blocked planning ({exc}): planned from the NBA")
        return plan


def _context(engine: Engine, settings: Settings, offline: bool, provider: str = "bbref") -> Any:
    from nba_elt.extract.http import HttpClient
    from nba_elt.sources import SourceContext

    planned_with = "nba" if provider == "nba" else "bbref"  # auto starts with bbref
    return SourceContext(engine, HttpClient(settings, offline=offline), provider=planned_with)


def _resolve_games(ctx: Any, request: BackfillRequest) -> BackfillRequest:
    """NBA game ids (0022200552) -> warehouse ids, before anything is written."""
    from dataclasses import replace

    from nba_elt.sources.nba.games import resolve_nba_game_id
    from nba_elt.sources.nba.parse import is_nba_game_id

    if not any(is_nba_game_id(g) for g in request.game_ids):
        return request
    resolved: list[str] = []
    notes = list(request.notes)
    for game_id in request.game_ids:
        if is_nba_game_id(game_id):
            warehouse_id = resolve_nba_game_id(ctx, game_id)
            notes.append(f"NBA game {game_id} is {warehouse_id}")
            game_id = warehouse_id
        if game_id not in resolved:
            resolved.append(game_id)
    return replace(request, game_ids=tuple(resolved), notes=tuple(notes))


def backfill_task(
    date: str | None = None,
    start: str | None = None,
    end: str | None = None,
    games: str | None = None,
    sources: str | None = None,
    dry_run: bool = False,
    resume: Any = None,
    offline: bool = False,
    force: bool = False,
    refresh: bool = False,
    predict: bool = False,
    yes: bool = False,
    provider: str | None = None,
) -> TaskResult:
    """Plan and run (or, with dry_run, only print) a backfill. See `invoke backfill --help`.

    provider: bbref, nba, or auto (default: basketball-reference, and the NBA for the
    units left when basketball-reference stops the run).
    """
    from nba_elt.sources import SOURCES
    from nba_elt.warehouse.db import get_engine

    settings = get_settings()
    request = parse_request(
        date=date,
        start=start,
        end=end,
        games=games,
        sources=sources,
        dry_run=dry_run,
        resume=resume,
        offline=offline,
        force=force,
        refresh=refresh,
        predict=predict,
        yes=yes,
        provider=provider,
        valid_sources=tuple(SOURCES),
        max_days=settings.max_backfill_days,
    )
    for note in request.notes:
        log.info(note)
    engine = get_engine(settings, migrate=not request.dry_run)
    schema_ready = _schema_ready(engine)
    if not schema_ready and request.resume:
        raise BadInput(
            f"there is no backfill run {request.resume}: the warehouse has no ledger yet"
        )
    # A dry run never touches the network: it reads only what is already archived.
    ctx = _context(engine, settings, request.offline or request.dry_run, request.provider)
    if not request.resume:
        given = len(request.notes)
        request = _resolve_games(ctx, request)
        for note in request.notes[given:]:
            log.info(note)

    already_done: set[tuple[str, str]] = set()
    if request.resume:
        plan, args, already_done = resume_plan(engine, ctx, request)
        if not plan.units:
            return TaskResult(
                EXIT_OK,
                f"nothing to resume: every unit of run {request.resume} succeeded",
                {"run_id": None, "resumed_from": request.resume, "counts": {}, "units": []},
            )
    else:
        chosen = request.sources or (enabled_sources(engine) if schema_ready else tuple(SOURCES))
        if not chosen:
            raise BadInput(
                "no source is enabled in nba_source.feature_flags; pass --sources "
                f"({', '.join(SOURCES)})"
            )
        plan = _plan_with_fallback(request, chosen, ctx, schema_ready)
        args = request.args() | {"sources": list(chosen)}

    if request.dry_run:
        description = describe_plan(
            plan, ctx, force=request.force, refresh=request.refresh, schema_ready=schema_ready
        )
        _print_plan(description)
        return TaskResult(
            EXIT_OK,
            f"dry run: {description['unit_count']} unit(s), {description['to_run']} to run, "
            f"{description['page_count']} page(s) ({description['pages_in_archive']} in the archive); "
            "nothing written",
            {"dry_run": True, "resumed_from": request.resume, "plan": description},
        )

    runner = BackfillRunner(
        engine,
        ctx,
        force=request.force,
        already_done=already_done,
        fallback=request.provider == "auto",
    )
    with RichProgress() as progress:
        runner.progress = progress
        report = runner.run(plan, args, resumed_from=request.resume)
    _print_report(report)

    summary: dict[str, Any] = {
        "run_id": report.run_id,
        "resumed_from": report.resumed_from,
        "status": report.status,
        "counts": report.counts(),
        "rows_written": report.rows_written,
        "stopped": report.stopped,
        "provider": request.provider,
        "fell_back": report.fell_back,
        "units": [o.as_dict() for o in report.outcomes],
    }
    exit_code = report.exit_code
    message = _summary_line(report)
    if plan.days_without_games:
        days = ", ".join(map(str, plan.days_without_games))
        message += f"; no pbp games found on {days}"
        summary["days_without_games"] = [str(d) for d in plan.days_without_games]

    if exit_code != EXIT_OK or report.fell_back:
        from nba_elt.ops.alerts import send_alert

        summary["alert"] = send_alert(settings, alert_text(report)).as_dict()

    if request.refresh:
        if report.counts()["failed"] or report.stopped:
            message += "; refresh not run because units failed"
        else:
            code, notes, extra = _refresh_and_predict(request, report)
            summary.update(extra)
            message += "; " + "; ".join(notes)
            if code == EXIT_FAILED or (code and exit_code == EXIT_OK):
                exit_code = code
    summary["exit_code"] = exit_code
    return TaskResult(exit_code, message, summary)
