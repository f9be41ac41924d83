"""The task edge: logging, error -> exit code, the human summary and the --json line.

tasks.py stays thin: each task builds its options and hands one function to `run_task`.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from nba_elt.config import PROJECT_ROOT, scrub
from nba_elt.errors import EXIT_FAILED, NbaEltError

log = logging.getLogger(__name__)

COMPOSE_FILE = Path("docker") / "compose.yaml"
COMPOSE_SERVICE = "app"

# Human output goes to stderr so that stdout carries only what a machine reads (--json).
console = Console(stderr=True, highlight=False)


@dataclass
class TaskResult:
    """What a task function returns: an exit code, a sentence, and the JSON summary."""

    exit_code: int = 0
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)


class SecretFilter(logging.Filter):
    """Masks every configured secret (and any URL password) in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
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


def docker_command(task_name: str, options: dict[str, Any]) -> list[str]:
    """The `docker compose run` command that runs the same invoke task in the app service.

    `options` are the task's flags as Python names; False/None/empty values are left out,
    True becomes a bare flag, everything else `--flag value`.
    """
    argv = ["docker", "compose", "-f", str(COMPOSE_FILE), "run", "--rm", COMPOSE_SERVICE]
    argv.append(task_name)
    for name, value in options.items():
        if value is None or value is False or value == "":
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv


def _compose_v1_instead(argv: list[str]) -> list[str]:
    """`docker-compose` (Compose v1, what Debian 12 packages) when `docker compose` is absent."""
    import shutil

    if shutil.which("docker-compose") is None:
        return argv
    try:
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        plugin = None
    if plugin is not None and plugin.returncode == 0:
        return argv
    return ["docker-compose", *argv[2:]]


def run_in_docker(task_name: str, options: dict[str, Any]) -> int:
    argv = _compose_v1_instead(docker_command(task_name, options))
    console.print(f"[bold]docker:[/] {shlex.join(argv)}")
    try:
        return subprocess.run(argv, cwd=PROJECT_ROOT).returncode
    except FileNotFoundError:
        console.print("[red]error:[/] the docker command is not installed")
        return EXIT_FAILED


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value


def emit(task_name: str, result: TaskResult, as_json: bool) -> None:
    """Print the result; every configured secret is masked, whatever produced the text."""
    result.message = scrub(result.message)
    result.summary = _scrubbed(result.summary)
    if result.message:
        style = (
            "green" if result.exit_code == 0 else ("yellow" if result.exit_code == 75 else "red")
        )
        console.print(f"[{style}]{task_name}:[/] {result.message}")
    if as_json:
        payload = {"task": task_name, "exit_code": result.exit_code, **result.summary}
        sys.stdout.write(json.dumps(payload, default=str, sort_keys=False) + "\n")
        sys.stdout.flush()


def run_task(
    task_name: str,
    body: Callable[[], TaskResult],
    *,
    as_json: bool = False,
    docker: bool = False,
    options: dict[str, Any] | None = None,
) -> None:
    """Run one task body; print its summary; exit with its code (invoke.Exit)."""
    from invoke import Exit

    if docker:
        code = run_in_docker(task_name, {**(options or {}), "json": as_json})
        if code:
            raise Exit(code=code)
        return
    setup_logging()
    try:
        result = body()
    except NbaEltError as exc:
        result = TaskResult(
            exit_code=exc.exit_code,
            message=f"{type(exc).__name__}: {exc}",
            summary={"status": "error", "error_type": type(exc).__name__, "error": str(exc)},
        )
    except KeyboardInterrupt:
        result = TaskResult(exit_code=130, message="interrupted", summary={"status": "interrupted"})
    emit(task_name, result, as_json)
    if result.exit_code:
        raise Exit(code=result.exit_code)
