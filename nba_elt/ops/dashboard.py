"""Restart the dashboard's ECS service so that it re-reads the marts.

Two ways, as the runbook has them:

- ``force-deployment`` (default): ``ecs.update_service(forceNewDeployment=True)``, then
  poll ``describe_services`` until the service is stable (one deployment, running count =
  desired count) or the timeout passes;
- ``stop-task``: the old runbook's way: stop the first running task of the service and let
  ECS start a replacement.

Cluster, service, region and endpoint come from the settings (docs/architecture.md §3) unless
the caller overrides them. AWS credentials are whatever boto3 finds (environment, profile,
instance role); they are never printed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nba_elt.config import Settings, get_settings
from nba_elt.errors import BadInput, ExternalError
from nba_elt.results import Result

log = logging.getLogger(__name__)

MODES = ("force-deployment", "stop-task")
POLL_SECONDS = 5.0
STOP_REASON = "nba-elt reboot-dashboard: re-read the marts"


@dataclass(frozen=True)
class Target:
    cluster: str
    service: str
    region: str
    endpoint_url: str | None

    def describe(self) -> str:
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"service {self.service!r} on cluster {self.cluster!r} ({self.region}{where})"


class DashboardError(ExternalError):
    """The ECS service could not be restarted (missing credentials, unknown service ...)."""


def _ecs_client(target: Target, credentials: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=target.region, **credentials)
    if session.get_credentials() is None:
        raise DashboardError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE, or run where an instance/task role is available"
        )
    config = Config(
        connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
    )
    return session.client("ecs", endpoint_url=target.endpoint_url, config=config)


def _raise(error: DashboardError) -> Callable[[str], Any]:
    def handler(message: str) -> Any:
        raise error

    return handler


def _aws_call(what: str, target: Target, call, **kwargs) -> dict:
    """One ECS call on the target's cluster; AWS failures become a DashboardError with a
    plain sentence."""
    from nba_elt.extract.aws import aws_call

    cluster_missing = DashboardError(
        f"ECS cluster {target.cluster!r} not found in {target.region}; "
        "check --cluster / NBA_ELT_ECS_CLUSTER and --region / AWS_REGION"
    )
    service_missing = DashboardError(
        f"ECS service {target.service!r} not found (or not active) on cluster "
        f"{target.cluster!r}; check --service / NBA_ELT_ECS_SERVICE"
    )
    return aws_call(
        what,
        call,
        where=target.describe(),
        permissions="ecs:DescribeServices, ecs:UpdateService, ecs:ListTasks, ecs:StopTask",
        error=DashboardError,
        on_code={
            "ClusterNotFoundException": _raise(cluster_missing),
            "ServiceNotFoundException": _raise(service_missing),
            "ServiceNotActiveException": _raise(service_missing),
        },
        cluster=target.cluster,
        **kwargs,
    )


def _describe_service(client: Any, target: Target) -> dict:
    answer = _aws_call(
        "ecs:DescribeServices", target, client.describe_services, services=[target.service]
    )
    active = [s for s in answer.get("services") or [] if s.get("status") == "ACTIVE"]
    if not active:
        raise DashboardError(
            f"ECS service {target.service!r} not found (or not active) on cluster "
            f"{target.cluster!r} in {target.region}; check --service / NBA_ELT_ECS_SERVICE"
        )
    return active[0]


def _primary_deployment(service: dict) -> dict:
    deployments = service.get("deployments") or [{}]
    return next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0])


def is_stable(service: dict) -> bool:
    """ECS's own definition (the services_stable waiter): one deployment, all tasks running."""
    deployments = service.get("deployments") or []
    return len(deployments) == 1 and service.get("runningCount") == service.get("desiredCount")


def _force_deployment(client: Any, target: Target, timeout: float) -> RebootResult:
    old_id = _primary_deployment(_describe_service(client, target)).get("id")
    answer = _aws_call(
        "ecs:UpdateService",
        target,
        client.update_service,
        service=target.service,
        forceNewDeployment=True,
    )
    new_id = _primary_deployment(answer.get("service") or {}).get("id")
    log.info("new deployment %s started (previous %s); waiting until stable", new_id, old_id)
    started = time.monotonic()
    while True:
        service = _describe_service(client, target)
        running, desired = service.get("runningCount"), service.get("desiredCount")
        stable = is_stable(service)
        log.info(
            "  %5.0fs  deployments=%d running=%s/%s %s",
            time.monotonic() - started,
            len(service.get("deployments") or []),
            running,
            desired,
            "stable" if stable else "rolling",
        )
        if stable or time.monotonic() + POLL_SECONDS > started + timeout:
            break
        time.sleep(POLL_SECONDS)
    summary = {
        "status": "succeeded" if stable else "timeout",
        "mode": "force-deployment",
        "deployment_id": new_id,
        **({"previous_deployment_id": old_id} if stable else {}),
        "running_count": running,
        "desired_count": desired,
        **_target_summary(target),
    }
    if not stable:
        return RebootResult(
            1,
            f"deployment {new_id} of {target.describe()} did not become stable within "
            f"{timeout:g}s (running {running}/{desired}); check the service's events in "
            "the ECS console, or re-run with a larger --timeout",
            summary,
        )
    return RebootResult(
        0,
        f"new deployment {new_id} of {target.describe()} is stable: {running}/{desired} running",
        summary,
    )


