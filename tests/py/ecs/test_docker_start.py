"""Start with the Docker executor: the API answers before the engine is connected (the
requests that place tasks wait for it), an engine that cannot be reached stops berth with a
reason, and a second berth on the machine gives its tasks the full credentials URI."""

from __future__ import annotations

import os
import socket
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


@pytest.fixture(scope="module")
def engine():
    try:
        up = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        up = False
    if not up:
        msg = "Docker engine not reachable: the Docker start tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)


def ecs_of(server):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=REGION).client("ecs", endpoint_url=server.url,
                                                            config=_CONFIG)


def wait_status(ecs, cluster, arn, status, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == status:
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.2)


def test_the_api_answers_before_the_engine_and_run_task_waits_for_it(engine, own_berth):
    with own_berth("--executor", "docker") as server:
        ecs = ecs_of(server)
        # The very first calls: RunTask needs the engine's host, and gets it.
        ecs.create_cluster(clusterName="first")
        ecs.register_task_definition(family="first", containerDefinitions=[{
            "name": "app", "image": IMAGE, "memory": 16, "command": ["sleep", "30"],
            "stopTimeout": 2}])
        resp = ecs.run_task(cluster="first", taskDefinition="first", launchType="EC2")
        assert resp["failures"] == [] and len(resp["tasks"]) == 1, resp
        wait_status(ecs, "first", resp["tasks"][0]["taskArn"], "RUNNING")
        health = server.raw().request("GET", "/_berth/health").json()
        assert health["executor"] == "ready", health
        log = server.log_text()
        assert "Docker executor ready" in log
        # berth said it listened before the engine was in place.
        assert log.index("listening on") < log.index("Docker executor ready"), log


def test_an_engine_that_cannot_be_reached_stops_berth_with_the_reason(engine):
    binary = os.environ.get("BERTH_BIN", str(REPO / "target" / "debug" / "berth"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    proc = subprocess.run([binary, "--executor", "docker", "--bind", f"127.0.0.1:{port}",
                           "--dns-bind", "127.0.0.1:0"], capture_output=True, text=True,
                          env=env, timeout=30)
    assert proc.returncode != 0
    assert "start Docker, set DOCKER_HOST, or run with --executor fake" in proc.stderr


def test_a_second_berth_gives_its_tasks_the_full_credentials_uri(engine, own_berth):
    with own_berth("--executor", "docker") as first, own_berth("--executor", "docker") as second:
        for server in (first, second):
            deadline = time.monotonic() + 30
            while server.raw().request("GET", "/_berth/health").json()["executor"] != "ready":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        ecs = ecs_of(second)
        cluster = unique("second")
        ecs.create_cluster(clusterName=cluster)
        role = "arn:aws:iam::000000000000:role/second"
        ecs.register_task_definition(family="creds", taskRoleArn=role, containerDefinitions=[{
            "name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2,
            "command": ["sh", "-c", "env; wget -q -O - $AWS_CONTAINER_CREDENTIALS_FULL_URI; echo; sleep 30"]}])
        arn = ecs.run_task(cluster=cluster, taskDefinition="creds", launchType="EC2")["tasks"][0]["taskArn"]
        wait_status(ecs, cluster, arn, "RUNNING")
        cid = docker("ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}",
                     "--filter", "label=com.amazonaws.ecs.container-name=app").split()[0]
        deadline = time.monotonic() + 20
        while "AccessKeyId" not in (out := docker("logs", cid)):
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        env = dict(l.split("=", 1) for l in out.splitlines() if "=" in l and not l.startswith("{"))
        assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in env, env
        full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        assert full.startswith("http://169.254.170.2:") and not full.startswith("http://169.254.170.2:80/"), full
        assert role in out
        ecs.stop_task(cluster=cluster, task=arn)
