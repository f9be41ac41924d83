"""The backfill ledger: ops.backfill_runs and ops.backfill_units.

Every write here is its own short transaction, so that whatever moment a backfill dies
at, the ledger tells the truth about what finished: a unit is 'succeeded' only after its
data transaction committed; a unit still 'running' or 'pending' did not finish.

While a run is alive its process holds a session-level advisory lock on the run id
(`RunGuard`). The next backfill that finds a run 'running' without that lock knows its
process died (kill -9, a lost container) and marks it 'interrupted'.

Per unit, `RunGuard.unit_lock` takes an advisory lock on (source, unit_key) on the same
separate connection, so two backfills can never write one unit at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from nba_elt.config import PROJECT_ROOT, current_user
from nba_elt.errors import NbaEltError
from nba_elt.sources.base import Unit

log = logging.getLogger(__name__)

# Two-key advisory locks: (class, object). The classes keep our locks apart from others.
RUN_LOCK_CLASS = 1_651_078_001
UNIT_LOCK_CLASS = 1_651_078_002

UNIT_OUTCOMES = ("succeeded", "failed", "not_available", "skipped")
RUN_STATUSES = ("running", "succeeded", "failed", "not_available", "interrupted")
NOT_RUN_PREFIX = "not run: "
INTERRUPTED_WHILE_RUNNING = (
    "interrupted while running: the process ended before recording the outcome; the unit's "
    "data is one transaction (all or nothing), and --resume runs it again"
)


class UnitBusy(NbaEltError):
    """Another backfill holds the unit's lock and did not release it in time."""


@dataclass(frozen=True)
class LedgerUnit:
    source: str
    unit_key: str
    game_date: dt.date | None
    status: str
    rows_written: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    provider: str = "bbref"

    @property
    def done(self) -> bool:
        """Finished for good: succeeded, or skipped because it was already complete."""
        return self.status == "succeeded" or (
            self.status == "skipped" and not (self.error or "").startswith(NOT_RUN_PREFIX)
        )


@dataclass(frozen=True)
class LedgerRun:
    id: int
    args: dict[str, Any]
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    user_name: str
    git_sha: str | None
    resumed_from: int | None
    pid: int | None
    host: str | None
    message: str | None
    units: list[LedgerUnit]


def git_sha() -> str | None:
    """The commit of the code that runs, when it runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def _unit_lock_args(source: str, unit_key: str) -> dict[str, Any]:
    return {"c": UNIT_LOCK_CLASS, "k": f"{source}:{unit_key}"}


class RunGuard:
    """A separate autocommit connection that holds the run's lock and the unit locks."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # The 'running' marks and failed outcomes written here need no wait for the disk:
        # lost in a crash, the unit stays 'running' and the next sweep marks it failed
        # (a unit's rows and its 'succeeded' commit durably in the unit's transaction).
        self.conn.exec_driver_sql("set synchronous_commit = off")
        self.run_id: int | None = None

    def reserve_run_id(self) -> int:
        """Take the next run id and lock it before the run row exists (no sweep race)."""
        run_id = int(
            self.conn.execute(text("select nextval('ops.backfill_runs_id_seq')")).scalar_one()
        )
        self.conn.execute(
            text("select pg_advisory_lock(:c, :r)"), {"c": RUN_LOCK_CLASS, "r": run_id}
        )
        self.run_id = run_id
        return run_id

    @contextmanager
    def unit_lock(self, source: str, unit_key: str, wait_seconds: float) -> Iterator[None]:
        """Hold the unit's advisory lock; wait at most `wait_seconds` for another run."""
        args = _unit_lock_args(source, unit_key)
        got = self.conn.execute(
            text("select pg_try_advisory_lock(:c, hashtext(:k))"), args
        ).scalar_one()
        if not got:
            holder = running_holder(self.engine, source, unit_key, exclude_run=self.run_id)
            who = f"run {holder}" if holder else "another backfill"
            log.info(
                "%s %s is being written by %s; waiting up to %.0f s",
                source,
                unit_key,
                who,
                wait_seconds,
            )
            try:
                self.conn.exec_driver_sql(f"set lock_timeout = {int(wait_seconds * 1000)}")
                self.conn.execute(text("select pg_advisory_lock(:c, hashtext(:k))"), args)
            except DBAPIError as exc:
                if getattr(exc.orig, "pgcode", None) == "55P03":
                    raise UnitBusy(
                        f"{source} {unit_key} is being written by {who} and was not released "
                        f"within {wait_seconds:.0f} s; when it ends: invoke backfill --resume "
                        f"{self.run_id}"
                    ) from None
                raise
            finally:
                self.conn.exec_driver_sql("set lock_timeout = 0")
        try:
            yield
        finally:
            self.conn.execute(text("select pg_advisory_unlock(:c, hashtext(:k))"), args)

    def close(self) -> None:
        # Closing the session releases every advisory lock it holds.
        with suppress(DBAPIError):
            self.conn.close()


