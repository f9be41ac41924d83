"""`invoke reboot-dashboard`: the restart's summary (and, dry run, the calls it would make)."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_reboot


def reboot_task(
    mode: str = "force-deployment",
    cluster: str | None = None,
    service: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    timeout: float | int | str = 600,
) -> TaskResult:
    """`invoke reboot-dashboard`: restart the dashboard's ECS service."""
    from nba_elt.ops.dashboard import reboot_dashboard

    result = reboot_dashboard(
        mode=mode, cluster=cluster, service=service, region=region, dry_run=dry_run,
        timeout=timeout,
    )  # fmt: skip
    print_reboot(result)
    return TaskResult.of(result)
