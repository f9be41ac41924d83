"""`invoke refresh`: the dbt build's table and summary."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import render


def refresh_task(
    sources: str | None = None,
    select: str | None = None,
    full: bool = False,
    run_date: str | None = None,
) -> TaskResult:
    """`invoke refresh`: dbt build of what changed (or of --sources / --select / --full)."""
    from nba_elt.transform.dbt import refresh

    result = refresh(sources=sources, select=select, full=full, run_date=run_date)
    render(result)
    return TaskResult.of(result)
