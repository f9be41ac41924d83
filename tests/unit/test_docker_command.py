"""`invoke <task> --docker` composes a `run` of the same task in the app service, under this
checkout's own Compose project, with every setting of config.py that is set here."""

from __future__ import annotations

from pathlib import Path

from nba_elt.cli.docker import (
    container_own_settings,
    docker_command,
    passed_settings,
    project_name,
    setting_env_names,
)
from nba_elt.config import PROJECT_ROOT

PREFIX = ["docker", "compose", "-f", "docker/compose.yaml", "-p", project_name()]
RUN = ["run", "--rm", "-T"]


def _task_part(argv: list[str]) -> list[str]:
    return argv[argv.index("app") + 1 :]


def test_backfill_flags_become_the_same_invoke_flags():
    argv = docker_command(
        "backfill",
        dict(
            date="2018-01-01", start=None, end=None, games=None, sources="schedule,boxscores",
            dry_run=False, resume=None, offline=True, force=False, json=True,
        ),
        environ={},
    )  # fmt: skip
    assert argv == PREFIX + RUN + [
        "app",
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
        environ={},
    )
    assert _task_part(argv) == [
        "reboot-dashboard",
        "--mode",
        "stop-task",
        "--service",
        "svc",
        "--dry-run",
        "--timeout",
        "600",
    ]


def test_task_without_options_and_a_named_container():
    argv = docker_command("verify", {}, container="c1", environ={})
    assert argv == PREFIX + RUN + ["--name", "c1", "app", "verify"]


def test_every_declared_setting_that_is_set_is_passed_by_name_only():
    """One source of truth: config.py's names; compose.yaml sets only the container's own."""
    declared = set(setting_env_names())
    own = container_own_settings()
    assert own <= declared  # compose sets nothing config.py does not read
    environ = {name: "x" for name in declared} | {"NBA_ELT_NOT_A_SETTING": "y", "HOME": "/root"}
    passed = set(passed_settings(environ))
    assert passed >= {n for n in declared if n.removesuffix("_FILE") not in own}
    assert not passed & own
    assert "NBA_ELT_NOT_A_SETTING" not in passed and "HOME" not in passed
    for name in ("NBA_ELT_NBA_STATS_URL", "NBA_ELT_USER_AGENT", "NBA_ELT_DB_STATEMENT_TIMEOUT"):
        assert name in passed, name
    argv = docker_command("refresh", {}, environ=environ)
    assert all(f"{name}=" not in " ".join(argv) for name in passed)  # names, never values
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-e"] == list(passed_settings(environ))


def test_unset_or_empty_settings_are_not_passed():
    assert passed_settings({"NBA_ELT_TARGET": "", "NBA_ELT_BBREF_URL": "http://x"}) == [
        "NBA_ELT_BBREF_URL"
    ]


def test_the_project_name_is_the_checkout_s_own():
    assert project_name() == project_name(PROJECT_ROOT)
    assert project_name(Path("/srv/clone-a")) != project_name(Path("/srv/clone-b"))
    assert project_name().startswith("nba-elt-")
