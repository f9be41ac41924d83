"""The app image and docker/compose.yaml, for real, through the documented commands:
`invoke docker.up`, `invoke <task> --docker`, `invoke docker.down` (docs/docker.md).

Skipped when no Docker engine answers. Where no registry can be reached, the stand-in base
images of docker/local-images/build.sh are used when they exist; otherwise skipped, saying so.
The run has its own Compose project, secrets folder and image tag, so it never touches the
checkout's own containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from nba_elt.cli.docker import COMPOSE_FILE, project_name
from nba_elt.config import PROJECT_ROOT

pytestmark = pytest.mark.docker

STAND_INS = {
    "NBA_ELT_PYTHON_IMAGE": "nba-elt-local/python:3.11",
    "NBA_ELT_POSTGRES_IMAGE": "nba-elt-local/postgres:15",
}
PROJECT = f"nbaelt-test-{uuid.uuid4().hex[:8]}"


def _answers(argv: list[str], timeout: float = 20) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _default_images() -> dict[str, str]:
    """compose.yaml's defaults, e.g. ${NBA_ELT_POSTGRES_IMAGE:-postgres:15.15-bookworm}."""
    services = yaml.safe_load((PROJECT_ROOT / COMPOSE_FILE).read_text())["services"]
    found = {}
    for value in (services["postgres"]["image"], services["app"]["build"]["args"]["PYTHON_IMAGE"]):
        name, default = re.fullmatch(r"\$\{(\w+):-(.+)\}", value).groups()
        found[name] = default
    return found


def _base_images() -> dict[str, str]:
    """The images asked for (or compose.yaml's), present or pulled; else the stand-ins."""
    chosen = {name: os.environ.get(name, image) for name, image in _default_images().items()}
    missing = [
        image for image in chosen.values() if not _answers(["docker", "image", "inspect", image])
    ]
    if all(_answers(["docker", "pull", "-q", image], timeout=180) for image in missing):
        return chosen
    if all(_answers(["docker", "image", "inspect", image]) for image in STAND_INS.values()):
        return STAND_INS
    pytest.skip(
        f"no registry answers (docker pull {' '.join(missing)} failed) and no stand-in images: "
        "run docker/local-images/build.sh (docs/docker.md)"
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not _answers(["docker", "info"]):
        pytest.skip("no Docker engine answers (see docs/docker.md)")
    if not (_answers(["docker", "compose", "version"]) or _answers(["docker-compose", "version"])):
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBA_ELT_", "COMPOSE_"))}
    env |= _base_images()
    env |= {
        "COMPOSE_PROJECT_NAME": PROJECT,
        "NBA_ELT_SECRETS_DIR": str(tmp_path_factory.mktemp("secrets")),
        "NBA_ELT_APP_IMAGE": "nba-elt-app:test",
    }
    up = invoke(env, "docker.up", timeout=1800)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield env
    finally:
        invoke(env, "docker.down", "--volumes", timeout=180)


def invoke(env: dict, *args: str, timeout: float = 900, cwd: Path = PROJECT_ROOT):
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


def compose(env: dict, *args: str) -> subprocess.CompletedProcess:
    base = (
        ["docker", "compose"] if _answers(["docker", "compose", "version"]) else ["docker-compose"]
    )
    argv = [*base, "-f", str(COMPOSE_FILE), "-p", PROJECT, *args]
    return subprocess.run(
        argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def psql(env: dict, sql: str) -> str:
    done = _ok(
        compose(
            env, "exec", "-T", "postgres", "psql", "-U", "nba_elt", "-d", "nba_elt", "-tAc", sql
        )
    )
    return done.stdout.strip()


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _last_json(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_containers(env: dict) -> list[str]:
    """This project's `run` containers, running or not."""
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}",
         "--filter", "label=com.docker.compose.oneoff=True"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()


def test_offline_backfill_refresh_predict_verify_inside_compose(env):
    seeded = _ok(
        compose(
            env, "run", "--rm", "-T", "--entrypoint", "python", "app", "-c",
            "from nba_elt.pipelines.demo import seed_archive; print(seed_archive('/data/archive'))",
        )
    )  # fmt: skip
    assert seeded.stdout.strip().splitlines()[-1] == "7"

    backfill = _ok(
        invoke(
            env, "backfill", "--date", "2018-01-01", "--sources", "schedule,boxscores",
            "--offline", "--json", "--docker",
        )
    )  # fmt: skip
    assert _last_json(backfill)["rows_written"] == 86  # 4 games + 82 player lines
    _ok(invoke(env, "refresh", "--run-date", "2018-01-01", "--docker"))
    _ok(invoke(env, "predict", "--date", "2018-01-01", "--docker"))
    psql(env, "update nba_source.feature_flags set is_enabled = false where flag = 'pbp'")
    verify = _ok(
        invoke(
            env, "verify", "--date", "2018-01-01", "--run-date", "2018-01-01", "--json", "--docker"
        )
    )
    assert _last_json(verify)["failed"] == []
    assert _run_containers(env) == []  # every `run` container removed


def test_a_setting_set_here_reaches_the_container(env):
    done = invoke(env | {"NBA_ELT_NBA_STATS_URL": "ftp://stats.invalid"}, "db.status", "--docker")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "NBA_ELT_NBA_STATS_URL must start with http" in done.stderr


def test_sigterm_stops_the_container_and_records_the_refresh_interrupted(env):
    password = (Path(env["NBA_ELT_SECRETS_DIR"]) / "postgres_password").read_text().strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "refresh", "--full", "--docker"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "running" not in psql(
            env, "select status from ops.refresh_runs order by id desc limit 1"
        ):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the refresh never started"
            time.sleep(0.5)
        # while it runs: no secret in what `docker inspect` shows, of either container
        containers = _run_containers(env) + compose(env, "ps", "-q", "postgres").stdout.split()
        inspected = _ok(
            subprocess.run(["docker", "inspect", *containers], capture_output=True, text=True)
        )
        assert len(json.loads(inspected.stdout)) == 2
        assert password not in inspected.stdout

        time.sleep(2)  # dbt is building
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err[-3000:]
    assert took < 10, f"stopped after {took:.1f} s"
    assert _run_containers(env) == []
    status = psql(env, "select status from ops.refresh_runs order by id desc limit 1")
    assert status == "interrupted", err[-3000:]


def test_a_second_clone_has_its_own_project_and_leaves_this_one_alone(env, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(
        PROJECT_ROOT, clone, ignore=shutil.ignore_patterns(".git", ".venv", ".nba_elt", "*.pyc")
    )
    its_env = {
        k: v
        for k, v in env.items()
        if k not in ("COMPOSE_PROJECT_NAME", "NBA_ELT_SECRETS_DIR", "NBA_ELT_APP_IMAGE")
    }
    its_env["PYTHONPATH"] = str(clone)
    name = subprocess.run(
        [sys.executable, "-c", "from nba_elt.cli.docker import project_name; print(project_name())"],
        cwd=clone, env=its_env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert name == project_name(clone) != PROJECT
    assert name != project_name(PROJECT_ROOT)
    down = invoke(its_env, "docker.down", cwd=clone)
    assert down.returncode == 0, down.stderr[-2000:]
    assert f"-p {name} down" in down.stderr
    running = compose(env, "ps", "-q", "postgres").stdout.split()
    assert running, "the second clone's docker.down removed this project's postgres"
