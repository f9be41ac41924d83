"""`invoke refresh`: the dbt build's table and summary."""

from __future__ import annotations

from typing import Any

from nba_elt.cli import TaskResult
from nba_elt.cli.render import render


def refresh_task(**flags: Any) -> TaskResult:
    """`invoke refresh`: dbt build of what changed (or of --sources / --select / --full)."""
    import nba_elt

    result = nba_elt.refresh(**flags)
    render(result)
    return TaskResult.of(result)
