"""`invoke verify`: the checks' table and summary."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_checks


def verify_task(
    date: str | None = None,
    start: str | None = None,
    end: str | None = None,
    run_date: str | None = None,
) -> TaskResult:
    """`invoke verify`: every check for the date(s) and the predictions of the run date."""
    from nba_elt.checks.verify import verify

    report = verify(date=date, start=start, end=end, run_date=run_date)
    print_checks(report)
    return TaskResult.of(report)
