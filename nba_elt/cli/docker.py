"""`invoke <task> --docker` and `invoke docker.up/down`: docker/compose.yaml, for this checkout.

- The Compose project is named after the checkout's path (`project_name`), so two clones on
  one host never share containers, volumes or the image tag.
- Compose v2 (`docker compose`) when the plugin answers, else v1 (`docker-compose`).
- Every setting config.py declares reaches the container when it is set here (`-e NAME`:
  compose reads the value from its own environment, so no value is on a command line),
  except those compose.yaml's app service sets for the container itself (paths, the
  database URL and its password file).
- The database password lives only in a file under `secrets_dir()`, a Docker secret.
- SIGTERM or Ctrl-C here stops the container within STOP_GRACE seconds and removes it:
  Compose v1 neither forwards signals to a `run` container nor removes it when killed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from invoke import Collection

from nba_elt import config
from nba_elt.cli.invoke_task import task
from nba_elt.config import PROJECT_ROOT

COMPOSE_FILE = Path("docker") / "compose.yaml"
COMPOSE_SERVICE = "app"
# seconds the task in the container gets to roll back after SIGTERM/SIGINT before it is killed
STOP_GRACE = 8


def setting_env_names() -> tuple[str, ...]:
    """Every variable a setting is read from: config.py's one list."""
    return config.env_names()


def project_name(root: Path = PROJECT_ROOT) -> str:
    """`nba-elt-<10 hex digits of the checkout's path>`: one Compose project per clone
    (COMPOSE_PROJECT_NAME, when set, wins, as it does for compose itself)."""
    if os.environ.get("COMPOSE_PROJECT_NAME") and root == PROJECT_ROOT:
        return os.environ["COMPOSE_PROJECT_NAME"]
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:10]
    return f"nba-elt-{digest}"


def secrets_dir(root: Path = PROJECT_ROOT) -> Path:
    """NBA_ELT_SECRETS_DIR (compose.yaml reads it too), else .nba_elt/docker-secrets."""
    return Path(os.environ.get("NBA_ELT_SECRETS_DIR") or root / ".nba_elt" / "docker-secrets")


def ensure_secrets(folder: Path | None = None) -> Path:
    """The database password as a file (made once, random), for compose's `secrets:`: the
    postgres container's POSTGRES_PASSWORD_FILE and the app's NBA_ELT_DATABASE_PASSWORD_FILE.

    The folder is private to this user; the file is readable so that the containers' own
    users (postgres, nba) can read their bind-mounted copies.
    """
    folder = folder or secrets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    password_file = folder / "postgres_password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(24) + "\n")
    password_file.chmod(0o644)
    return folder


def compose_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a compose command: the caller's, plus this checkout's secrets
    folder and image tag (compose.yaml reads both), unless the caller set them."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("NBA_ELT_SECRETS_DIR", str(secrets_dir()))
    env.setdefault("NBA_ELT_APP_IMAGE", f"nba-elt-app:{project_name()}")
    return env


def container_own_settings(compose_file: Path = PROJECT_ROOT / COMPOSE_FILE) -> set[str]:
    """The settings compose.yaml's app service sets itself (NAME or NAME_FILE)."""
    import yaml  # a dependency of dbt-core

    app = yaml.safe_load(compose_file.read_text())["services"][COMPOSE_SERVICE]
    return {name.removesuffix("_FILE") for name in app.get("environment", {})}


def passed_settings(environ: dict[str, str] | None = None) -> list[str]:
    """The names `--docker` passes on: every declared setting set here, but those the
    container sets for itself (NAME or NAME_FILE)."""
    environ = os.environ if environ is None else environ
    own = container_own_settings()
    return [
        name
        for name in setting_env_names()
        if name.removesuffix("_FILE") not in own and environ.get(name, "").strip()
    ]


