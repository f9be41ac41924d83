"""`invoke backfill`: the progress bar, the plan / run tables, the summary."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from nba_elt.cli import TaskResult, console
from nba_elt.cli.output import one_line
from nba_elt.cli.render import print_backfill
from nba_elt.ingest.runner import UnitOutcome


class RichProgress:
    """On a terminal, a live bar on stderr: the unit in flight and the outcomes so far.
    Without one, a line per finished unit."""

    def __init__(self) -> None:
        self.live = console.is_terminal
        self.total = 0
        self.counts = {"succeeded": 0, "failed": 0, "not_available": 0, "skipped": 0}
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task_id = self.bar.add_task("starting", total=0, counts=self._counts_text())

    def __enter__(self) -> RichProgress:
        if self.live:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.bar.stop()

    def _counts_text(self) -> str:
        c = self.counts
        return (
            f"[green]{c['succeeded']} ok[/] [red]{c['failed']} failed[/] "
            f"[yellow]{c['not_available']} n/a[/] [dim]{c['skipped']} skipped[/]"
        )

    def add_total(self, count: int) -> None:
        self.total += count
        self.bar.update(self.task_id, total=self.total)

    def unit_started(self, unit: Any) -> None:
        self.bar.update(self.task_id, description=escape(f"{unit.source} {unit.unit_key}"))

    def unit_finished(self, outcome: UnitOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.bar.update(self.task_id, advance=1, counts=self._counts_text())
        if not self.live:
            o = outcome
            why = o.error or o.reason or ""
            line = (
                f"unit {sum(self.counts.values())}/{self.total}: {o.source} {o.unit_key} "
                f"{o.status}, {o.rows_written} rows, {o.seconds:.1f} s"
                + (f": {why}" if why else "")
            )
            console.print(escape(one_line(line)))


def backfill_task(**flags: Any) -> TaskResult:
    """`invoke backfill`: plan and run (or, with dry_run, print the plan)."""
    import nba_elt

    result = nba_elt.backfill(progress=RichProgress(), **flags)
    print_backfill(result)
    return TaskResult.of(result)
