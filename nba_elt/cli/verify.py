"""`invoke verify`: the checks' table and summary."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_checks


def verify_task(
    date: str | None = None,
    start: str | None = None,
    end: str | None = None,
    run_date: str | None = None,
    cross_provider: bool = False,
) -> TaskResult:
    """`invoke verify`: every check for the date(s) and the predictions of the run date.

    cross_provider: instead, basketball-reference vs the NBA for --date's games.
    """
    from nba_elt.checks.verify import verify

    if cross_provider:
        return _cross_provider(date, start, end)

    report = verify(date=date, start=start, end=end, run_date=run_date)
    print_checks(report)
    return TaskResult.of(report)


def _cross_provider(date: str | None, start: str | None, end: str | None) -> TaskResult:
    from rich.markup import escape
    from rich.table import Table

    from nba_elt.checks.cross_provider import verify_cross_provider
    from nba_elt.cli import console
    from nba_elt.errors import BadInput

    if start or end:
        raise BadInput("--cross-provider checks one date: give --date YYYY-MM-DD")
    report = verify_cross_provider(date)
    table = Table(title=f"verify --cross-provider {report.date}")
    for column in ("game", "final (bbref)", "final (NBA)", "players (bbref)", "players (NBA)"):
        table.add_column(column)
    for row in report.games:
        table.add_row(*(str(row[k] or "-") for k in row))
    console.print(table)
    for line in report.disagreements:
        console.print(f"[red]disagreement[/] {escape(line)}")
    return TaskResult.of(report)
