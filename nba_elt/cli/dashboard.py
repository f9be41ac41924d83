"""`invoke reboot-dashboard`: the restart's summary (and, dry run, the calls it would make)."""

from __future__ import annotations

from typing import Any

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_reboot


def reboot_task(**flags: Any) -> TaskResult:
    """`invoke reboot-dashboard`: restart the dashboard's ECS service."""
    import nba_elt

    result = nba_elt.reboot_dashboard(**flags)
    print_reboot(result)
    return TaskResult.of(result)
