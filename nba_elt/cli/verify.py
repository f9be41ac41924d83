"""`invoke verify`: the checks' table and summary."""

from __future__ import annotations

from typing import Any

from nba_elt.cli import TaskResult, console
from nba_elt.cli.render import print_checks


def verify_task(**flags: Any) -> TaskResult:
    """`invoke verify`: every check for the date(s) and the predictions of the run date;
    with cross_provider, basketball-reference vs the NBA for --date's games."""
    import nba_elt

    report = nba_elt.verify(**flags)
    if flags.get("cross_provider"):
        _print_cross_provider(report)
    else:
        print_checks(report)
    return TaskResult.of(report)


def _print_cross_provider(report: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"verify --cross-provider {report.date}")
    for column in ("game", "final (bbref)", "final (NBA)", "players (bbref)", "players (NBA)"):
        table.add_column(column)
    for row in report.games:
        table.add_row(*(str(row[k] or "-") for k in row))
    console.print(table)
    for line in report.disagreements:
        console.print(f"[red]disagreement[/] {escape(line)}")
