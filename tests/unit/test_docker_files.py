"""Static checks of docker/: the compose file and the Dockerfile say what the docs promise."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_postgres_service_has_variable_image_healthcheck_volume_and_local_port():
    postgres = _compose()["services"]["postgres"]
    assert postgres["image"] == "${NBA_ELT_POSTGRES_IMAGE:-postgres:15}"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in _compose()["volumes"]
    for port in postgres["ports"]:
        assert port.startswith("127.0.0.1:"), port


def test_app_service_builds_the_dockerfile_and_waits_for_healthy_postgres():
    app = _compose()["services"]["app"]
    assert app["build"]["dockerfile"] == "docker/Dockerfile"
    assert app["build"]["args"]["PYTHON_IMAGE"] == "${NBA_ELT_PYTHON_IMAGE:-python:3.11-slim}"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "ports" not in app


def test_app_service_uses_the_product_env_names():
    env = _compose()["services"]["app"]["environment"]
    assert re.fullmatch(
        r"postgresql://nba_elt:.*@postgres:5432/nba_elt", env["NBA_ELT_DATABASE_URL"]
    )
    for name in (
        "NBA_ELT_TARGET",
        "NBA_ELT_BBREF_URL",
        "NBA_ELT_ARCHIVE_DIR",
        "NBA_ELT_REQUESTS_PER_MINUTE",
        "NBA_ELT_SLACK_WEBHOOK_URL",
        "NBA_ELT_ECS_CLUSTER",
        "NBA_ELT_ECS_SERVICE",
        "NBA_ELT_AWS_ENDPOINT_URL",
        "AWS_REGION",
    ):
        assert env[name].startswith("${" + name), name
    # no secret is written into the file: credentials only pass through
    assert env["AWS_SECRET_ACCESS_KEY"] == "${AWS_SECRET_ACCESS_KEY:-}"


def test_dockerfile_base_image_is_a_build_arg_and_runs_invoke_as_non_root():
    text = (DOCKER / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "FROM ${PYTHON_IMAGE}" in text
    assert 'ENTRYPOINT ["invoke"]' in text
    assert re.search(r"^USER nba$", text, re.MULTILINE)
    assert "WORKDIR /app" in text  # tasks.py is copied there, so invoke finds it
