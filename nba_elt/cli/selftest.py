"""`invoke test`: the README's test command (ruff check, ruff format --check, pytest).

The tests not marked `slow` (real dbt builds, long end-to-end runs) or `docker` (a Docker
engine) run in two worker processes; `--fast` stops there, the full suite then runs the slow
and docker tests in one process. Every command runs, so that a failure in one hides nothing
of the others. The commands' own output goes to stderr, so that with --json stdout holds only
the summary line.
"""

from __future__ import annotations

import subprocess
import sys
import time

from nba_elt.cli import TaskResult
from nba_elt.config import PROJECT_ROOT
from nba_elt.errors import EXIT_FAILED, EXIT_OK

FAST_MARKERS = "not slow and not docker"
# The fast tests mostly wait (invoke subprocesses, local servers, Postgres): two pytest-xdist
# workers, each with its own Postgres cluster, take ~30 % less wall time on 2 cores. The
# slow and docker tests stay in one process: the dbt builds share dbt/target, the docker
# tests the checkout's Compose project.
FAST_WORKERS = "2"
SLOW_MARKERS = "slow or docker"
# a deadline for each command: the full suite takes minutes, never an hour
COMMAND_TIMEOUT_SECONDS = 3600


def test_commands(fast: bool = False) -> list[list[str]]:
    pytest = [sys.executable, "-m", "pytest", "-q"]
    commands = [
        [sys.executable, "-m", "ruff", "check", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        [*pytest, "-m", FAST_MARKERS, "-n", FAST_WORKERS],
    ]
    if not fast:
        commands.append([*pytest, "-m", SLOW_MARKERS])
    return commands


def _shown(argv: list[str]) -> str:
    return " ".join(["python" if a == sys.executable else a for a in argv])


def test_task(fast: bool = False) -> TaskResult:
    """Run each command in turn; failed when any failed."""
    steps = []
    started = time.monotonic()
    for argv in test_commands(fast):
        began = time.monotonic()
        try:
            code = subprocess.run(
                argv, cwd=PROJECT_ROOT, stdout=sys.stderr, timeout=COMMAND_TIMEOUT_SECONDS
            ).returncode
        except subprocess.TimeoutExpired:
            code = EXIT_FAILED
        steps.append(
            {
                "command": _shown(argv),
                "exit_code": code,
                "seconds": round(time.monotonic() - began, 1),
            }
        )
    failed = [s for s in steps if s["exit_code"] != 0]
    kind = "fast tests" if fast else "tests"
    elapsed = time.monotonic() - started
    summary = {"fast": fast, "seconds": round(elapsed, 1), "steps": steps}
    if failed:
        return TaskResult(
            EXIT_FAILED,
            "; ".join(f"{kind} failed at `{f['command']}` (exit {f['exit_code']})" for f in failed),
            summary | {"status": "failed"},
        )
    return TaskResult(EXIT_OK, f"{kind} passed in {elapsed:.0f} s", summary | {"status": "passed"})
