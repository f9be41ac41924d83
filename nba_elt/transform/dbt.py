"""`invoke refresh`: a dbt build of what changed since the last refresh, recorded in
ops.refresh_runs (nba_elt.transform.ledger).

    RefreshRequest.from_flags()  the flags of `invoke refresh`, validated once
    refresh(request)             nba_elt.refresh / `invoke refresh` -> RefreshResult
    build.run_build()            one `dbt build` (a new process, or in_process=True)
    selection.SOURCE_SELECTORS   source -> dbt selection (backfill --refresh uses it too)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from nba_elt.config import Settings, get_settings
from nba_elt.errors import EXIT_FAILED, EXIT_OK
from nba_elt.results import Result
from nba_elt.transform import ledger as refresh_ledger
from nba_elt.transform.build import check_selection, run_build
from nba_elt.transform.selection import TONIGHT_SELECTOR, selection_for_sources
from nba_elt.transform.summary import DbtSummary

log = logging.getLogger(__name__)


@dataclass
class RefreshResult(Result):
    """What `refresh` built: the dbt summary (None if dbt never ran), the run date, the selection."""

    dbt: DbtSummary | None = None
    run_date: dt.date | None = None
    selection: str | None = None
    refresh_run_id: int | None = None


@dataclass(frozen=True)
class RefreshRequest:
    """A validated refresh: the sources (or dbt selection) to build, `full`, the run date
    (None: today, US Eastern). No sources and no selection: what changed since the last one."""

    sources: tuple[str, ...] = ()
    select: str | None = None
    full: bool = False
    run_date: dt.date | None = None

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, sources: str | Iterable[str] | None = None,
        select: str | None = None, full: bool = False, run_date: str | dt.date | None = None,
    ) -> RefreshRequest:  # fmt: skip
        """`invoke refresh`'s flags; BadInput (exit 2) before anything is written."""
        from nba_elt.dates import parse_date

        day = parse_date(str(run_date), flag="--run-date", allow_future=True) if run_date else None
        names: tuple[str, ...] = ()
        if sources:
            parts = sources.split(",") if isinstance(sources, str) else sources
            names = tuple(s.strip() for s in parts if s.strip())
            selection_for_sources(names)  # BadInput for an unknown source
        select = select.strip() if select and select.strip() else None
        if select:
            check_selection(select, settings or get_settings())
        return cls(names, select, bool(full), day)


def refresh(
    request: RefreshRequest, *, in_process: bool = False, settings: Settings | None = None
) -> RefreshResult:
    """`invoke refresh`: dbt build of what changed (or of --sources / --select / --full).

    dbt runs in a new process; ``in_process=True`` runs it in this one with dbt's own
    runner, one build at a time (a notebook or an orchestrator that refreshes often).
    """
    from nba_elt.dates import today_eastern
    from nba_elt.warehouse.db import get_engine

    day = request.run_date or today_eastern()
    full = request.full
    source_list = list(request.sources)
    selections = [selection_for_sources(source_list)] if source_list else []
    settings = settings or get_settings()
    if request.select:
        selections.append(request.select)
    engine = get_engine(settings)
    explicit_select = bool(selections) and not source_list
    tests_since: dt.datetime | None = None
    if not full and (source_list or not selections) and not refresh_ledger.any_succeeded(engine):
        # `fact_x+` needs the staging views and seeds of an earlier build
        log.info("no successful refresh on record: building everything once")
        selections = []
    elif not full and not explicit_select:
        if not selections:
            changed = refresh_ledger.changed_sources(engine) or []
            if changed:
                source_list = changed
                selections.append(selection_for_sources(changed))
                log.info("changed since the last refresh: %s", ", ".join(changed))
            else:
                log.info("nothing changed in nba_source since the last refresh")
        # Tonight's features depend on the run date as well as on the data: a build chosen
        # by source always rebuilds them, so that `invoke predict` finds them for that date.
        # An explicit --select (or --full) is built exactly as given.
        selections.append(TONIGHT_SELECTOR)
        # The facts' tests look at the games loaded since their rows were last all tested;
        # --full and an explicit --select test every row.
        tests_since = refresh_ledger.tested_since(engine)
    selection = " ".join(selections) or None
    run_id = refresh_ledger.start(engine, source_list, selection, full, day, settings.target)
    summary: DbtSummary | None = None
    try:
        summary = run_build(
            selection, full_refresh=full, run_date=day, tests_since=tests_since,
            in_process=in_process, settings=settings,
        )  # fmt: skip
    finally:
        refresh_ledger.finish(engine, run_id, summary)
    payload = {"status": "succeeded" if summary.ok else "failed", "run_date": day.isoformat(),
               "refresh_run_id": run_id, **summary.to_dict(),
               "tests_since": tests_since.isoformat() if tests_since else None}  # fmt: skip
    what = selection or "everything"
    built = {"dbt": summary, "run_date": day, "selection": selection, "refresh_run_id": run_id}
    if summary.ok:
        warn = f", {len(summary.warned)} warning(s)" if summary.warned else ""
        message = (
            f"dbt build of {what}{' (full refresh)' if full else ''}: {summary.models} models, "
            f"{summary.tests_passed} of {summary.tests} tests passed{warn} "
            f"in {summary.elapsed_seconds:.1f} s"
        )
        return RefreshResult(EXIT_OK, message, payload, **built)
    names = ", ".join(n.name for n in summary.failed) or f"dbt exit code {summary.return_code}"
    message = (
        f"dbt build of {what} failed: {names}. Fix the data (e.g. `invoke backfill --force` the "
        "dates involved) or the model, then `invoke refresh` again"
    )
    return RefreshResult(EXIT_FAILED, message, payload, **built)
