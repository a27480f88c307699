"""POST /_berth/reset with the Docker executor: the engine is left as a berth just started
would find it (no containers, task volumes or cluster networks of this berth), at once rather
than after each task's stop timeout. Its own berth: a reset empties everything."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from berth_helpers import REGION, REPO, unique

IMAGE = "berth-test/busybox:latest"
_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)


def docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def docker_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def docker_berth(own_berth):
    if not docker_ok():
        msg = "Docker engine not reachable: the Docker reset test cannot run"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)
    with own_berth("--executor", "docker") as server:
        yield server


def owned(server, kind: str) -> list[str]:
    """This berth's containers or networks, by the owner label berth puts on them."""
    label = f"label=berth.owner=127.0.0.1:{server.port}"
    if kind == "container":
        return docker("ps", "-aq", "--filter", label).split()
    return docker("network", "ls", "-q", "--filter", label).split()


def test_reset_removes_containers_volumes_and_networks_at_once(docker_berth):
    ecs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                region_name=REGION).client("ecs", endpoint_url=docker_berth.url,
                                                           config=_CONFIG)
    cluster = unique("reset")
    ecs.create_cluster(clusterName=cluster)
    # busybox as PID 1 ignores SIGTERM: a graceful stop would take the whole stop timeout.
    app = {"name": "app", "image": IMAGE, "memory": 32, "command": ["sleep", "3600"],
           "stopTimeout": 30, "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]}
    ecs.register_task_definition(
        family="vol", containerDefinitions=[app],
        volumes=[{"name": "data", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}])
    ecs.register_task_definition(
        family="vpc", networkMode="awsvpc", cpu="256", memory="256",
        containerDefinitions=[{k: v for k, v in app.items() if k != "mountPoints"}])
    arns = [ecs.run_task(cluster=cluster, taskDefinition="vol", launchType="EC2")["tasks"][0]["taskArn"],
            ecs.run_task(cluster=cluster, taskDefinition="vpc", launchType="EC2",
                         networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
                         )["tasks"][0]["taskArn"]]
    deadline = time.monotonic() + 60
    while {t["lastStatus"] for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]} != {"RUNNING"}:
        assert time.monotonic() < deadline, ecs.describe_tasks(cluster=cluster, tasks=arns)
        time.sleep(0.3)
    volume = f"ecs-{arns[0].rsplit('/', 1)[1]}-data"
    assert volume in docker("volume", "ls", "-q").split()
    assert len(owned(docker_berth, "container")) == 3  # two tasks' containers and a pause
    assert len(owned(docker_berth, "network")) == 1

    began = time.perf_counter()
    resp = docker_berth.raw().request("POST", "/_berth/reset")
    took = time.perf_counter() - began
    assert resp.status == 200, resp.body
    # Well inside the 30 s stop timeout: the containers are killed, not asked.
    assert took < 10, took
    assert owned(docker_berth, "container") == []
    assert owned(docker_berth, "network") == []
    assert volume not in docker("volume", "ls", "-q").split()
    assert ecs.list_clusters()["clusterArns"] == []

    # And berth goes on as new: the same cluster name runs a task again.
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="vol", containerDefinitions=[app], volumes=[
        {"name": "data", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}])
    arn = ecs.run_task(cluster=cluster, taskDefinition="vol", launchType="EC2")["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert docker_berth.raw().request("POST", "/_berth/reset").status == 200
    assert owned(docker_berth, "container") == []
