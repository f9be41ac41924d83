"""The CLI layer: logging, rendering, error -> exit code, the human summary, the --json line.

The library (everything outside nba_elt/cli) returns plain results (nba_elt.results.Result
and its subclasses) and raises named errors; it never prints and never imports this
package or rich (tests/unit/test_layers.py). cli/commands.py holds the task functions,
which cli/tasks.py (the tasks of `nba-elt` and `invoke`) hands to `run_task`.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nba_elt.cli.docker import docker_command, run_in_docker  # noqa: F401  (tests, tasks)
from nba_elt.cli.output import logging_handler, make_console
from nba_elt.config import scrub
from nba_elt.errors import NbaEltError
from nba_elt.results import Result, status_of

log = logging.getLogger(__name__)

# Human output goes to stderr so that stdout carries only what a machine reads (--json).
# On a terminal: colours and fitted tables; otherwise plain, unwrapped lines (cli/output.py).
console = make_console()


@dataclass
class TaskResult(Result):
    """What a task function returns: an exit code, a sentence, and the JSON summary.

    `stdout`: a value for shell capture (`$(invoke db.up)` gives the URL), printed on stdout
    without --json; with --json stdout holds the JSON line alone.
    """

    stdout: str = ""

    @classmethod
    def of(cls, result: Result) -> TaskResult:
        return cls(result.exit_code, result.message, result.summary)


def task_flags(scope: dict[str, Any]) -> dict[str, Any]:
    """An invoke task's arguments (its `locals()` on entry) as `run_task` keywords.

    A flag not given (None) is left out, so that the public API's default applies. The
    flags go to the task function as keywords and, with --docker, onto the command line in
    the container.
    """
    flags = {name: value for name, value in scope.items() if name != "c" and value is not None}
    flags["as_json"] = flags.pop("json", False)
    flags["docker"] = flags.pop("docker", False)
    return flags


class SecretFilter(logging.Filter):
    """Masks every configured secret (and any URL password) in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging_handler(console)
    handler.addFilter(SecretFilter())
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[handler],
        force=True,
    )
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def json_line(task_name: str, result: Result) -> dict[str, Any]:
    """task, status, exit_code, message first, in every task; then the task's own keys."""
    head = {
        "task": task_name,
        "status": status_of(result.exit_code),
        "exit_code": result.exit_code,
        "message": result.message,
    }
    return head | {k: v for k, v in result.summary.items() if k not in head}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value


def emit(task_name: str, result: Result, as_json: bool) -> None:
    """Print the result; every configured secret is masked, whatever produced the text."""
    result.message = scrub(result.message)
    result.summary = _scrubbed(result.summary)
    if result.message:
        style = {0: "green", 75: "yellow"}.get(result.exit_code, "red")
        console.print(f"[{style}]{task_name}:[/] {result.message}")
    if as_json:
        sys.stdout.write(json.dumps(json_line(task_name, result), default=str) + "\n")
    elif getattr(result, "stdout", ""):
        sys.stdout.write(result.stdout + "\n")
    sys.stdout.flush()


class Terminated(KeyboardInterrupt):
    """SIGTERM (docker stop, ECS, a scheduler's timeout), handled as Ctrl-C is: the units in
    flight roll back and the ledgers record the run as interrupted."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated("SIGTERM")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM raises Terminated in the main thread (signals reach only that one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_task(
    task_name: str,
    body: Callable[..., Result],
    *,
    as_json: bool = False,
    docker: bool = False,
    **flags: Any,
) -> None:
    """Run `body(**flags)`; print its summary; exit with its code (invoke.Exit).

    With docker, run the same task with the same flags in the app service instead. dbt's
    own output is shown as progress (cli/output.py), or streamed with a `verbose` flag.
    """
    from invoke import Exit

    from nba_elt.cli.output import DbtLines
    from nba_elt.transform.build import dbt_output

    if docker:
        code = run_in_docker(task_name, {**flags, "json": as_json})
        if code:
            raise Exit(code=code)
        return
    setup_logging()
    dbt_lines = DbtLines(console, verbose=bool(flags.pop("verbose", False)))
    try:
        with sigterm_as_interrupt(), dbt_output(dbt_lines):
            result = body(**flags)
    except NbaEltError as exc:
        result = TaskResult(
            exit_code=exc.exit_code,
            message=f"{type(exc).__name__}: {exc}",
            summary={"error_type": type(exc).__name__, "error": str(exc)},
        )
    except KeyboardInterrupt as exc:
        term = isinstance(exc, Terminated)
        code = 143 if term else 130  # 128 + the signal's number (SIGTERM 15, SIGINT 2)
        message = "interrupted" + (" (SIGTERM)" if term else "")
        result = TaskResult(exit_code=code, message=message, summary={"interrupted": True})
    finally:
        dbt_lines.close()
    emit(task_name, result, as_json)
    if result.exit_code:
        raise Exit(code=result.exit_code)