def running_holder(
    engine: Engine, source: str, unit_key: str, exclude_run: int | None
) -> int | None:
    """The id of another run whose ledger says it is writing this unit right now."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "select run_id from ops.backfill_units "
                "where source = :s and unit_key = :k and status = 'running' "
                "and run_id <> coalesce(:r, -1) order by run_id desc limit 1"
            ),
            {"s": source, "k": unit_key, "r": exclude_run},
        ).scalar()


def run_is_alive(engine: Engine, run_id: int) -> bool:
    """True while the process of `run_id` holds its run lock (it is still running)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = conn.execute(
            text("select pg_try_advisory_lock(:c, :r)"), {"c": RUN_LOCK_CLASS, "r": run_id}
        ).scalar_one()
        if got:
            conn.execute(
                text("select pg_advisory_unlock(:c, :r)"), {"c": RUN_LOCK_CLASS, "r": run_id}
            )
        return not got


def mark_interrupted_runs(engine: Engine) -> list[int]:
    """Runs left 'running' by a process that is gone become 'interrupted'.

    Their units still 'running' become 'failed': the process died before it recorded
    their outcome. A unit's data is one transaction, so nba_source holds all of it (the
    process died between the commit and the ledger update) or none of it; either way
    `--resume` re-runs it, and re-running a unit is idempotent. Units still 'pending'
    stay pending: they never started.
    """
    with engine.connect() as conn:
        candidates = list(
            conn.execute(
                text("select id, pid, host from ops.backfill_runs where status = 'running'")
            ).all()
        )
    swept = []
    for run_id, pid, host in candidates:
        if run_is_alive(engine, run_id):
            continue
        reason = f"interrupted: the process (pid {pid} on {host}) ended without finishing the run"
        with engine.begin() as conn:
            updated = conn.execute(
                text(
                    "update ops.backfill_runs set status = 'interrupted', "
                    "finished_at = now(), message = :m where id = :r and status = 'running'"
                ),
                {"r": run_id, "m": reason},
            ).rowcount
            conn.execute(
                text(
                    "update ops.backfill_units set status = 'failed', finished_at = now(), "
                    "error = :e where run_id = :r and status = 'running'"
                ),
                {"r": run_id, "e": INTERRUPTED_WHILE_RUNNING},
            )
        if updated:
            log.warning("backfill run %s was %s", run_id, reason)
            swept.append(run_id)
    return swept


