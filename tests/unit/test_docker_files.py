# ruff: noqa: F811  (pytest fixtures imported from tests.ecs_fixtures are used as parameters)
"""Static checks of docker/ and the lock: they say what docs/docker.md promises, and the lock
is the one pyproject.toml asks for."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import boto3
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from nba_elt.config import split_userinfo
from tests.ecs_fixtures import moto_endpoint  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
UV_LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_postgres_service_has_exact_image_secret_password_healthcheck_and_local_port():
    postgres = _compose()["services"]["postgres"]
    assert re.fullmatch(
        r"\$\{NBA_ELT_POSTGRES_IMAGE:-postgres:15\.\d+-bookworm\}", postgres["image"]
    )
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in _compose()["volumes"]
    for port in postgres["ports"]:
        assert port.startswith("127.0.0.1:"), port
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert postgres["secrets"] == ["postgres_password"]


def test_app_service_builds_the_dockerfile_and_waits_for_healthy_postgres():
    app = _compose()["services"]["app"]
    assert app["build"]["dockerfile"] == "docker/Dockerfile"
    assert re.fullmatch(
        r"\$\{NBA_ELT_PYTHON_IMAGE:-python:3\.11\.\d+-slim-bookworm\}",
        app["build"]["args"]["PYTHON_IMAGE"],
    )
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "ports" not in app


def test_app_gets_the_database_password_as_a_file_and_no_secret_in_its_environment():
    compose = _compose()
    app = compose["services"]["app"]
    env = app["environment"]
    assert env["NBA_ELT_DATABASE_URL"] == "postgresql://nba_elt@postgres:5432/nba_elt"
    assert env["NBA_ELT_DATABASE_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert app["secrets"] == ["postgres_password"]
    for name, value in env.items():
        assert name.startswith("NBA_ELT_"), name
        assert "${" not in str(value), name  # nothing from the caller's environment
    for secret in compose["secrets"].values():
        assert set(secret) == {"file"}  # file-based: Compose v1 and v2 alike, no swarm


def test_compose_keeps_no_list_of_settings_to_pass_through():
    """The values it sets are the container's own (paths, the secret's file): `--docker`
    passes the rest, from config.py's list (nba_elt/cli/docker.py)."""
    env = _compose()["services"]["app"]["environment"]
    assert set(env) == {
        "NBA_ELT_DATABASE_URL",
        "NBA_ELT_DATABASE_PASSWORD_FILE",
        "NBA_ELT_ARCHIVE_DIR",
        "NBA_ELT_MODEL_DIR",
        "NBA_ELT_STATE_DIR",
        "NBA_ELT_DBT_TARGET_PATH",
    }


def test_dockerfile_pins_the_base_installs_the_lock_and_runs_invoke_under_tini():
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, re.MULTILINE)
    assert "FROM ${PYTHON_IMAGE}" in text
    assert "COPY requirements/base.txt" in text
    assert "--require-hashes --no-deps -r /tmp/requirements.txt" in text
    assert "--no-deps -e ." in text
    assert 'ENTRYPOINT ["tini", "-g", "--", "invoke"]' in text
    assert re.search(r"^USER nba$", text, re.MULTILINE)
    assert "WORKDIR /app" in text  # tasks.py is copied there, so invoke finds it


# ------------------------------------------------------------------------------- the lock


def _declared(extra: str | None) -> list[Requirement]:
    lines = PYPROJECT["dependencies"] + (PYPROJECT["optional-dependencies"][extra] if extra else [])
    return [Requirement(line) for line in lines]


def _locked_project() -> dict:
    return next(p for p in UV_LOCK["package"] if p["name"] == "nba-elt")


def _locked_versions() -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in UV_LOCK["package"]:
        if "version" in package and package["name"] != "nba-elt":
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def _exported(name: str) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    text = (ROOT / "requirements" / f"{name}.txt").read_text()
    for match in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", text, re.MULTILINE):
        pins.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    assert "--hash=sha256:" in text
    return pins


def _extra_of(marker: str) -> str:
    """The extra a locked requirement belongs to ("" for the base); uv rewrites the
    platform part of a marker (python_version -> python_full_version), so only this counts."""
    found = re.search(r"extra == '([^']+)'", marker)
    return found[1] if found else ""


def test_uv_lock_was_made_from_this_pyproject():
    """`invoke lock` after every edit of pyproject's dependencies: otherwise this fails."""
    locked = {
        (
            canonicalize_name(r["name"]),
            tuple(sorted(r.get("extras", []))),
            SpecifierSet(r.get("specifier", "")),
            _extra_of(r.get("marker", "")),
        )
        for r in _locked_project()["metadata"]["requires-dist"]
    }
    declared = set()
    for extra in (None, *PYPROJECT["optional-dependencies"]):
        for req in _declared(extra)[len(PYPROJECT["dependencies"]) if extra else 0 :]:
            declared.add(
                (canonicalize_name(req.name), tuple(sorted(req.extras)), req.specifier, extra or "")
            )
    assert locked == declared
    assert set(_locked_project()["metadata"]["provides-extras"]) == set(
        PYPROJECT["optional-dependencies"]
    )


def test_each_requirements_file_pins_its_set_as_uv_lock_does():
    locked = _locked_versions()
    for extra in (None, *PYPROJECT["optional-dependencies"]):
        pins = _exported(extra or "base")
        for name, versions in pins.items():
            assert versions <= locked.get(name, set()), f"{extra or 'base'}: {name} {versions}"
        for req in _declared(extra):
            name = canonicalize_name(req.name)
            assert name in pins, f"{extra or 'base'}.txt lacks {req.name}"
            assert all(req.specifier.contains(v, prereleases=True) for v in pins[name]), req


def test_dbt_core_stays_below_1_12():
    for version in _locked_versions()["dbt-core"]:
        assert SpecifierSet("<1.12").contains(version), version


# ------------------------------------------------------------- docs/production.md's ECS task


def _task_definition() -> dict:
    text = (ROOT / "docs" / "production.md").read_text()
    section = text.split("## The image on ECS", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)\n```", section, re.DOTALL)[1])


def test_the_documented_task_definition_is_valid_for_ecs(moto_endpoint):
    """botocore checks every parameter against ECS's API model; moto registers it."""
    ecs = boto3.client(
        "ecs", region_name="us-east-1", endpoint_url=moto_endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    registered = ecs.register_task_definition(**_task_definition())["taskDefinition"]
    (app,) = registered["containerDefinitions"]
    assert app["name"] == "app" and app["command"][0] in {"daily", "backfill", "refresh"}
    assert app["logConfiguration"]["logDriver"] == "awslogs"
    assert 30 <= app["stopTimeout"] <= 120
    assert {s["name"] for s in app["secrets"]} >= {"NBA_ELT_DATABASE_PASSWORD"}
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in app["secrets"])
    for variable in app["environment"]:  # no secret in plain sight
        assert "PASSWORD" not in variable["name"] and "SECRET" not in variable["name"]
        assert split_userinfo(variable["value"])[2] is None, variable["name"]  # no password
