"""`invoke <task> --docker` composes a `docker compose run` of the same task in the app service."""

from __future__ import annotations

from nba_elt.cli import docker_command

PREFIX = ["docker", "compose", "-f", "docker/compose.yaml", "run", "--rm", "app"]


def test_backfill_flags_become_the_same_invoke_flags():
    argv = docker_command(
        "backfill",
        dict(
            date="2018-01-01", start=None, end=None, games=None, sources="schedule,boxscores",
            dry_run=False, resume=None, offline=True, force=False, json=True,
        ),
    )  # fmt: skip
    assert argv == PREFIX + [
        "backfill",
        "--date",
        "2018-01-01",
        "--sources",
        "schedule,boxscores",
        "--offline",
        "--json",
    ]


def test_reboot_dashboard_keeps_the_dashed_task_name_and_numbers():
    argv = docker_command(
        "reboot-dashboard",
        dict(mode="stop-task", cluster=None, service="svc", region="", dry_run=True, timeout=600),
    )
    assert argv == PREFIX + [
        "reboot-dashboard",
        "--mode",
        "stop-task",
        "--service",
        "svc",
        "--dry-run",
        "--timeout",
        "600",
    ]


def test_task_without_options():
    assert docker_command("verify", {}) == PREFIX + ["verify"]
