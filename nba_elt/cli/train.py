"""`invoke train`: the evaluation tables and summary."""

from __future__ import annotations

from typing import Any

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_train


def train_task(**flags: Any) -> TaskResult:
    """`invoke train`: fit, evaluate, compare with the active model, write a candidate."""
    import nba_elt

    result = nba_elt.train(**flags)
    print_train(result)
    return TaskResult.of(result)
