"""--init-dir: API calls (JSON, YAML) and scripts applied at start, in name order, before
/_berth/health reports "init": "done"; the first failure stops the rest and is reported."""

from __future__ import annotations

import json
import sys
import time

import boto3
from botocore.config import Config

from berth_helpers import REGION

_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(server, service, region=REGION):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=region).client(service, endpoint_url=server.url,
                                                            config=_CONFIG)


def settled_health(server, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        body = server.raw().request("GET", "/_berth/health").json()
        if body["init"] != "running":
            return body
        assert body["status"] == "starting", body
        assert time.monotonic() < deadline, f"init still running: {body}"
        time.sleep(0.1)


def script(path, body):
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)


def test_files_are_applied_in_name_order_before_health_says_done(own_berth, tmp_path):
    init = tmp_path / "init"
    init.mkdir()
    (init / "10-cluster.yaml").write_text(
        "- service: ecs\n"
        "  operation: CreateCluster\n"
        "  input: {clusterName: seeded}\n"
        "- service: ecs\n"
        "  operation: register_task_definition\n"
        "  input:\n"
        "    family: web\n"
        "    containerDefinitions: [{name: web, image: busybox, memory: 64}]\n"
        "- service: logs\n"
        "  operation: create-log-group\n"
        "  region: eu-west-1\n"
        "  input: {logGroupName: /seeded}\n")
    # Needs 10's cluster: name order is what makes this work.
    (init / "20-service.json").write_text(json.dumps({
        "service": "ecs", "operation": "CreateService",
        "input": {"cluster": "seeded", "serviceName": "web", "taskDefinition": "web",
                  "desiredCount": 1, "launchType": "EC2"}}))
    script(init / "30-script.py",
           "import boto3, os\n"
           "assert os.environ['AWS_ENDPOINT_URL'].startswith('http://127.0.0.1:')\n"
           "ecs = boto3.client('ecs')\n"
           "ecs.create_cluster(clusterName='from-script')\n"
           "print('script made its cluster')\n")
    (init / "README.md").write_text("not applied")
    with own_berth("--init-dir", str(init)) as server:
        health = settled_health(server)
        assert health["init"] == "done", health
        assert health["status"] == "running"
        assert health["init_files"] == 3
        ecs = client(server, "ecs")
        names = sorted(a.rsplit("/", 1)[1] for a in ecs.list_clusters()["clusterArns"])
        assert names == ["from-script", "seeded"]
        svc = ecs.describe_services(cluster="seeded", services=["web"])["services"][0]
        assert svc["desiredCount"] == 1
        groups = client(server, "logs", "eu-west-1").describe_log_groups()["logGroups"]
        assert [g["logGroupName"] for g in groups] == ["/seeded"]
        log = server.log_text()
        assert "init: 30-script.py: script made its cluster" in log
        assert "README.md: skipped" in log


def test_a_failing_call_stops_the_rest_and_shows_in_health(own_berth, tmp_path):
    init = tmp_path / "init"
    init.mkdir()
    (init / "1-ok.json").write_text(json.dumps(
        {"service": "ecs", "operation": "CreateCluster", "input": {"clusterName": "first"}}))
    (init / "2-bad.yaml").write_text(
        "service: ecs\noperation: CreateService\n"
        "input: {cluster: nowhere, serviceName: s, taskDefinition: x, desiredCount: 1}\n")
    (init / "3-never.json").write_text(json.dumps(
        {"service": "ecs", "operation": "CreateCluster", "input": {"clusterName": "never"}}))
    with own_berth("--init-dir", str(init)) as server:
        health = settled_health(server)
        assert health["init"] == "failed", health
        assert health["init_file"] == "2-bad.yaml"
        assert "ClusterNotFoundException" in health["init_error"]
        names = [a.rsplit("/", 1)[1] for a in client(server, "ecs").list_clusters()["clusterArns"]]
        assert names == ["first"]
        assert "2-bad.yaml failed" in server.log_text()


def test_a_failing_script_and_a_malformed_file_are_reported(own_berth, tmp_path):
    init = tmp_path / "init"
    init.mkdir()
    script(init / "a.py", "import sys\nprint('no luck', file=sys.stderr)\nsys.exit(3)\n")
    with own_berth("--init-dir", str(init)) as server:
        health = settled_health(server)
        assert health["init"] == "failed" and health["init_file"] == "a.py", health
        assert "no luck" in health["init_error"] and "3" in health["init_error"]

    other = tmp_path / "other"
    other.mkdir()
    (other / "x.json").write_text('{"service": "ecs", "operation": "NoSuchThing"}')
    with own_berth("--init-dir", str(other)) as server:
        health = settled_health(server)
        assert health["init"] == "failed", health
        assert "NoSuchThing" in health["init_error"]


def test_without_init_dir_init_is_done(raw):
    body = raw.request("GET", "/_berth/health").json()
    assert body["init"] == "done" and body["status"] == "running", body
