"""Running a backfill: unit by unit, each atomic, each recorded in the ledger.

The unit's data is written by `nba_elt.sources.run_unit` in one transaction. Around it,
the ledger moves the unit pending -> running -> outcome in short transactions of its
own; a unit that writes rows is marked succeeded inside its data's transaction too, so the
two commit together even if the process dies right after. An advisory lock on (source,
unit_key), held on a separate connection, keeps a second backfill from writing the same
unit at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from nba_elt.config import get_settings, scrub
from nba_elt.errors import (
    EXIT_FAILED,
    EXIT_NOT_AVAILABLE,
    EXIT_OK,
    DatabaseLost,
    DataNotAvailable,
    NbaEltError,
    SourceError,
)
from nba_elt.ingest import ledger, parallel
from nba_elt.ingest.parallel import ParsedAhead
from nba_elt.ingest.plan import (
    DATE_KEY,
    Plan,
    days_with_schedule,
    dedupe,
    is_listing,
    unit_sort_key,
)
from nba_elt.ingest.request import resume_command
from nba_elt.results import status_of
from nba_elt.sources import is_complete, run_unit, units_for_dates
from nba_elt.sources.base import SourceContext, Unit, settle_clients
from nba_elt.warehouse.db_errors import database_error

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000


def _record_written(
    conn: Connection, rows: int, *, run_id: int, unit: Unit, recorded: list[int]
) -> None:
    # The unit's commit need not wait for the disk: its rows and its 'succeeded' are one
    # transaction, so a server crash loses both together and --resume re-runs the unit.
    conn.exec_driver_sql("set local synchronous_commit = off")
    ledger.record_unit_written(conn, run_id, unit.source, unit.unit_key, rows)
    recorded.append(rows)


SKIPPED_COMPLETE = (
    "already complete and final (loaded, final, cross-checked); --force runs it again"
)


@dataclass
class UnitOutcome:
    source: str
    unit_key: str
    game_date: dt.date | None
    status: str
    rows_written: int = 0
    seconds: float = 0.0
    error: str | None = None
    reason: str | None = None  # why a unit was skipped, and how to run it anyway

    @property
    def rows(self) -> int:
        return self.rows_written

    def as_dict(self) -> dict[str, Any]:
        day = self.game_date.isoformat() if self.game_date else None
        return asdict(self) | {"game_date": day, "seconds": round(self.seconds, 3)}


@dataclass
class RunReport:
    run_id: int
    outcomes: list[UnitOutcome] = field(default_factory=list)
    resumed_from: int | None = None
    stopped: str | None = None
    # Set when basketball-reference stopped the run and the NBA finished it (--provider auto).
    fell_back: str | None = None
    stop_exit_code: int | None = None  # the exit code of the terminal error that stopped it
    args: dict[str, Any] = field(default_factory=dict)  # as in ops.backfill_runs.args

    @property
    def resume_command(self) -> str:
        return resume_command(self.run_id, self.args)

    @property
    def units(self) -> list[UnitOutcome]:
        return self.outcomes

    def counts(self) -> dict[str, int]:
        found = Counter(o.status for o in self.outcomes)
        return {s: found.get(s, 0) for s in ledger.UNIT_OUTCOMES}

    def counts_text(self) -> str:
        """ "2 succeeded, 1 failed, 0 not available, 0 skipped"."""
        c = self.counts()
        return (
            f"{c['succeeded']} succeeded, {c['failed']} failed, "
            f"{c['not_available']} not available, {c['skipped']} skipped"
        )

    @property
    def not_run(self) -> list[UnitOutcome]:
        return [o for o in self.outcomes if (o.error or "").startswith(ledger.NOT_RUN_PREFIX)]

    @property
    def exit_code(self) -> int:
        counts = self.counts()
        if self.stop_exit_code is not None:
            return self.stop_exit_code
        if counts["failed"] or self.not_run:
            return EXIT_FAILED
        if counts["not_available"]:
            return EXIT_NOT_AVAILABLE
        return EXIT_OK

    @property
    def status(self) -> str:
        return status_of(self.exit_code)

    @property
    def rows_written(self) -> int:
        return sum(o.rows_written for o in self.outcomes)

    def touched(self) -> tuple[list[str], list[dt.date]]:
        """Sources and dates where rows were written (what a refresh must rebuild)."""
        written = [o for o in self.outcomes if o.status == "succeeded"]
        sources = sorted({o.source for o in written})
        dates = sorted({o.game_date for o in written if o.game_date})
        return sources, dates


class Progress(Protocol):
    def add_total(self, count: int) -> None: ...

    def unit_started(self, unit: Unit) -> None: ...

    def unit_finished(self, outcome: UnitOutcome) -> None: ...


class NoProgress:
    def add_total(self, count: int) -> None:
        pass

    def unit_started(self, unit: Unit) -> None:
        pass

    def unit_finished(self, outcome: UnitOutcome) -> None:
        pass


def _short(exc: BaseException) -> str:
    text_ = scrub(str(exc).strip()) or type(exc).__name__
    return text_ if len(text_) <= MAX_ERROR_CHARS else text_[: MAX_ERROR_CHARS - 3] + "..."


class BackfillRunner:
    """Runs a plan's units under one ledger run.

    ``ctx`` is never changed: a unit runs with a copy holding its ledger hook, and the
    switch to the NBA (--provider auto) makes a new context for the units after it.
    """

    def __init__(
        self,
        engine: Engine,
        ctx: SourceContext,
        *,
        force: bool = False,
        progress: Progress | None = None,
        lock_wait: float | None = None,
        already_done: set[tuple[str, str]] | None = None,
        fallback: bool = False,
    ) -> None:
        self.engine = engine
        self.ctx = ctx
        self.force = force
        self.progress = progress or NoProgress()
        self.lock_wait = get_settings().backfill_lock_wait if lock_wait is None else lock_wait
        # Units a resumed run finished already: never planned again by discovery.
        self.already_done = already_done or set()
        self.stop_reason: str | None = None
        self.stop_exit_code: int | None = None
        self.stop_error: NbaEltError | None = None
        self.listed: list[Unit] = []  # pbp units found by the last listing unit
        # --provider auto: when basketball-reference stops the run, the NBA finishes it.
        self.fallback = fallback
        self.current: str | None = None  # "source unit_key" of the unit in flight

    def run(self, plan: Plan, args: dict[str, Any], resumed_from: int | None = None) -> RunReport:
        ledger.mark_interrupted_runs(self.engine)
        guard = ledger.RunGuard(self.engine)
        try:
            run_id = guard.reserve_run_id()
            ledger.create_run(
                self.engine,
                run_id,
                args,
                plan.units,
                resumed_from=resumed_from,
            )
            log.info("backfill run %s: %d unit(s) planned", run_id, len(plan.units))
            report = RunReport(run_id=run_id, resumed_from=resumed_from, args=dict(args))
            ahead = self._parse_ahead(plan)
            try:
                self._run_units(plan, guard, report)
            except (DatabaseLost, SQLAlchemyError) as exc:
                raise self._database_lost(run_id, exc) from None
            except BaseException as exc:  # Ctrl-C or a bug: the ledger must say so
                ledger.finish_run(
                    self.engine, run_id, "interrupted", f"stopped by {type(exc).__name__}"
                )
                log.warning(
                    "backfill run %s interrupted; resume with: %s", run_id, report.resume_command
                )
                raise
            finally:
                if ahead is not None:
                    self.ctx = replace(self.ctx, parsed_ahead=None)
                    ahead.close()
            message = report.stopped or f"{len(report.outcomes)} unit(s): {report.counts_text()}"
            if report.fell_back:
                message += f"; {report.fell_back}"
            ledger.finish_run(self.engine, run_id, report.status, message)
            return report
        finally:
            with contextlib.suppress(SQLAlchemyError):  # a lost database took its locks along
                guard.close()

    def _database_lost(self, run_id: int, exc: BaseException) -> DatabaseLost:
        """One line for the operator; the run is marked interrupted if the database is
        back, else by the next backfill (its process is gone by then)."""
        lost = exc if isinstance(exc, DatabaseLost) else database_error(exc, "backfill")
        where = self.current or "the ledger"
        with contextlib.suppress(SQLAlchemyError):
            ledger.finish_run(self.engine, run_id, "interrupted", f"database lost at {where}")
        return DatabaseLost(
            f"the warehouse was lost at {where} ({_short(lost).split(': ', 1)[-1]}); "
            f"run {run_id} is interrupted. When the database is back, resume with: "
            f"invoke backfill --resume {run_id}"
        )

    def _parse_ahead(self, plan: Plan) -> ParsedAhead | None:
        """Worker processes parse the pages of a long offline re-ingest (ingest/parallel.py)."""
        units = parallel.wanted(plan.units, self.ctx.client)
        if not units:
            return None
        ahead = ParsedAhead(units, self.ctx.client.settings)
        self.ctx = replace(self.ctx, parsed_ahead=ahead)
        return ahead

    def _run_units(self, plan: Plan, guard: ledger.RunGuard, report: RunReport) -> None:
        pending = deque(plan.units)  # consumed from the left; new units make a new queue
        queued = {(u.source, u.unit_key) for u in pending} | self.already_done
        self.progress.add_total(len(pending))
        discovered_days: set[dt.date] = set()
        while pending:
            unit = pending.popleft()
            if report.stopped:
                note = f"{ledger.NOT_RUN_PREFIX}{report.stopped}"
                key = (unit.source, unit.unit_key)
                outcome = UnitOutcome(*key, unit.game_date, "skipped", error=note)
                outcome.reason = f"{note}; --resume runs it"
                ledger.finish_unit(self.engine, guard.run_id, *key, "skipped", 0, note)
            else:
                outcome = self._run_one(unit, guard)
                if self.stop_reason and self._can_fall_back(unit):
                    pending = deque(self._fall_back(unit, list(pending), plan, guard, report))
                    queued |= {(u.source, u.unit_key) for u in pending}
                    self.progress.add_total(len(pending))
                    continue
            report.outcomes.append(outcome)
            self.progress.unit_finished(outcome)
            if self.stop_reason and not report.stopped:
                report.stopped = self.stop_reason
                report.stop_exit_code = self.stop_exit_code
            found, self.listed = self.listed, []
            # A day's schedule is in: its pbp games are known now.
            if (
                plan.discover_pbp
                and unit.source == "schedule"
                and outcome.status in ("succeeded", "skipped")
                and unit.game_date not in discovered_days
                and not report.stopped
            ):
                discovered_days.add(unit.game_date)
                found += self._discover_pbp(unit.game_date)
            new = [u for u in dedupe(found) if (u.source, u.unit_key) not in queued]
            if new:
                log.info("%s: %d pbp game(s) to load", unit.game_date, len(new))
                ledger.add_units(self.engine, guard.run_id, new)
                self.progress.add_total(len(new))
                queued |= {(u.source, u.unit_key) for u in new}
                pending = deque(sorted([*pending, *new], key=unit_sort_key))

    def _can_fall_back(self, unit: Unit) -> bool:
        """--provider auto, a basketball-reference unit, and the site stopped the run (a
        403, 429s, a refused Retry-After, unreachable): not the archive or the database,
        which would stop the NBA's units just the same."""
        return (
            self.fallback and unit.provider == "bbref" and isinstance(self.stop_error, SourceError)
        )

    def _fall_back(
        self, stopped_at: Unit, remaining: list[Unit], plan: Plan, guard: ledger.RunGuard,
        report: RunReport,
    ) -> list[Unit]:  # fmt: skip
        """Switch the run to the NBA: the unit that stopped it and every unit left.

        Units keyed alike by both providers (schedule and pbp) are re-run under the same
        ledger row; a basketball-reference boxscores day becomes the NBA's per-game units
        (the requested games only, for --games), its own row marked skipped with where
        its games went. Returns the new remaining queue.
        """
        report.fell_back = (
            f"basketball-reference stopped the run at {stopped_at.source} "
            f"{stopped_at.unit_key} ({self.stop_reason}); the remaining units were handed "
            "to the NBA (--provider auto; their outcomes below)"
        )
        log.warning("%s", report.fell_back)
        self.stop_reason = None
        self.stop_exit_code = None
        self.stop_error = None
        self.ctx = replace(self.ctx, provider="nba")
        wanted = set(plan.game_ids)
        converted: list[Unit] = []
        for unit in [stopped_at, *remaining]:
            if unit.provider != "bbref":
                converted.append(unit)
            elif unit.source == "boxscores" and DATE_KEY.match(unit.unit_key):
                try:
                    games = units_for_dates("boxscores", [unit.game_date], self.ctx)
                except NbaEltError as exc:
                    games, status = [], "failed"
                    note = f"the NBA could not list the games of {unit.game_date}: {_short(exc)}"
                else:
                    status = "skipped"
                    games = [g for g in games if not wanted or g.unit_key in wanted]
                    keys = ", ".join(g.unit_key for g in games) or "no game"
                    note = f"loaded from the NBA game by game ({keys})"
                ledger.finish_unit(
                    self.engine, guard.run_id, unit.source, unit.unit_key, status, 0, note
                )
                report.outcomes.append(
                    UnitOutcome(unit.source, unit.unit_key, unit.game_date, status, error=note)
                )
                ledger.add_units(self.engine, guard.run_id, games)
                converted += games
            else:
                converted.append(replace(unit, provider="nba"))
        handed = [(u.source, u.unit_key) for u in converted if u.provider == "nba"]
        ledger.set_provider(self.engine, guard.run_id, handed, "nba")
        return sorted(dedupe(converted), key=unit_sort_key)

    def _discover_pbp(self, day: dt.date) -> list[Unit]:
        if day not in days_with_schedule(self.engine, [day]):
            return []  # no game that day: nothing to list, no page to fetch
        try:
            return self._pbp_units_of(day)
        except NbaEltError as exc:
            if exc.terminal:
                self._stop_on(exc, f"listing the games of {day}")
            log.warning("could not list the pbp games of %s: %s", day, exc)
            return []

    def _pbp_units_of(self, day: dt.date) -> list[Unit]:
        """The day's pbp games; the pages read to list them are settled either way."""
        try:
            found = units_for_dates("pbp", [day], self.ctx)
        except NbaEltError as exc:
            settle_clients(self.ctx, False, f"listing the pbp games of {day}: {exc}")
            raise
        settle_clients(self.ctx, True)
        return found

    def _stop_on(self, exc: NbaEltError, where: str) -> None:
        """A terminal error: every later unit is skipped (by the marker, whatever the class)."""
        if self.stop_reason is None:
            why = exc.stop_summary or _short(exc).rstrip(".")
            self.stop_reason = f"{why} at {where}; the run stopped there"
            self.stop_exit_code = exc.exit_code
            self.stop_error = exc

    def _run_one(self, unit: Unit, guard: ledger.RunGuard) -> UnitOutcome:
        run_id = guard.run_id
        started = time.monotonic()
        recorded: list[int] = []  # rows the unit's own transaction recorded in the ledger
        outcome = UnitOutcome(unit.source, unit.unit_key, unit.game_date, "failed")
        self.progress.unit_started(unit)
        self.current = f"{unit.source} {unit.unit_key}"
        settle_clients(self.ctx, True)  # pages read while planning, parsed without error
        try:
            if is_listing(unit):
                # a listing unit: find the day's games (schedule or scoreboard); 0 rows
                ledger.mark_unit_running(self.engine, run_id, unit.source, unit.unit_key)
                self.listed = self._pbp_units_of(unit.game_date)
                outcome.status = "succeeded"
            else:
                with guard.unit_lock(unit.source, unit.unit_key, self.lock_wait):
                    # Checked once, under the lock: another run may have just finished it.
                    if not self.force and is_complete(unit, self.ctx):
                        outcome.status, outcome.reason = "skipped", SKIPPED_COMPLETE
                    else:
                        ledger.mark_unit_running(
                            guard.conn, run_id, unit.source, unit.unit_key, unit.provider
                        )
                        on_write = functools.partial(
                            _record_written, run_id=run_id, unit=unit, recorded=recorded
                        )
                        unit_ctx = replace(self.ctx, on_write=on_write)
                        outcome.rows_written = int(run_unit(unit, unit_ctx) or 0)
                        outcome.status = "succeeded"
        except DataNotAvailable as exc:
            outcome.status, outcome.error = "not_available", _short(exc)
        except DatabaseLost:
            raise
        except NbaEltError as exc:
            outcome.status, outcome.error = "failed", _short(exc)
            if exc.exit_code == EXIT_NOT_AVAILABLE:
                outcome.status = "not_available"
            if exc.terminal:
                self._stop_on(exc, f"{unit.source} {unit.unit_key}")
        except SQLAlchemyError as exc:
            error = database_error(exc, f"{unit.source} {unit.unit_key}")
            if isinstance(error, DatabaseLost):
                raise error from None
            outcome.status, outcome.error = "failed", _short(error)
        except Exception as exc:  # noqa: BLE001 - one broken unit must not stop the others
            log.exception("%s %s failed unexpectedly", unit.source, unit.unit_key)
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {_short(exc)}"
        except BaseException:
            ledger.finish_unit(
                self.engine,
                run_id,
                unit.source,
                unit.unit_key,
                "failed",
                0,
                "interrupted (Ctrl-C) while running: the unit's data is one transaction "
                "(all or nothing), and --resume runs it again",
            )
            raise
        outcome.seconds = time.monotonic() - started
        if not (outcome.status == "succeeded" and recorded == [outcome.rows_written]):
            # (a unit whose rows were written was marked succeeded in their transaction)
            ledger.finish_unit(
                guard.conn,
                run_id,
                unit.source,
                unit.unit_key,
                outcome.status,
                outcome.rows_written,
                outcome.error or outcome.reason,
            )
        # One line per unit would cost more than the unit at re-ingest speed: DEBUG for the
        # units that went well (the progress bar and the summary count them).
        level = logging.DEBUG if outcome.status in ("succeeded", "skipped") else logging.WARNING
        log.log(
            level,
            "%s %s: %s (%d rows, %.1fs)%s",
            unit.source,
            unit.unit_key,
            outcome.status,
            outcome.rows_written,
            outcome.seconds,
            f": {outcome.error or outcome.reason}" if outcome.error or outcome.reason else "",
        )
        return outcome
