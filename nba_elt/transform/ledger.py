"""ops.refresh_runs: when each `invoke refresh` ran, what it built, how it ended.

A plain `invoke refresh` builds the sources that the backfill ledger (ops.backfill_units)
shows written since the start of the last successful refresh that covered them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.config import current_user
from nba_elt.transform.selection import SOURCE_SELECTORS

if TYPE_CHECKING:
    from nba_elt.transform.summary import DbtSummary

log = logging.getLogger(__name__)

# The start of the last successful refresh that covered a source (all of them, or by name).
_LAST_COVERED = """
    select max(started_at) from ops.refresh_runs
    where status = 'succeeded' and (selection is null or :source = any(sources))
"""
_LAST_COVERED_SQL = text(_LAST_COVERED)
_CHANGED_SQL = text(
    f"""
    select exists (
        select 1 from ops.backfill_units
        where source = :source and status = 'succeeded' and rows_written > 0
          and finished_at > coalesce(({_LAST_COVERED}), '-infinity'::timestamptz)
    )
    """
)


def any_succeeded(engine: Engine) -> bool:
    """True once a refresh has succeeded here (so staging views and seeds exist)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("select exists (select 1 from ops.refresh_runs where status = 'succeeded')")
            ).scalar()
        )


def changed_sources(engine: Engine) -> list[str] | None:
    """Sources written since the last successful refresh that covered them.

    None when no refresh ever succeeded on this warehouse (then build everything).
    """
    if not any_succeeded(engine):
        return None
    with engine.connect() as conn:
        return [
            source
            for source in SOURCE_SELECTORS
            if conn.execute(_CHANGED_SQL, {"source": source}).scalar()
        ]


def tested_since(engine: Engine) -> dt.datetime | None:
    """When the facts' rows were last all tested: the start of the last successful refresh
    that covered every source (the earliest of the three), or None when one never was.

    A refresh by source tests only the games loaded since then (dbt/macros/tested_rows.sql);
    a failed refresh does not count, so the next one tests its games again.
    """
    with engine.connect() as conn:
        starts = [
            conn.execute(_LAST_COVERED_SQL, {"source": source}).scalar()
            for source in SOURCE_SELECTORS
        ]
    return None if any(s is None for s in starts) else min(starts)


def start(
    engine: Engine,
    sources: list[str],
    selection: str | None,
    full_refresh: bool,
    run_date: dt.date,
    target: str,
) -> int:
    """Record a refresh as running; its id."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                """
                insert into ops.refresh_runs
                    (sources, selection, full_refresh, run_date, target, user_name)
                values (:sources, :selection, :full, :run_date, :target, :user)
                returning id
                """
            ),
            {
                "sources": sources or None,
                "selection": selection,
                "full": full_refresh,
                "run_date": run_date,
                "target": target,
                "user": current_user(),
            },
        ).scalar_one()


def finish(engine: Engine, run_id: int, summary: DbtSummary | None) -> None:
    """Record how a refresh ended (failed when there is no summary: dbt did not run;
    interrupted when called from a `finally:` that a Ctrl-C or SIGTERM is passing through)."""
    status = "succeeded" if summary is not None and summary.ok else "failed"
    if isinstance(sys.exc_info()[1], KeyboardInterrupt):
        status = "interrupted"
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                update ops.refresh_runs
                set status = :status, finished_at = now(), models = :models, tests = :tests,
                    failures = :failures, summary = cast(:summary as jsonb)
                where id = :id
                """
            ),
            {
                "id": run_id,
                "status": status,
                "models": summary.models if summary else None,
                "tests": summary.tests if summary else None,
                "failures": len(summary.failed) if summary else None,
                "summary": json.dumps(summary.to_dict()) if summary else None,
            },
        )
    log.info("refresh run %s %s", run_id, status)
