"""`nba-elt predict`: the predictions' table and summary."""

from __future__ import annotations

from pathlib import Path

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_predictions


def predict_task(date: str | None = None, model_path: str | Path | None = None) -> TaskResult:
    """`invoke predict`: predict the date's games (default today, US Eastern)."""
    import nba_elt

    result = nba_elt.predict(date, model_path=model_path, as_result=True)
    print_predictions(result)
    return TaskResult.of(result)
