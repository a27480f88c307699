"""The dashboard at /_berth/ui, loaded in headless Chromium (Debian's package) against a berth
whose service runs real containers: what a person sees is the service's name, its running
count and a line its task printed. The screenshot is kept in test-artifacts/dashboard.png."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from berth_helpers import REGION, REPO, unique

IMAGE = "berth-test/busybox:latest"
ARTIFACTS = REPO / "test-artifacts"
_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)


def need(what: str, ok: bool):
    if ok:
        return
    msg = f"{what}: the dashboard test cannot run"
    if os.environ.get("CI"):
        pytest.fail(msg)
    print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
    pytest.skip(msg)


def chromium() -> str | None:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def browse(browser: str, url: str, *args: str) -> str:
    """The page after its scripts ran for a while (Chromium's virtual time: no sleeping)."""
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=8000", "--window-size=1280,1100", *args, url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_the_dashboard_shows_a_service_its_running_count_and_its_log(own_berth):
    browser = chromium()
    need("no Chromium (apt-get install chromium-headless-shell)", browser is not None)
    try:
        docker_up = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        docker_up = False
    need("Docker engine not reachable", docker_up)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)
    with own_berth("--executor", "docker") as server:
        ecs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=REGION).client("ecs", endpoint_url=server.url,
                                                               config=_CONFIG)
        cluster, service, line = unique("ui"), unique("web"), unique("hello-dashboard")
        ecs.create_cluster(clusterName=cluster)
        ecs.register_task_definition(family="ui", containerDefinitions=[{
            "name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 2,
            "command": ["sh", "-c", f"echo {line}; sleep 3600"],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ui", "awslogs-region": REGION, "awslogs-stream-prefix": "ui",
                "awslogs-create-group": "true"}}}])
        ecs.create_service(cluster=cluster, serviceName=service, taskDefinition="ui",
                           desiredCount=2, launchType="EC2")
        deadline = time.monotonic() + 60
        while ecs.describe_services(cluster=cluster, services=[service])["services"][0]["runningCount"] != 2:
            assert time.monotonic() < deadline
            time.sleep(0.3)

        url = server.url + "/_berth/ui"
        dom = browse(browser, url, "--dump-dom")
        refreshed = re.search(r'data-refreshed="(\d+)"', dom)
        assert refreshed, "the page's script never finished a refresh"
        # It refreshes itself (every 2 s; 8 s of virtual time passed).
        assert int(refreshed.group(1)) >= 2, refreshed.group(0)
        block = re.search(rf'data-service="{service}".*?</div>', dom, re.S)
        assert block, f"service {service} is not on the page"
        assert re.search(r'class="running-count">2<', block.group(0)), block.group(0)
        assert line in dom, "the task's log line is not on the page"
        assert 'id="error"></span>' in dom, re.search(r'id="error">[^<]*', dom).group(0)

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        shot.unlink(missing_ok=True)
        browse(browser, url, f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000
        print(f"dashboard screenshot: {shot}")

        ecs.update_service(cluster=cluster, service=service, desiredCount=0)
        ecs.delete_service(cluster=cluster, service=service)