def _run_row(args: dict[str, Any]) -> dict[str, Any]:
    """Who started a run, from where, with what: the columns every run row fills."""
    return {
        "args": json.dumps(args, default=str, sort_keys=True),
        "u": current_user(),
        "sha": git_sha(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }


_INSERT_UNITS = text(
    "insert into ops.backfill_units (run_id, source, unit_key, game_date, provider, status) "
    "values (:r, :s, :k, :d, :p, 'pending') on conflict do nothing"
)


def create_run(
    engine: Engine,
    run_id: int,
    args: dict[str, Any],
    units: list[Unit],
    resumed_from: int | None = None,
) -> None:
    """Insert the run row and every planned unit as 'pending', in one transaction."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into ops.backfill_runs "
                "(id, args, status, user_name, git_sha, resumed_from, pid, host) values "
                "(:id, cast(:args as jsonb), 'running', :u, :sha, :rf, :pid, :host)"
            ),
            {"id": run_id, "rf": resumed_from, **_run_row(args)},
        )
        if units:
            conn.execute(_INSERT_UNITS, _unit_params(run_id, units))


def _unit_params(run_id: int, units: list[Unit]) -> list[dict[str, Any]]:
    return [
        {"r": run_id, "s": u.source, "k": u.unit_key, "d": u.game_date, "p": u.provider}
        for u in units
    ]


def add_units(engine: Engine, run_id: int, units: list[Unit]) -> None:
    """Append units discovered while running (e.g. pbp games once the schedule is in)."""
    if units:
        with engine.begin() as conn:
            conn.execute(_INSERT_UNITS, _unit_params(run_id, units))


@contextmanager
def _writing(where: Engine | Connection) -> Iterator[Connection]:
    """A short transaction of its own on an engine, or an autocommit connection as it is
    (the run's guard connection: no pool checkout per ledger write)."""
    if isinstance(where, Engine):
        with where.begin() as conn:
            yield conn
    else:
        yield where


def set_provider(engine: Engine, run_id: int, keys: list[tuple[str, str]], provider: str) -> None:
    """Units handed to another provider (--provider auto falling back to the NBA)."""
    if not keys:
        return
    with engine.begin() as conn:
        conn.execute(
            text(
                "update ops.backfill_units set provider = :p "
                "where run_id = :r and source = :s and unit_key = :k"
            ),
            [{"r": run_id, "s": s, "k": k, "p": provider} for s, k in keys],
        )


def mark_unit_running(
    where: Engine | Connection,
    run_id: int,
    source: str,
    unit_key: str,
    provider: str | None = None,
) -> None:
    """The unit is in flight, served by ``provider`` (kept as planned when None)."""
    with _writing(where) as conn:
        conn.execute(
            text(
                "update ops.backfill_units set status = 'running', started_at = now(), "
                "finished_at = null, error = null, provider = coalesce(:p, provider) "
                "where run_id = :r and source = :s and unit_key = :k"
            ),
            {"r": run_id, "s": source, "k": unit_key, "p": provider},
        )


_FINISH_UNIT = text(
    "update ops.backfill_units set status = :st, rows_written = :n, "
    "started_at = coalesce(started_at, now()), finished_at = now(), error = :e "
    "where run_id = :r and source = :s and unit_key = :k"
)


def record_unit_written(
    conn: Connection, run_id: int, source: str, unit_key: str, rows_written: int
) -> None:
    """Mark a unit succeeded on the unit's own connection: it commits with the unit's data."""
    conn.execute(
        _FINISH_UNIT,
        {"r": run_id, "s": source, "k": unit_key, "st": "succeeded", "n": rows_written, "e": None},
    )


def finish_unit(
    where: Engine | Connection,
    run_id: int,
    source: str,
    unit_key: str,
    status: str,
    rows_written: int = 0,
    error: str | None = None,
) -> None:
    if status not in UNIT_OUTCOMES:
        raise ValueError(f"unknown unit outcome {status!r}")
    with _writing(where) as conn:
        conn.execute(
            _FINISH_UNIT,
            {"r": run_id, "s": source, "k": unit_key, "st": status, "n": rows_written, "e": error},
        )


def finish_run(engine: Engine, run_id: int, status: str, message: str | None = None) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "update ops.backfill_runs set status = :st, finished_at = now(), message = :m "
                "where id = :r"
            ),
            {"r": run_id, "st": status, "m": message},
        )


def load_run(engine: Engine, run_id: int) -> LedgerRun | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "select id, args, status, started_at, finished_at, user_name, git_sha, "
                    "resumed_from, pid, host, message from ops.backfill_runs where id = :r"
                ),
                {"r": run_id},
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        units = [
            LedgerUnit(**dict(u))
            for u in conn.execute(
                text(
                    "select source, unit_key, game_date, status, rows_written, started_at, "
                    "finished_at, error, provider from ops.backfill_units where run_id = :r "
                    "order by game_date nulls last, started_at nulls last, source, unit_key"
                ),
                {"r": run_id},
            ).mappings()
        ]
    return LedgerRun(units=units, **dict(row))


def record_external_write(
    conn: Connection, source: str, unit_key: str, rows_written: int, args: dict[str, Any]
) -> int:
    """Record rows written outside a backfill (nba_elt.write_upsert) as a finished run.

    Runs on the writer's connection, so the ledger row commits with the data; the next
    `refresh` then sees `source` as changed. Returns the run id.
    """
    run_id = conn.execute(
        text(
            "insert into ops.backfill_runs (args, status, finished_at, user_name, git_sha, "
            "pid, host, message) values (cast(:args as jsonb), 'succeeded', now(), :u, :sha, "
            ":pid, :host, :m) returning id"
        ),
        {"m": f"{rows_written} row(s) written by write_upsert", **_run_row(args)},
    ).scalar_one()
    conn.execute(
        text(
            "insert into ops.backfill_units (run_id, source, unit_key, status, rows_written, "
            "started_at, finished_at) values (:r, :s, :k, 'succeeded', :n, now(), now())"
        ),
        {"r": run_id, "s": source, "k": unit_key, "n": rows_written},
    )
    return int(run_id)
