"""`invoke daily`: a rule per step, each step's tables and result line, the summary."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from nba_elt.cli import TaskResult, console
from nba_elt.cli.render import render
from nba_elt.errors import EXIT_OK
from nba_elt.results import Result


class RichObserver:
    """Prints a pipeline's steps as they run (nba_elt.pipelines.daily.StepObserver)."""

    def note(self, text: str) -> None:
        console.print(escape(text))

    def step_started(self, label: str, name: str) -> None:
        console.rule(f"[bold]{escape(label)}: {escape(name)}")

    def step_finished(self, outcome: Any, result: Result) -> None:
        render(result)
        style = "green" if result.exit_code == EXIT_OK else "red"
        console.print(f"[{style}]{escape(outcome.name)}:[/] {escape(result.message)}")

    def backfill_progress(self) -> Any:
        from nba_elt.cli.backfill import RichProgress

        return RichProgress()


def daily_task(**flags: Any) -> TaskResult:
    """`invoke daily`: backfill D, refresh, predict D + 1, verify D, reboot; one alert."""
    import nba_elt

    return TaskResult.of(nba_elt.daily(observer=RichObserver(), **flags))
