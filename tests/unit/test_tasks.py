"""tasks.py: every contract task is registered, documented, and takes --json and --docker."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

CONTRACT_TASKS = {
    "backfill", "refresh", "predict", "verify", "reboot-dashboard", "train", "gaps",
    "daily", "demo", "db.up", "db.down", "test", "model", "flags",
}  # fmt: skip


def _all_tasks():
    names = tasks.ns.task_names
    return {name: tasks.ns[name] for name in names}


def test_every_contract_task_is_registered():
    assert set(_all_tasks()) >= CONTRACT_TASKS


@pytest.mark.parametrize("name", sorted(CONTRACT_TASKS | {"db.status", "db.migrate"}))
def test_task_has_docstring_and_help_for_every_flag(name):
    task = tasks.ns[name]
    assert (task.__doc__ or "").strip(), f"{name} has no docstring"
    params = [p for p in inspect.signature(task.body).parameters if p != "c"]
    missing = [p for p in params if not task.help.get(p)]
    assert not missing, f"{name}: no help for {missing}"
    assert "json" in params and "docker" in params, f"{name} lacks --json/--docker"


def test_invoke_list_shows_the_tasks():
    out = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for name in CONTRACT_TASKS:
        assert name in out.stdout


def _names(task) -> dict[str, list[str]]:
    """Each flag's attribute name -> all its names (long and short), from invoke itself."""
    return {arg.attr_name or arg.name: list(arg.names) for arg in task.get_arguments()}


@pytest.mark.parametrize("name", sorted(tasks.ns.task_names))
def test_dash_h_is_help_and_short_flags_mean_one_thing_everywhere(name):
    from nba_elt.cli.invoke_task import SHORT_FLAGS

    names = _names(tasks.ns[name])
    shorts = {n: flag for flag, all_names in names.items() for n in all_names if len(n) == 1}
    assert "h" not in shorts, f"{name}: -h is --{shorts.get('h')}, not help"
    for letter, flag in shorts.items():
        assert SHORT_FLAGS.get(flag) == letter, f"{name}: -{letter} is --{flag}"
    for flag, letter in SHORT_FLAGS.items():
        if flag in names:
            assert letter in names[flag], f"{name}: --{flag} lacks -{letter}"


@pytest.mark.parametrize("name", ["backfill", "refresh", "daily", "reboot-dashboard"])
def test_invoke_task_dash_h_prints_the_help(name):
    done = subprocess.run(
        [sys.executable, "-m", "invoke", name, "-h"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: inv[oke] [--core-opts] {name}")
    assert "--json" in done.stdout


def test_docker_reruns_the_task_with_the_flags_of_its_signature(monkeypatch):
    """--docker: the flags come from the task's own signature, not from a second list."""
    from nba_elt.cli import docker_command

    seen = {}

    def fake_run_in_docker(task_name, options):
        seen["argv"] = docker_command(task_name, options)
        return 0

    monkeypatch.setattr("nba_elt.cli.run_in_docker", fake_run_in_docker)
    tasks.ns["backfill"].body(
        None, date="2018-01-01", sources="boxscores,pbp", dry_run=True, docker=True
    )
    assert seen["argv"][seen["argv"].index("app") + 1 :] == [
        "backfill", "--date", "2018-01-01", "--sources", "boxscores,pbp", "--dry-run",
    ]  # fmt: skip
    tasks.ns["reboot-dashboard"].body(None, mode="stop-task", timeout=30, json=True, docker=True)
    assert seen["argv"][seen["argv"].index("app") + 1 :] == [
        "reboot-dashboard", "--mode", "stop-task", "--timeout", "30", "--json",
    ]  # fmt: skip
    tasks.ns["test"].body(None, fast=True, docker=True)
    assert seen["argv"][seen["argv"].index("app") + 1 :] == ["test", "--fast"]


def test_bench_refuses_an_unknown_benchmark_before_running_anything():
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "bench", "--only", "upsert,nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown benchmark(s) nonsense" in done.stderr
    assert "==" not in done.stdout  # nothing ran


def test_bench_lists_one_script_per_benchmark():
    for name in tasks.BENCHMARKS:
        assert (ROOT / "benchmarks" / f"{name}.py").is_file()
