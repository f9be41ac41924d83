"""`invoke gaps`: the gaps table, and with --fix the backfill's progress and table."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_gaps


def gaps_task(
    season: str | int | None = None,
    start: str | None = None,
    end: str | None = None,
    fix: bool = False,
    offline: bool = False,
    provider: str | None = None,
) -> TaskResult:
    """`invoke gaps`: final games missing box scores or pbp; with fix, backfill them."""
    from nba_elt.checks.gaps import gaps
    from nba_elt.cli.backfill import RichProgress

    result = gaps(
        season=season, start=start, end=end, fix=fix, offline=offline, provider=provider,
        progress=RichProgress() if fix else None,
    )  # fmt: skip
    print_gaps(result)
    return TaskResult.of(result)
