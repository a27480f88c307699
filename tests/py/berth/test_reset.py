"""POST /_berth/reset and `berth reset`: back to a just-started berth between tests, as test
frameworks use LocalStack's and moto's reset. Each test has its own berth (fake executor), since
a reset empties everything."""

from __future__ import annotations

import json
import os
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from berth_helpers import REGION, container, unique

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(server, service, region=REGION):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=region).client(service, endpoint_url=server.url,
                                                            config=_CONFIG)


def reset(server, query=""):
    return server.raw().request("POST", "/_berth/reset" + query)


def wait_running(ecs, cluster, service, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        if svc["runningCount"] == count:
            return svc
        assert time.monotonic() < deadline, f"runningCount stayed {svc['runningCount']}"
        time.sleep(0.1)


def populate(server, region=REGION):
    """A cluster with a running service, a task definition and a log group."""
    ecs, logs = client(server, "ecs", region), client(server, "logs", region)
    ecs.create_cluster(clusterName="dev")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ecs.create_service(cluster="dev", serviceName="web", taskDefinition="web", desiredCount=2,
                       launchType="EC2")
    logs.create_log_group(logGroupName="/ecs/web")
    wait_running(ecs, "dev", "web", 2)
    return ecs, logs


def test_reset_forgets_every_service_in_every_region(own_berth):
    with own_berth() as server:
        ecs, logs = populate(server)
        ecs_eu, logs_eu = populate(server, "eu-west-1")
        sd = client(server, "servicediscovery")
        sd.create_http_namespace(Name=unique("ns"))
        iam = client(server, "iam")
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)

        resp = reset(server)
        assert resp.status == 200, resp.body
        assert resp.json()["reset"] == "all"

        for e, l in ((ecs, logs), (ecs_eu, logs_eu)):
            assert e.list_clusters()["clusterArns"] == []
            assert e.list_task_definition_families()["families"] == []
            assert l.describe_log_groups()["logGroups"] == []
        assert sd.list_namespaces()["Namespaces"] == []
        # IAM's state is global, not per region: it goes too.
        assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"] == "app"] == []
        # As on a berth just started: the same names again, revisions from 1.
        ecs.create_cluster(clusterName="dev")
        td = ecs.register_task_definition(family="web", containerDefinitions=[container()])
        assert td["taskDefinition"]["revision"] == 1
        assert ecs.list_tasks(cluster="dev")["taskArns"] == []


def test_reset_of_one_service_keeps_the_others(own_berth):
    with own_berth() as server:
        ecs, logs = populate(server)
        resp = reset(server, "?service=logs")
        assert resp.status == 200, resp.body
        assert resp.json()["reset"] == "logs"
        assert logs.describe_log_groups()["logGroups"] == []
        assert len(ecs.list_clusters()["clusterArns"]) == 1
        assert wait_running(ecs, "dev", "web", 2)["runningCount"] == 2

        resp = reset(server, "?service=ecs")
        assert resp.status == 200, resp.body
        assert ecs.list_clusters()["clusterArns"] == []
        logs.create_log_group(logGroupName="/kept")
        assert reset(server, "?service=ecs").status == 200
        assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/kept"]

        iam = client(server, "iam")
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
        assert reset(server, "?service=iam").status == 200
        assert "app" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
        assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/kept"]


def test_reset_names_an_unknown_service_and_refuses_get(own_berth):
    with own_berth() as server:
        resp = reset(server, "?service=s3")
        assert resp.status == 400
        assert "ecs" in resp.json()["message"]
        assert server.raw().request("GET", "/_berth/reset").status == 405


def test_reset_without_containers_is_fast(own_berth):
    with own_berth() as server:
        populate(server)
        reset(server)
        times = []
        for _ in range(5):
            began = time.perf_counter()
            assert reset(server).status == 200
            times.append(time.perf_counter() - began)
        assert min(times) < 0.1, times


def test_the_reset_command_resets_a_running_berth(own_berth):
    with own_berth() as server:
        ecs, _ = populate(server)
        binary = server.proc.args[0]
        proc = subprocess.run([binary, "reset", "--endpoint-url", server.url, "--service", "ecs"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["reset"] == "ecs"
        assert ecs.list_clusters()["clusterArns"] == []
        # Nothing listens on port 9: the command says so and fails.
        proc = subprocess.run([binary, "reset", "--endpoint-url", "http://127.0.0.1:9"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0
        assert "127.0.0.1:9" in proc.stderr
