"""A backfill: plan, run, resume. What follows a run (its alert, --refresh, --predict) is
nba_elt.pipelines.steps.backfill.

The pieces are nba_elt.ingest.request (flags -> a validated request),
nba_elt.ingest.plan (units in run order; the dry-run description),
nba_elt.ingest.runner (unit-by-unit execution) and nba_elt.ingest.ledger (ops.backfill_*).
`run_backfill` wires them together and returns a `BackfillResult`; it never prints
(nba_elt.cli.commands renders the plan, the progress bar and the table).
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.config import Settings, get_settings
from nba_elt.errors import EXIT_OK, BadInput, NbaEltError, SourceError
from nba_elt.extract.http import HttpClient
from nba_elt.ingest import ledger
from nba_elt.ingest.plan import (
    Plan,
    build_plan,
    days_with_schedule,
    describe_plan,
    enabled_sources,
    unit_sort_key,
)
from nba_elt.ingest.request import BackfillRequest, with_original_flags
from nba_elt.ingest.runner import BackfillRunner, Progress, RunReport, UnitOutcome
from nba_elt.results import Result
from nba_elt.sources import SOURCES, units_for_dates
from nba_elt.sources.base import SourceContext, Unit
from nba_elt.sources.nba.games import resolve_nba_game_id
from nba_elt.sources.nba.parse import is_nba_game_id
from nba_elt.warehouse.db import get_engine

log = logging.getLogger(__name__)

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
    engine: Engine, ctx: SourceContext, request: BackfillRequest, run: ledger.LedgerRun
) -> tuple[Plan, dict[str, Any], set[tuple[str, str]]]:
    """The units of the resumed `run` that did not succeed (plus pbp games not yet listed)."""
    run_id = run.id
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


# ---------------------------------------------------------------- the backfill


@dataclass
class BackfillResult(Result):
    """What `run_backfill` did. `units` = the per-unit outcomes (empty for a dry run).

    `report` is the ledger run (None for a dry run or a resume with nothing left),
    `plan` the dry-run description, `steps` the refresh / predict results after the run
    (nba_elt.pipelines.steps.backfill runs them).
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


def _resolve_games(ctx: SourceContext, request: BackfillRequest) -> BackfillRequest:
    """NBA game ids (0022200552) -> warehouse ids, before anything is written."""
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


def run_backfill(
    request: BackfillRequest,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> BackfillResult:
    """Plan and run (or, with dry_run, only describe) a backfill. See `invoke backfill --help`.

    `progress`, when given, follows the units (a context manager is entered around the run).
    Raises BadInput for a bad request; unit failures are outcomes, not exceptions.
    """
    settings = settings or get_settings()
    for note in request.notes:
        log.info(note)
    engine = get_engine(settings, migrate=not request.dry_run)
    schema_ready = _schema_ready(engine)
    if not schema_ready and request.resume:
        raise BadInput(
            f"there is no backfill run {request.resume}: the warehouse has no ledger yet"
        )
    original = ledger.load_run(engine, request.resume) if request.resume else None
    if request.resume:
        # --offline / --force / --refresh / --predict of the run it resumes (sources and
        # dates come with its units): a resumed offline run never goes to the network
        if original is None:
            raise BadInput(f"there is no backfill run {request.resume} in ops.backfill_runs")
        request = with_original_flags(request, dict(original.args or {}))
    # A dry run never touches the network: it reads only what is already archived.
    # --force re-fetches final pages from the site (offline, it replays the archive).
    offline, force = request.offline or request.dry_run, request.force and not request.dry_run
    planned_with = "nba" if request.provider == "nba" else "bbref"  # auto starts with bbref
    ctx = SourceContext(engine, HttpClient(settings, offline, force=force), provider=planned_with)
    if request.dry_run and not request.offline:
        ctx.client.offline_hint = "a dry run reads only the archive; the run fetches it"
    if not request.resume:
        given = len(request.notes)
        request = _resolve_games(ctx, request)
        for note in request.notes[given:]:
            log.info(note)

    already_done: set[tuple[str, str]] = set()
    if original is not None:
        plan, args, already_done = resume_plan(engine, ctx, request, original)
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
    message = _summary_line(report)
    if plan.days_without_games:
        days = ", ".join(map(str, plan.days_without_games))
        message += f"; no pbp games found on {days}"
        summary["days_without_games"] = [str(d) for d in plan.days_without_games]
    summary["exit_code"] = report.exit_code
    return BackfillResult(report.exit_code, message, summary, report=report)