def _stop_task(client: Any, target: Target) -> RebootResult:
    _describe_service(client, target)
    listed = _aws_call(
        "ecs:ListTasks",
        target,
        client.list_tasks,
        serviceName=target.service,
        desiredStatus="RUNNING",
    )
    task_arns = listed.get("taskArns") or []
    if not task_arns:
        raise DashboardError(
            f"no running tasks for {target.describe()}: nothing to stop; "
            "use --mode force-deployment to start the service's tasks again"
        )
    stopped = _aws_call(
        "ecs:StopTask", target, client.stop_task, task=task_arns[0], reason=STOP_REASON
    ).get("task", {})
    summary = {
        "status": "succeeded",
        "mode": "stop-task",
        "stopped_task": stopped.get("taskArn", task_arns[0]),
        "last_status": stopped.get("lastStatus"),
        "running_tasks_before": len(task_arns),
        **_target_summary(target),
    }
    return RebootResult(
        0,
        f"stopped task {summary['stopped_task']} of {target.describe()} "
        f"(1 of {len(task_arns)}); ECS starts a replacement",
        summary,
    )


@dataclass
class RebootResult(Result):
    """What a restart did: `summary` holds the mode, the target and, dry run, the calls."""

    target: Target | None = None

    @property
    def calls(self) -> list[str]:
        return list(self.summary.get("calls") or [])


def _target_summary(target: Target) -> dict[str, Any]:
    return {"cluster": target.cluster, "service": target.service, "region": target.region}


def _dry_run(mode: str, target: Target) -> RebootResult:
    calls = [f"ecs.describe_services(cluster={target.cluster!r}, services=[{target.service!r}])"]
    if mode == "force-deployment":
        calls += [
            f"ecs.update_service(cluster={target.cluster!r}, service={target.service!r}, "
            "forceNewDeployment=True)",
            "ecs.describe_services(...) every "
            f"{POLL_SECONDS:g}s until stable (one deployment, running = desired)",
        ]
    else:
        calls += [
            f"ecs.list_tasks(cluster={target.cluster!r}, serviceName={target.service!r}, "
            "desiredStatus='RUNNING')",
            f"ecs.stop_task(cluster={target.cluster!r}, task=<first task>, reason={STOP_REASON!r})",
        ]
    return RebootResult(
        0,
        f"dry run: no AWS call made ({mode})",
        {"status": "dry_run", "mode": mode, "calls": calls, **_target_summary(target)},
        target=target,
    )


@dataclass(frozen=True)
class RebootRequest:
    """A validated restart: the mode, the service (from the settings unless given), the
    seconds to wait for it to become stable; `dry_run` makes no AWS call."""

    mode: str
    target: Target
    dry_run: bool = False
    timeout: float = 600

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, mode: str = "force-deployment",
        cluster: str | None = None, service: str | None = None, region: str | None = None,
        dry_run: bool = False, timeout: float | int | str = 600,
    ) -> RebootRequest:  # fmt: skip
        """`invoke reboot-dashboard`'s flags; BadInput (exit 2) before any AWS call."""
        if mode not in MODES:
            raise BadInput(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            raise BadInput(f"--timeout must be a number of seconds, got {timeout!r}") from None
        if seconds <= 0:
            raise BadInput(f"--timeout must be greater than 0, got {timeout!r}")
        settings = settings or get_settings()
        target = Target(
            cluster=cluster or settings.ecs_cluster,
            service=service or settings.ecs_service,
            region=region or settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        )
        return cls(mode, target, bool(dry_run), seconds)


def reboot_dashboard(request: RebootRequest, *, settings: Settings | None = None) -> RebootResult:
    """Restart the dashboard service; see the module docstring for the two modes."""
    mode, target = request.mode, request.target
    if request.dry_run:
        return _dry_run(mode, target)
    settings = settings or get_settings()
    client = _ecs_client(target, settings.aws_credentials())
    log.info("restarting %s (%s)", target.describe(), mode)
    if mode == "force-deployment":
        return _force_deployment(client, target, request.timeout)
    return _stop_task(client, target)
