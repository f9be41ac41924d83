"""A backfill: plan, run, resume; the alert; --refresh / --predict after it.

The pieces are nba_elt.ingest.request (flags -> a validated request),
nba_elt.ingest.plan (units in run order; the dry-run description),
nba_elt.ingest.runner (unit-by-unit execution) and nba_elt.ingest.ledger (ops.backfill_*).
`run_backfill` wires them together and returns a `BackfillResult`; it never prints
(nba_elt.cli.backfill renders the plan, the progress bar and the table).
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.config import Settings, get_settings
from nba_elt.errors import EXIT_FAILED, EXIT_OK, BadInput, NbaEltError, SourceError
from nba_elt.ingest import ledger
from nba_elt.ingest.plan import (
    Plan,
    build_plan,
    days_with_schedule,
    describe_plan,
    enabled_sources,
    unit_sort_key,
)
from nba_elt.ingest.request import BackfillRequest, parse_request, with_original_flags
from nba_elt.ingest.runner import BackfillRunner, Progress, RunReport, UnitOutcome
from nba_elt.results import Result, error_result
from nba_elt.sources.base import SourceContext

log = logging.getLogger(__name__)

MAX_UNITS_IN_ALERT = 20


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


# ---------------------------------------------------------------- the result


def _summary_line(report: RunReport) -> str:
    text_ = f"run {report.run_id}: {report.counts_text()} ({report.rows_written} rows written)"
    if report.fell_back:
        text_ += f"; {report.fell_back}"
    if report.stopped:
        text_ += f"; stopped: {report.stopped}"
    if report.exit_code != EXIT_OK:
        text_ += f". Resume with: {report.resume_command}"
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
        lines.append(f"Resume: {report.resume_command}")
    return "\n".join(lines)


# ---------------------------------------------------------------- refresh / predict


TONIGHT_MODEL = "ml_tonights_games"


def _call(step: str, fn: Any, **kwargs: Any) -> Result:
    """Run another step's function; its named errors become a result, like the CLI does."""
    try:
        return fn(**kwargs)
    except NbaEltError as exc:
        return error_result(exc, step)


def _refresh_and_predict(
    request: BackfillRequest, report: RunReport, settings: Settings, steps: list[Result]
) -> tuple[int, list[str], dict[str, Any]]:
    """dbt refresh of the sources the run wrote; with --predict, predictions per date touched.

    The refresh builds ml_tonights_games for the first date touched; each further date
    rebuilds only that model (run_date = the date) before its predictions. Each step's
    result is appended to `steps` (the CLI renders them).
    """
    sources, dates = report.touched()
    notes: list[str] = []
    summary: dict[str, Any] = {}
    if not sources:
        notes.append("refresh: nothing was written, nothing to refresh")
        return EXIT_OK, notes, summary
    try:
        from nba_elt.transform.dbt import refresh
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
        "refresh", refresh, sources=refresh_sources, select=None, full=False, run_date=first,
        settings=settings,
    )  # fmt: skip
    steps.append(result)
    summary["refresh"] = {"exit_code": result.exit_code, "message": result.message}
    notes.append(f"refresh ({', '.join(sources)}): {result.message or result.exit_code}")
    if result.exit_code != EXIT_OK or not request.predict:
        return result.exit_code, notes, summary
    try:
        from ml.app import run_predict
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
                refresh,
                sources=None,
                select=TONIGHT_MODEL,
                full=False,
                run_date=day.isoformat(),
                settings=settings,
            )
            steps.append(outcome)
        if outcome is None or outcome.exit_code == EXIT_OK:
            outcome = _call(f"predict {day}", run_predict, date=day.isoformat(), settings=settings)
            steps.append(outcome)
        summary["predict"].append(
            {"date": day.isoformat(), "exit_code": outcome.exit_code, "message": outcome.message}
        )
        notes.append(f"predict {day}: {outcome.message or outcome.exit_code}")
        if outcome.exit_code == EXIT_FAILED or (outcome.exit_code and worst == EXIT_OK):
            worst = outcome.exit_code
    return worst, notes, summary


# ---------------------------------------------------------------- the backfill


@dataclass
class BackfillResult(Result):
    """What `run_backfill` did. `units` = the per-unit outcomes (empty for a dry run).

    `report` is the ledger run (None for a dry run or a resume with nothing left),
    `plan` the dry-run description, `steps` the refresh / predict results after the run.
    """

    report: RunReport | None = None
    plan: dict[str, Any] | None = None
    steps: list[Result] = field(default_factory=list)

    @property
    def units(self) -> list[UnitOutcome]:
        return list(self.report.outcomes) if self.report else []

    @property
    def run_id(self) -> int | None:
        return self.report.run_id if self.report else None


