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
from nba_elt.cli.render import print_backfill
from nba_elt.ingest.runner import UnitOutcome


class RichProgress:
    """A live bar on stderr: the unit in flight and the outcomes so far."""

    def __init__(self) -> None:
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
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def _counts_text(self) -> str:
        c = self.counts
        return (
            f"[green]{c['succeeded']} ok[/] [red]{c['failed']} failed[/] "
            f"[yellow]{c['not_available']} n/a[/] [dim]{c['skipped']} skipped[/]"
        )

    def add_total(self, count: int) -> None:
        total = (self.bar.tasks[0].total or 0) + count
        self.bar.update(self.task_id, total=total)

    def unit_started(self, unit: Any) -> None:
        self.bar.update(self.task_id, description=escape(f"{unit.source} {unit.unit_key}"))

    def unit_finished(self, outcome: UnitOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.bar.update(self.task_id, advance=1, counts=self._counts_text())


def backfill_task(
    date: str | None = None,
    start: str | None = None,
    end: str | None = None,
    games: str | None = None,
    sources: str | None = None,
    dry_run: bool = False,
    resume: str | int | None = None,
    offline: bool = False,
    force: bool = False,
    refresh: bool = False,
    predict: bool = False,
    yes: bool = False,
    provider: str | None = None,
) -> TaskResult:
    """`invoke backfill`: plan and run (or, with dry_run, print the plan)."""
    from nba_elt.pipelines.steps import backfill

    result = backfill(
        date=date, start=start, end=end, games=games, sources=sources, dry_run=dry_run,
        resume=resume, offline=offline, force=force, refresh=refresh, predict=predict, yes=yes,
        provider=provider, progress=RichProgress(),
    )  # fmt: skip
    print_backfill(result)
    return TaskResult.of(result)
