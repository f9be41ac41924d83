"""`invoke gaps`: the gaps table, and with --fix the backfill's progress and table."""

from __future__ import annotations

from typing import Any

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_gaps


def gaps_task(**flags: Any) -> TaskResult:
    """`invoke gaps`: final games missing box scores or pbp; with fix, backfill them."""
    import nba_elt
    from nba_elt.cli.backfill import RichProgress

    progress = RichProgress() if flags.get("fix") else None
    result = nba_elt.gaps(progress=progress, **flags)
    print_gaps(result)
    return TaskResult.of(result)