def _plan_with_fallback(
    request: BackfillRequest, sources: tuple[str, ...], ctx: SourceContext, schema_ready: bool
) -> tuple[Plan, SourceContext]:
    """The plan and the context it was made with; with --provider auto, planned from the
    NBA when the site stops planning (a terminal error: blocked, unreachable, a refused
    Retry-After)."""
    try:
        return build_plan(request, sources, ctx, schema_ready=schema_ready), ctx
    except NbaEltError as exc:
        site_stopped = exc.terminal and isinstance(exc, SourceError)
        if not site_stopped or request.provider != "auto" or ctx.provider != "bbref":
            raise
        log.warning("basketball-reference stopped planning (%s); planning from the NBA", exc)
        ctx = replace(ctx, provider="nba")
        plan = build_plan(request, sources, ctx, schema_ready=schema_ready)
        plan.notes.append(f"basketball-reference stopped planning ({exc}): planned from the NBA")
        return plan, ctx


def _context(
    engine: Engine,
    settings: Settings,
    offline: bool,
    provider: str = "bbref",
    force: bool = False,
) -> Any:
    from nba_elt.extract.http import HttpClient
    from nba_elt.sources import SourceContext

    planned_with = "nba" if provider == "nba" else "bbref"  # auto starts with bbref
    # --force re-fetches final pages from the site (offline, it replays the archive)
    client = HttpClient(settings, offline=offline, force=force)
    return SourceContext(engine, client, provider=planned_with)


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


def _as_flag(value: Any) -> str | None:
    """A list of names or ids (Python callers) as the comma-separated flag value."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def run_backfill(
    date: str | dt.date | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    games: str | list[str] | None = None,
    sources: str | list[str] | None = None,
    dry_run: bool = False,
    resume: Any = None,
    offline: bool = False,
    force: bool = False,
    refresh: bool = False,
    predict: bool = False,
    yes: bool = False,
    provider: str | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> BackfillResult:
    """Plan and run (or, with dry_run, only describe) a backfill. See `invoke backfill --help`.

    provider: bbref, nba, or auto (default: basketball-reference, and the NBA for the
    units left when basketball-reference stops the run; docs/providers.md).

    `progress`, when given, follows the units (a context manager is entered around the run).
    Raises BadInput for a bad request; unit failures are outcomes, not exceptions.
    """
    from nba_elt.sources import SOURCES
    from nba_elt.warehouse.db import get_engine

    settings = settings or get_settings()
    request = parse_request(
        date=None if date is None else str(date),
        start=None if start is None else str(start),
        end=None if end is None else str(end),
        games=_as_flag(games),
        sources=_as_flag(sources),
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
    if request.resume:
        # --offline / --force / --refresh / --predict of the run it resumes (sources and
        # dates come with its units): a resumed offline run never goes to the network
        original = ledger.load_run(engine, request.resume)
        if original is None:
            raise BadInput(f"there is no backfill run {request.resume} in ops.backfill_runs")
        request = with_original_flags(request, dict(original.args or {}))
    # A dry run never touches the network: it reads only what is already archived.
    ctx = _context(
        engine,
        settings,
        request.offline or request.dry_run,
        request.provider,
        force=request.force and not request.dry_run,
    )
    if not request.resume:
        given = len(request.notes)
        request = _resolve_games(ctx, request)
        for note in request.notes[given:]:
            log.info(note)

    already_done: set[tuple[str, str]] = set()
    if request.resume:
        plan, args, already_done = resume_plan(engine, ctx, request)
        if not plan.units:
            return BackfillResult(
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
        plan, ctx = _plan_with_fallback(request, chosen, ctx, schema_ready)
        args = request.args() | {"sources": list(chosen)}

    if request.dry_run:
        description = describe_plan(
            plan, ctx, force=request.force, refresh=request.refresh, schema_ready=schema_ready
        )
        return BackfillResult(
            EXIT_OK,
            f"dry run: {description['unit_count']} unit(s), {description['to_run']} to run, "
            f"{description['page_count']} page(s) ({description['pages_in_archive']} in the archive); "
            "nothing written",
            {"dry_run": True, "resumed_from": request.resume, "plan": description},
            plan=description,
        )

    # the refresh that follows a backfill (--refresh, or the operator's next command) then
    # finds dbt warm: the server imports dbt while the units run
    from nba_elt.transform.dbt import prestart_dbt_server

    prestart_dbt_server(settings)
    runner = BackfillRunner(
        engine, ctx, force=request.force, already_done=already_done,
        lock_wait=settings.backfill_lock_wait, fallback=request.provider == "auto",
    )  # fmt: skip
    scope = progress if isinstance(progress, AbstractContextManager) else nullcontext()
    with scope:
        runner.progress = progress or runner.progress
        report = runner.run(plan, args, resumed_from=request.resume)

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

    steps: list[Result] = []
    if request.refresh:
        if report.counts()["failed"] or report.stopped:
            message += "; refresh not run because units failed"
        else:
            code, notes, extra = _refresh_and_predict(request, report, settings, steps)
            summary.update(extra)
            message += "; " + "; ".join(notes)
            if code == EXIT_FAILED or (code and exit_code == EXIT_OK):
                exit_code = code
    summary["exit_code"] = exit_code
    return BackfillResult(exit_code, message, summary, report=report, steps=steps)