def docker_command(
    task_name: str,
    options: dict[str, Any],
    *,
    container: str = "",
    environ: dict[str, str] | None = None,
) -> list[str]:
    """The `docker compose run` command that runs the same invoke task in the app service.

    `options` are the task's flags as Python names; False/None/empty values are left out,
    True becomes a bare flag, everything else `--flag value`.
    """
    argv = ["docker", "compose", "-f", str(COMPOSE_FILE), "-p", project_name()]
    argv += ["run", "--rm", "-T"]
    if container:
        argv += ["--name", container]
    for name in passed_settings(environ):
        argv += ["-e", name]
    argv += [COMPOSE_SERVICE, task_name]
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
    if shutil.which("docker-compose") is None:
        return argv
    try:
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        plugin = None
    if plugin is not None and plugin.returncode == 0:
        return argv
    return ["docker-compose", *argv[2:]]


def compose_command(*args: str) -> list[str]:
    """A compose command for this checkout's project, v2 or v1, whichever is installed."""
    base = ["docker", "compose", "-f", str(COMPOSE_FILE), "-p", project_name()]
    return _compose_v1_instead([*base, *args])


def _docker(*args: str) -> bool:
    try:
        done = subprocess.run(["docker", *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _say(text: str) -> None:
    """Human output goes to stderr: stdout carries only what a machine reads (--json)."""
    print(text, file=sys.stderr, flush=True)


def run_compose(argv: list[str]) -> int:
    """Run a compose command from the project root, printed first; 127 when not installed."""
    _say(f"docker: {shlex.join(argv)}")
    ensure_secrets()
    try:
        return subprocess.run(argv, cwd=PROJECT_ROOT, env=compose_env()).returncode
    except FileNotFoundError:
        _say(f"error: {argv[0]} is not installed (docs/docker.md)")
        return 127


def run_in_docker(task_name: str, options: dict[str, Any]) -> int:
    """Run the task in a new app container and wait for it; its exit code.

    Compose runs in a session of its own, so a terminal's Ctrl-C reaches only this process;
    a SIGINT or SIGTERM here goes to the container (tini passes it to invoke there), which
    gets STOP_GRACE seconds and is then removed by force. Exit 130 (Ctrl-C) / 143 (SIGTERM)
    when it was stopped, whatever compose itself returned.
    """
    container = f"{project_name()}-{task_name.replace('.', '-')}-{uuid.uuid4().hex[:8]}"
    config._load_dotenv()  # the settings of `.env` are passed on too
    env = compose_env()
    argv = _compose_v1_instead(docker_command(task_name, options, container=container, environ=env))
    _say(f"docker: {shlex.join(argv)}")
    ensure_secrets()
    try:
        proc = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
    except FileNotFoundError:
        _say(f"error: {argv[0]} is not installed (docs/docker.md)")
        return 127

    stopped: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        if not stopped:
            stopped.append(signum)
            if not _docker("kill", "--signal", signal.Signals(signum).name, container):
                _docker("rm", "--force", container)  # not started yet: nothing to roll back
                proc.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = None
    try:
        while proc.poll() is None:
            if stopped and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
            if deadline is not None and time.monotonic() > deadline:
                _docker("rm", "--force", container)
                proc.terminate()
                proc.wait(timeout=10)
                break
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopped or proc.returncode != 0:
            _docker("rm", "--force", container)  # compose v1 leaves one it was killed with
    if stopped:
        return 128 + stopped[0]
    return proc.returncode


# ------------------------------------------------------------------ invoke docker.up / down


def _compose_or_exit(*args: str) -> None:
    code = run_compose(compose_command(*args))
    if code:
        raise SystemExit(code)


@task(name="up")
def docker_up(c):
    """Build the app image and start this checkout's Postgres container (docs/docker.md)."""
    _compose_or_exit("build", "app")
    _compose_or_exit("up", "-d", "postgres")


@task(name="down", help={"volumes": "also delete this checkout's database and archive volumes"})
def docker_down(c, volumes=False):
    """Remove this checkout's containers and network (docker/compose.yaml's project)."""
    _compose_or_exit("down", "--remove-orphans", *(("--volumes",) if volumes else ()))


docker_tasks = Collection("docker", docker_up, docker_down)
