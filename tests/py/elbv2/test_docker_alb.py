"""An ALB in front of real ECS tasks: two busybox `httpd` services (one awsvpc behind an ip
target group, one bridge-mode with a dynamic host port behind an instance target group) answer
through one listener, chosen by host and path rules; their targets pass the health checks.

Images come from docker/build-test-images (nothing is pulled). In CI (CI=true) a missing Docker
engine fails these tests; elsewhere they skip loudly."""

from __future__ import annotations

import http.client
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


def _docker_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def dberth(own_berth_module):
    if not _docker_ok():
        msg = "Docker engine not reachable: the ALB-in-front-of-ECS tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)
    with own_berth_module("--executor", "docker") as server:
        yield server


def client(dberth, service):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=REGION).client(service, endpoint_url=dberth.url,
                                                            config=_CONFIG)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(addr, path, host=None):
    conn = http.client.HTTPConnection(*addr, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def httpd(name: str, body: str, port: int, host_port: int | None = None) -> dict:
    mapping = {"containerPort": port}
    if host_port is not None:
        mapping["hostPort"] = host_port
    return {"name": name, "image": IMAGE, "memory": 64, "stopTimeout": 2, "essential": True,
            "command": ["sh", "-c", f"mkdir -p /www/app && echo {body} > /www/index.html && "
                                    f"echo {body}-app > /www/app/index.html && httpd -f -p {port} -h /www"],
            "portMappings": [mapping]}


def test_two_httpd_services_behind_one_alb(dberth):
    ecs, elb = client(dberth, "ecs"), client(dberth, "elbv2")
    cluster = unique("alb")
    ecs.create_cluster(clusterName=cluster)
    vpc_family, bridge_family = unique("vpc"), unique("bridge")
    ecs.register_task_definition(family=vpc_family, networkMode="awsvpc",
                                 containerDefinitions=[httpd("web", "hello-vpc", 80)])
    bridge = httpd("web", "hello-bridge", 8080, host_port=0)
    ecs.register_task_definition(family=bridge_family, networkMode="bridge",
                                 containerDefinitions=[bridge])
    hc = dict(HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)
    tg_vpc = elb.create_target_group(Name=unique("vpc"), Protocol="HTTP", Port=80, VpcId="vpc-1",
                                     TargetType="ip", **hc)["TargetGroups"][0]["TargetGroupArn"]
    tg_bridge = elb.create_target_group(Name=unique("br"), Protocol="HTTP", Port=8080,
                                        VpcId="vpc-1", TargetType="instance",
                                        **hc)["TargetGroups"][0]["TargetGroupArn"]
    lb = elb.create_load_balancer(Name=unique("alb"))["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                                   DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
                                       "StatusCode": "404", "MessageBody": "no route"}}])
    listener_arn = listener["Listeners"][0]["ListenerArn"]
    elb.create_rule(ListenerArn=listener_arn, Priority=1,
                    Conditions=[{"Field": "host-header", "Values": ["vpc.example.com"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg_vpc}])
    elb.create_rule(ListenerArn=listener_arn, Priority=2,
                    Conditions=[{"Field": "path-pattern", "Values": ["/app/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg_bridge}])
    ecs.create_service(cluster=cluster, serviceName="vpc", taskDefinition=vpc_family, desiredCount=1,
                       launchType="EC2", networkConfiguration={"awsvpcConfiguration": {"subnets": ["s-1"]}},
                       loadBalancers=[{"targetGroupArn": tg_vpc, "containerName": "web", "containerPort": 80}])
    ecs.create_service(cluster=cluster, serviceName="bridge", taskDefinition=bridge_family,
                       desiredCount=1, launchType="EC2",
                       loadBalancers=[{"targetGroupArn": tg_bridge, "containerName": "web",
                                       "containerPort": 8080}])
    try:
        # The listener binds with the reconcile loop's next pass.
        deadline = time.monotonic() + 10
        while True:
            health = dberth.raw().request("GET", "/_berth/health").json()
            address = next((l["address"] for l in health["elbv2"]["listeners"]
                            if l["listener_arn"] == listener_arn), None)
            if address:
                break
            assert time.monotonic() < deadline, f"listener not bound: {health['elbv2']}"
            time.sleep(0.1)
        host, _, port = address.rpartition(":")
        addr = (host, int(port))
        deadline = time.monotonic() + 90
        while True:
            states = {tg: [h["TargetHealth"]["State"] for h in
                           elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]]
                      for tg in (tg_vpc, tg_bridge)}
            if all(s == ["healthy"] for s in states.values()):
                break
            assert time.monotonic() < deadline, f"targets not healthy: {states}"
            time.sleep(0.5)
        assert get(addr, "/", "vpc.example.com") == (200, "hello-vpc\n")
        assert get(addr, "/app/", "other.example.com") == (200, "hello-bridge-app\n")
        assert get(addr, "/", "other.example.com") == (404, "no route")
        # The bridge task's target is its container instance and the dynamic host port.
        target = elb.describe_target_health(TargetGroupArn=tg_bridge)["TargetHealthDescriptions"][0]["Target"]
        task_arn = ecs.list_tasks(cluster=cluster, serviceName="bridge")["taskArns"][0]
        task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        instance = ecs.describe_container_instances(
            cluster=cluster, containerInstances=[task["containerInstanceArn"]])["containerInstances"][0]
        binding = task["containers"][0]["networkBindings"][0]
        assert (target["Id"], target["Port"]) == (instance["ec2InstanceId"], binding["hostPort"])
        # And the awsvpc task's target is its own IP with the container port.
        vpc_target = elb.describe_target_health(TargetGroupArn=tg_vpc)["TargetHealthDescriptions"][0]["Target"]
        vpc_arn = ecs.list_tasks(cluster=cluster, serviceName="vpc")["taskArns"][0]
        vpc_task = ecs.describe_tasks(cluster=cluster, tasks=[vpc_arn])["tasks"][0]
        ip = next(d["value"] for a in vpc_task["attachments"] for d in a["details"]
                  if d["name"] == "privateIPv4Address")
        assert (vpc_target["Id"], vpc_target["Port"]) == (ip, 80)
    finally:
        for svc in ("vpc", "bridge"):
            ecs.delete_service(cluster=cluster, service=svc, force=True)
        deadline = time.monotonic() + 60
        while ecs.list_tasks(cluster=cluster)["taskArns"] and time.monotonic() < deadline:
            time.sleep(0.5)
