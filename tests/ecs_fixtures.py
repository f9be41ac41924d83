"""A local AWS for tests: a moto server on 127.0.0.1 with the dashboard's ECS service.

Import the fixtures into a test module: ``from tests.ecs_fixtures import ecs_service,
moto_endpoint  # noqa: F401``. ``ecs_service`` sets AWS_* and NBA_ELT_ECS_* /
NBA_ELT_AWS_ENDPOINT_URL so that `reboot_task()` finds the service without flags.
"""

from __future__ import annotations

import json
import os
import socket
import uuid

import boto3
import pytest

REGION = "us-east-1"
_IMAGE_IDS: dict[str, str] = {}
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-9f3a"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server in a thread on 127.0.0.1; every service it creates reports 1 running task."""
    from moto.server import ThreadedMotoServer

    previous = os.environ.get("MOTO_ECS_SERVICE_RUNNING")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "1"
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    if previous is None:
        os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
    else:
        os.environ["MOTO_ECS_SERVICE_RUNNING"] = previous


def _ecs(endpoint: str):
    return boto3.client(
        "ecs",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def ecs_service(moto_endpoint, monkeypatch):
    """A cluster with one container instance, a task definition, a service and 1 running task."""
    cluster = f"cluster-{uuid.uuid4().hex[:8]}"
    service = "nba_elt_dashboard"
    ecs = _ecs(moto_endpoint)
    ecs.create_cluster(clusterName=cluster)
    ec2 = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id=FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    image_id = _IMAGE_IDS.get(moto_endpoint)
    if image_id is None:  # moto lists hundreds of AMIs: ask once per server
        image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        _IMAGE_IDS[moto_endpoint] = image_id
    instance = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps(
            {"instanceId": instance["InstanceId"], "region": REGION}
        ),
    )
    ecs.register_task_definition(
        family="nba_elt_dashboard",
        containerDefinitions=[
            {"name": "dashboard", "image": "nba-elt-dashboard:latest", "memory": 256, "cpu": 128}
        ],
    )
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition="nba_elt_dashboard",
        desiredCount=1,
        launchType="EC2",
    )
    ecs.run_task(
        cluster=cluster,
        taskDefinition="nba_elt_dashboard",
        count=1,
        launchType="EC2",
        startedBy="ecs-svc/dashboard",
    )
    for key, value in FAKE_KEYS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBA_ELT_AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("NBA_ELT_ECS_CLUSTER", cluster)
    monkeypatch.setenv("NBA_ELT_ECS_SERVICE", service)
    monkeypatch.setenv("AWS_REGION", REGION)
    return {"cluster": cluster, "service": service, "ecs": ecs}
