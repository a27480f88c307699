"""berth's own image, built offline: what the Dockerfile makes, but from the host-built binary
and the shared libraries `ldd` lists (plus `ip`, which berth runs to make 169.254.170.2 local),
FROM scratch, since nothing can be pulled here. berth inside it, with the engine's socket
mounted, runs a task whose output reaches CloudWatch Logs and which reads its metadata."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from berth_helpers import REGION, REPO, unique

IMAGE = "berth-test/berth:local"
TASK_IMAGE = "berth-test/busybox:latest"
_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)


def docker(*args: str, check: bool = True, timeout: float = 300) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def libraries(binary: str) -> list[str]:
    """The shared objects `ldd` resolves for `binary`, the dynamic loader included."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libs.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def build_image(tmp: Path, berth_bin: str) -> None:
    root = tmp / "rootfs"
    ip = shutil.which("ip")
    assert ip, "iproute2's ip is needed in the image"
    for src, dest in ((berth_bin, "usr/local/bin/berth"), (ip, "usr/sbin/ip")):
        target = root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        # A debug build is mostly debug info: the image needs none of it.
        if shutil.which("strip"):
            subprocess.run(["strip", "--strip-debug", str(target)], check=True)
        for lib in libraries(src):
            copy = root / lib.lstrip("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(lib), copy)
    (root / "tmp").mkdir(exist_ok=True)
    (tmp / "Dockerfile").write_text(
        "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/usr/local/bin/berth\"]\n")
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    proc = subprocess.run(["docker", "build", "-q", "-t", IMAGE, str(tmp)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def berth_in_a_container(tmp_path):
    try:
        docker_up = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        docker_up = False
    if not docker_up:
        msg = "Docker engine not reachable: berth's image cannot be tested"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)
    berth_bin = os.environ.get("BERTH_BIN", str(REPO / "target" / "debug" / "berth"))
    build_image(tmp_path, berth_bin)
    port = free_port()
    name = f"berth-image-test-{port}"
    docker("run", "-d", "--rm", "--name", name, "--network", "host", "--cap-add", "NET_ADMIN",
           "-v", "/var/run/docker.sock:/var/run/docker.sock", IMAGE,
           "--bind", f"127.0.0.1:{port}", "--dns-bind", "127.0.0.1:0")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/_berth/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, docker("logs", name, check=False)
            time.sleep(0.2)
        yield url, port, name
    finally:
        print(docker("logs", name, check=False, timeout=30))
        docker("stop", "-t", "20", name, check=False, timeout=60)


def test_berth_in_its_image_runs_a_task(berth_in_a_container):
    url, port, name = berth_in_a_container
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=REGION)
    ecs = session.client("ecs", endpoint_url=url, config=_CONFIG)
    logs = session.client("logs", endpoint_url=url, config=_CONFIG)
    cluster = unique("img")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="hello", containerDefinitions=[{
        "name": "app", "image": TASK_IMAGE, "memory": 32, "stopTimeout": 2,
        "command": ["sh", "-c", "echo hello-from-the-image; sleep 3600"],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/img", "awslogs-region": REGION, "awslogs-stream-prefix": "t",
            "awslogs-create-group": "true"}}}])
    arn = ecs.run_task(cluster=cluster, taskDefinition="hello", launchType="EC2")["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            break
        assert task["lastStatus"] != "STOPPED", task
        assert time.monotonic() < deadline, task
        time.sleep(0.3)
    task_id = arn.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while True:
        events = logs.get_log_events(logGroupName="/img", logStreamName=f"t/app/{task_id}")["events"]
        if any(e["message"] == "hello-from-the-image" for e in events):
            break
        assert time.monotonic() < deadline, events
        time.sleep(0.3)
    # The container is on the host's engine, labelled as this berth's.
    ids = docker("ps", "-q", "--filter", f"label=berth.owner=127.0.0.1:{port}",
                 "--filter", "label=com.amazonaws.ecs.container-name=app").split()
    assert len(ids) == 1
    # berth in its container serves the task metadata endpoint to the task.
    metadata = docker("exec", ids[0], "sh", "-c", "wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task")
    assert task_id in metadata

    docker("stop", "-t", "20", name, timeout=60)
    # berth removed its task's containers on the way out.
    assert docker("ps", "-aq", "--filter", f"label=berth.owner=127.0.0.1:{port}").split() == []
