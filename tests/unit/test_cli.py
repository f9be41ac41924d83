"""The task edge: named errors become exit codes and a JSON line; --docker composes a command."""

from __future__ import annotations

import json

import pytest
from invoke import Exit

from nba_elt.cli import TaskResult, docker_command, run_task
from nba_elt.errors import BadInput, DataNotAvailable, SourceError


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (BadInput("--date must be a date"), 2, "bad_input"),
        (DataNotAvailable("not yet"), 75, "not_available"),
        (SourceError("x"), 1, "failed"),
    ],
)
def test_named_errors_become_exit_codes_and_json(capsys, error, code, status):
    def body():
        raise error

    with pytest.raises(Exit) as exit_info:
        run_task("demo", body, as_json=True)
    assert exit_info.value.code == code
    last = capsys.readouterr().out.strip().splitlines()[-1]
    payload = json.loads(last)
    assert list(payload)[:4] == ["task", "status", "exit_code", "message"]
    assert payload["status"] == status
    assert payload["exit_code"] == code
    assert payload["error_type"] == type(error).__name__
    assert payload["error"] == str(error)


def test_success_prints_summary_json_last(capsys):
    run_task("demo", lambda: TaskResult(message="ok", summary={"rows": 3}), as_json=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == {
        "task": "demo",
        "status": "succeeded",
        "exit_code": 0,
        "message": "ok",
        "rows": 3,
    }


def test_a_task_s_own_status_word_never_reaches_the_json_line(capsys):
    """verify said "passed", refresh "ok", db.up "running": one vocabulary now."""
    for word in ("passed", "ok", "running", "dry_run"):
        run_task("x", lambda w=word: TaskResult(0, "done", {"status": w}), as_json=True)
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "succeeded"
    with pytest.raises(Exit):
        run_task("x", lambda: TaskResult(1, "no", {"status": "passed"}), as_json=True)
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "failed"


def test_docker_command_repeats_the_task_inside_the_app_service():
    argv = docker_command(
        "backfill",
        {"date": "2025-03-16", "sources": "boxscores,pbp", "dry_run": True, "resume": None},
    )
    assert argv[:4] == ["docker", "compose", "-f", "docker/compose.yaml"]
    assert argv[argv.index("app") :] == [
        "app", "backfill", "--date", "2025-03-16", "--sources", "boxscores,pbp", "--dry-run",
    ]  # fmt: skip
