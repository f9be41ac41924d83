# ruff: noqa: F811  (pytest fixtures imported from tests.ecs_fixtures are used as parameters)
"""invoke reboot-dashboard against a real moto server on 127.0.0.1 (boto3 over HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nba_elt.cli.commands import reboot_task
from nba_elt.errors import BadInput, ExternalError
from tests import ecs_fixtures
from tests.ecs_fixtures import ecs_service, moto_endpoint  # noqa: F401

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGION = ecs_fixtures.REGION
FAKE_KEYS = ecs_fixtures.FAKE_KEYS


def _primary_deployment_id(ecs, cluster: str, service: str) -> str:
    described = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    return described["deployments"][0]["id"]


def test_force_deployment_creates_a_new_deployment_and_waits_until_stable(ecs_service):
    ecs, cluster, service = ecs_service["ecs"], ecs_service["cluster"], ecs_service["service"]
    before = _primary_deployment_id(ecs, cluster, service)

    result = reboot_task(timeout=30)

    after = _primary_deployment_id(ecs, cluster, service)
    assert result.exit_code == 0
    assert after != before
    assert result.summary["deployment_id"] == after
    assert result.summary["previous_deployment_id"] == before
    assert result.summary["running_count"] == 1
    assert after in result.message and "1/1 running" in result.message


def test_stop_task_stops_the_first_running_task(ecs_service):
    ecs, cluster = ecs_service["ecs"], ecs_service["cluster"]
    running = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
    assert len(running) == 1

    result = reboot_task(mode="stop-task")

    assert result.exit_code == 0
    assert result.summary["stopped_task"] == running[0]
    described = ecs.describe_tasks(cluster=cluster, tasks=running)["tasks"][0]
    assert described["desiredStatus"] == "STOPPED"
    assert described["stoppedReason"].startswith("nba-elt reboot-dashboard")


def test_stop_task_without_running_tasks_is_a_plain_failure(ecs_service):
    ecs, cluster = ecs_service["ecs"], ecs_service["cluster"]
    for arn in ecs.list_tasks(cluster=cluster)["taskArns"]:
        ecs.stop_task(cluster=cluster, task=arn, reason="test")

    with pytest.raises(ExternalError, match="no running tasks for service 'nba_elt_dashboard'"):
        reboot_task(mode="stop-task")


def test_flags_override_settings_and_unknown_service_or_cluster_fail_plainly(ecs_service):
    with pytest.raises(ExternalError, match="ECS service 'no-such-service' not found"):
        reboot_task(service="no-such-service")
    with pytest.raises(ExternalError, match="ECS cluster 'no-such-cluster' not found"):
        reboot_task(cluster="no-such-cluster")


def test_service_that_never_becomes_stable_times_out(ecs_service, monkeypatch):
    ecs, cluster = ecs_service["ecs"], ecs_service["cluster"]
    ecs.create_service(
        cluster=cluster, serviceName="slow", taskDefinition="nba_elt_dashboard", desiredCount=3
    )
    monkeypatch.setattr("nba_elt.ops.dashboard.POLL_SECONDS", 0.2)

    result = reboot_task(service="slow", timeout=1)

    assert result.exit_code == 1
    assert "did not become stable within 1s (running 1/3)" in result.message


def test_dry_run_makes_no_call_and_needs_no_credentials(monkeypatch):
    monkeypatch.setenv("NBA_ELT_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    result = reboot_task(dry_run=True, mode="stop-task", cluster="c1", service="s1")
    assert result.exit_code == 0
    assert result.summary["status"] == "dry_run"
    assert any("ecs.stop_task(cluster='c1'" in call for call in result.summary["calls"])


def test_missing_credentials_are_named(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ExternalError, match="no AWS credentials found"):
        reboot_task()


def test_bad_mode_and_timeout_are_bad_input():
    with pytest.raises(BadInput, match="--mode must be one of force-deployment, stop-task"):
        reboot_task(mode="reboot-everything")
    with pytest.raises(BadInput, match="--timeout"):
        reboot_task(timeout=0)


def _invoke(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBA_ELT_", "AWS_"))}
    env.update(env_extra, COLUMNS="250")
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_invoke_reboot_dashboard_end_to_end(ecs_service, moto_endpoint):
    env = {
        **FAKE_KEYS,
        "NBA_ELT_AWS_ENDPOINT_URL": moto_endpoint,
        "NBA_ELT_ECS_CLUSTER": ecs_service["cluster"],
        "AWS_REGION": REGION,
    }
    ok = _invoke(["reboot-dashboard", "--timeout", "30", "--json"], env)
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["task"] == "reboot-dashboard" and summary["status"] == "succeeded"
    assert summary["deployment_id"].startswith("ecs-svc/")

    stop = _invoke(["reboot-dashboard", "--mode", "stop-task"], env)
    assert stop.returncode == 0, stop.stderr
    assert "stopped task arn:aws:ecs:" in stop.stderr

    missing = _invoke(["reboot-dashboard", "--service", "nope"], env)
    assert missing.returncode == 1
    assert "ECS service 'nope' not found" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
    assert FAKE_KEYS["AWS_SECRET_ACCESS_KEY"] not in missing.stderr + missing.stdout

    bad_mode = _invoke(["reboot-dashboard", "--mode", "nope"], env)
    assert bad_mode.returncode == 2
    assert "--mode must be one of" in bad_mode.stderr
