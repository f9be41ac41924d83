"""`invoke train`: the evaluation tables and summary."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_train


def train_task(
    train_seasons: str | None = None,
    test_season: str | int | None = None,
    activate: bool = False,
    min_games: str | int | None = None,
    output: str | None = None,
) -> TaskResult:
    """`invoke train`: fit, evaluate, compare with the active model, write a candidate."""
    from ml.train import train

    result = train(
        train_seasons=train_seasons,
        test_season=test_season,
        output=output,
        activate=activate,
        min_games=min_games,
    )
    print_train(result)
    return TaskResult.of(result)
