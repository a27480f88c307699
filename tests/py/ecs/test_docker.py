"""Real tasks: berth with its Docker executor, driven by boto3 and the AWS CLI, checked against
what the engine really runs (`docker ps`, `docker kill`, HTTP to the containers).

Images come from docker/build-test-images (FROM scratch + Debian's static busybox): nothing is
pulled. In CI (CI=true) a missing Docker engine fails these tests; elsewhere they skip loudly.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

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


def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout


@pytest.fixture(scope="module")
def dberth(own_berth_module):
    """A berth whose tasks are real containers."""
    if not _docker_ok():
        msg = "Docker engine not reachable: the Docker executor tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True, timeout=600)
    with own_berth_module("--executor", "docker") as server:
        yield server


@pytest.fixture(scope="module")
def decs(dberth):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=REGION).client("ecs", endpoint_url=dberth.url,
                                                            config=_CONFIG)


@pytest.fixture(scope="module")
def dlogs(dberth):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=REGION).client("logs", endpoint_url=dberth.url,
                                                            config=_CONFIG)


@pytest.fixture(scope="module")
def cluster(decs):
    name = unique("dock")
    decs.create_cluster(clusterName=name)
    yield name
    # Nothing of this module may outlive it on the engine.
    for arn in decs.list_tasks(cluster=name)["taskArns"]:
        decs.stop_task(cluster=name, task=arn)


def cli(dberth, *args: str, service: str = "ecs"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_PAGER="",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    proc = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", dberth.url,
                           "--region", REGION, "--output", "json", service, *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def register(decs, containers, family=None, **kw):
    family = family or unique("fam")
    for c in containers:
        c.setdefault("image", IMAGE)
        c.setdefault("memory", 64)
        # busybox as PID 1 ignores SIGTERM: a short stop timeout keeps StopTask quick.
        c.setdefault("stopTimeout", 2)
    td = decs.register_task_definition(family=family, containerDefinitions=containers, **kw)
    return td["taskDefinition"]["taskDefinitionArn"]


def run(decs, cluster, td, **kw):
    resp = decs.run_task(cluster=cluster, taskDefinition=td, launchType="EC2", **kw)
    assert not resp["failures"], resp["failures"]
    return resp["tasks"][0]["taskArn"]


def wait_task(decs, cluster, arn, pred, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        task = decs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if pred(task):
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task did not reach {what} in {timeout}s: {json.dumps(task, default=str)[:3000]}")
        time.sleep(0.3)


def stopped(decs, cluster, arn, timeout=60.0):
    return wait_task(decs, cluster, arn, lambda t: t["lastStatus"] == "STOPPED", timeout, "STOPPED")


def running(decs, cluster, arn, timeout=60.0):
    return wait_task(decs, cluster, arn, lambda t: t["lastStatus"] == "RUNNING", timeout, "RUNNING")


def containers_of(task_arn: str, all_: bool = True) -> list[str]:
    args = ["ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={task_arn}"]
    if all_:
        args.insert(1, "-a")
    return docker(*args).split()


def http_get(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def log_lines(dlogs, group, stream, want, timeout=20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = dlogs.get_log_events(logGroupName=group, logStreamName=stream,
                                          startFromHead=True)["events"]
        except dlogs.exceptions.ResourceNotFoundException:
            events = []
        lines = [e["message"] for e in events]
        if want(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.3)


def logged_shell(script: str, group: str) -> dict:
    """Container `app` running `sh -c script`, its output in log group `group` (created as
    needed), stream `ecs/app/<task id>`."""
    return {
        "name": "app", "command": ["sh", "-c", script],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": group, "awslogs-region": REGION,
            "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}},
    }


# --------------------------------------------------------------------------------------------

def test_container_instance_is_the_docker_host(decs, cluster):
    td = register(decs, [{"name": "app", "command": ["sleep", "300"]}])
    arn = run(decs, cluster, td)
    ci = decs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    desc = decs.describe_container_instances(cluster=cluster, containerInstances=ci)
    reg = {r["name"]: r["integerValue"] for r in desc["containerInstances"][0]["registeredResources"]
           if r["name"] in ("CPU", "MEMORY")}
    assert reg["CPU"] == os.cpu_count() * 1024
    mem_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    assert abs(reg["MEMORY"] - mem_mib) < mem_mib * 0.05
    decs.stop_task(cluster=cluster, task=arn)
    stopped(decs, cluster, arn)


def test_essential_container_exit_code_stops_the_task(decs, cluster):
    td = register(decs, [{"name": "app", "command": ["sh", "-c", "exit 3"]}])
    arn = run(decs, cluster, td)
    task = stopped(decs, cluster, arn)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    c = task["containers"][0]
    assert c["exitCode"] == 3 and c["lastStatus"] == "STOPPED"
    assert c["runtimeId"]
    for field in ("pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "stoppedAt",
                  "executionStoppedAt", "connectivityAt"):
        assert field in task, field


def test_long_running_task_runs_and_stop_task_removes_the_container(decs, cluster):
    td = register(decs, [{"name": "app", "command": ["sleep", "300"]}])
    arn = run(decs, cluster, td)
    task = running(decs, cluster, arn)
    ids = containers_of(arn, all_=False)
    assert len(ids) == 1 and task["containers"][0]["runtimeId"].startswith(ids[0])
    labels = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", ids[0]))
    assert labels["com.amazonaws.ecs.container-name"] == "app"
    assert labels["com.amazonaws.ecs.cluster"].endswith(f":cluster/{cluster}")
    assert labels["com.amazonaws.ecs.task-definition-family"] == td.split("/")[-1].split(":")[0]
    decs.stop_task(cluster=cluster, task=arn, reason="done here")
    task = stopped(decs, cluster, arn)
    assert task["stopCode"] == "UserInitiated" and task["stoppedReason"] == "done here"
    assert containers_of(arn) == []


def test_missing_image_is_cannot_pull_container_error(decs, cluster):
    td = register(decs, [{"name": "app", "image": "berth-test/does-not-exist:1"}])
    arn = run(decs, cluster, td)
    task = stopped(decs, cluster, arn, timeout=120)
    assert task["stoppedReason"].startswith("CannotPullContainerError:"), task["stoppedReason"]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["containers"][0]["reason"].startswith("CannotPullContainerError:")


def test_unresolvable_secret_fails_the_task_naming_it(decs, cluster):
    secret = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf"
    td = register(decs, [{"name": "app", "command": ["true"],
                          "secrets": [{"name": "PW", "valueFrom": secret}]}])
    task = stopped(decs, cluster, run(decs, cluster, td))
    assert task["stoppedReason"].startswith("ResourceInitializationError:")
    assert secret in task["stoppedReason"]


def test_service_keeps_three_containers_when_one_is_killed(decs, cluster):
    td = register(decs, [{"name": "app", "command": ["sleep", "600"]}])
    svc = unique("svc")
    decs.create_service(cluster=cluster, serviceName=svc, taskDefinition=td, desiredCount=3,
                        launchType="EC2")
    decs.get_waiter("services_stable").wait(cluster=cluster, services=[svc],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    before = set(decs.list_tasks(cluster=cluster, serviceName=svc)["taskArns"])
    assert len(before) == 3
    assert all(len(containers_of(a, all_=False)) == 1 for a in before)
    victim = sorted(before)[0]
    docker("kill", containers_of(victim, all_=False)[0])
    stopped(decs, cluster, victim)
    deadline = time.monotonic() + 60
    while True:
        now = set(decs.list_tasks(cluster=cluster, serviceName=svc,
                                  desiredStatus="RUNNING")["taskArns"])
        live = [a for a in now if decs.describe_tasks(cluster=cluster, tasks=[a])["tasks"][0]["lastStatus"] == "RUNNING"]
        if len(live) == 3 and victim not in now:
            break
        assert time.monotonic() < deadline, f"service did not recover: {now}"
        time.sleep(0.5)
    assert len(now - before) == 1  # exactly one replacement, with a new task ARN

    # A new revision replaces every container.
    td2 = register(decs, [{"name": "app", "command": ["sleep", "601"]}],
                   family=td.split("/")[-1].split(":")[0])
    decs.update_service(cluster=cluster, service=svc, taskDefinition=td2)
    decs.get_waiter("services_stable").wait(cluster=cluster, services=[svc],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    tasks = decs.list_tasks(cluster=cluster, serviceName=svc, desiredStatus="RUNNING")["taskArns"]
    assert len(tasks) == 3 and not set(tasks) & now
    for a in tasks:
        (cid,) = containers_of(a, all_=False)
        cmd = json.loads(docker("inspect", "--format", "{{json .Config.Cmd}}", cid))
        assert cmd == ["sleep", "601"]
    # The old tasks drain after the deployment is steady; their containers then go.
    for a in now:
        stopped(decs, cluster, a)
        assert containers_of(a) == []
    decs.delete_service(cluster=cluster, service=svc, force=True)


def test_bridge_dynamic_host_port_answers_http(decs, cluster):
    td = register(decs, [{
        "name": "web", "command": ["sh", "-c", "echo hello-bridge > /index.html; httpd -f -p 8080 -h /"],
        "portMappings": [{"containerPort": 8080, "hostPort": 0}],
    }], networkMode="bridge")
    arn = run(decs, cluster, td)
    task = running(decs, cluster, arn)
    (b,) = task["containers"][0]["networkBindings"]
    assert b["containerPort"] == 8080 and 49153 <= b["hostPort"] <= 65535
    assert b["bindIP"] == "127.0.0.1" and b["protocol"] == "tcp"
    assert http_get(f"http://127.0.0.1:{b['hostPort']}/index.html").strip() == "hello-bridge"
    decs.stop_task(cluster=cluster, task=arn)
    stopped(decs, cluster, arn)


def test_awsvpc_containers_share_localhost_and_the_task_answers_on_its_ip(decs, cluster):
    td = register(decs, [
        {"name": "web", "command": ["sh", "-c", "echo hello-vpc > /index.html; httpd -f -p 8080 -h /"],
         "portMappings": [{"containerPort": 8080}]},
        {"name": "probe", "essential": False,
         "command": ["sh", "-c", "for i in $(seq 50); do wget -q -O /tmp/o http://127.0.0.1:8080/index.html && grep -q hello-vpc /tmp/o && exit 0; sleep 0.2; done; exit 7"]},
    ], networkMode="awsvpc", cpu="256", memory="256")
    arn = run(decs, cluster, td, networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    task = running(decs, cluster, arn)
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    ip = details["privateIPv4Address"]
    web = next(c for c in task["containers"] if c["name"] == "web")
    assert web["networkInterfaces"][0]["privateIpv4Address"] == ip
    assert http_get(f"http://{ip}:8080/index.html").strip() == "hello-vpc"
    task = wait_task(decs, cluster, arn,
                     lambda t: any(c["name"] == "probe" and c.get("exitCode") is not None
                                   for c in t["containers"]), what="probe exit")
    probe = next(c for c in task["containers"] if c["name"] == "probe")
    assert probe["exitCode"] == 0
    assert task["lastStatus"] == "RUNNING"  # a non-essential exit leaves the task running
    decs.stop_task(cluster=cluster, task=arn)
    stopped(decs, cluster, arn)
    assert containers_of(arn) == []  # the pause container too


def test_depends_on_healthy_waits_for_the_health_check(decs, cluster):
    td = register(decs, [
        {"name": "db", "command": ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 300"],
         "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5,
                         "timeout": 2, "retries": 3, "startPeriod": 0}},
        {"name": "app", "command": ["sleep", "300"],
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
    ])
    arn = run(decs, cluster, td)
    early = wait_task(decs, cluster, arn,
                      lambda t: any(c["name"] == "db" and c["lastStatus"] == "RUNNING"
                                    for c in t["containers"]), what="db running")
    app = next(c for c in early["containers"] if c["name"] == "app")
    assert app["lastStatus"] == "PENDING" and early["lastStatus"] == "PENDING"
    task = running(decs, cluster, arn, timeout=60)
    db = next(c for c in task["containers"] if c["name"] == "db")
    assert db["healthStatus"] == "HEALTHY"
    assert task["healthStatus"] == "HEALTHY"
    decs.stop_task(cluster=cluster, task=arn)
    stopped(decs, cluster, arn)


def test_memory_limit_exceeded_is_out_of_memory_error(decs, cluster):
    td = register(decs, [{"name": "hog", "memory": 8,
                          "command": ["sh", "-c", "tail /dev/zero"]}])
    task = stopped(decs, cluster, run(decs, cluster, td))
    c = task["containers"][0]
    assert c["reason"].startswith("OutOfMemoryError: Container killed due to memory usage")
    assert c["exitCode"] == 137
    assert task["stoppedReason"].startswith("OutOfMemoryError")


def test_metadata_credentials_and_awslogs_from_inside_the_container(dberth, decs, dlogs, cluster):
    group = f"/berth/{unique('lg')}"
    role = "arn:aws:iam::000000000000:role/app-task-role"
    script = ("echo line-one; echo line-two >&2; "
              "wget -q -O /tmp/task $ECS_CONTAINER_METADATA_URI_V4/task && cat /tmp/task; echo; "
              # A second berth on the machine cannot have 169.254.170.2:80: its tasks get the full URI.
              "wget -q -O /tmp/creds ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI} && cat /tmp/creds; echo; "
              "wget -q -O /tmp/stats $ECS_CONTAINER_METADATA_URI_V4/stats && cat /tmp/stats; echo")
    td = register(decs, [logged_shell(script, group)], taskRoleArn=role)
    arn = run(decs, cluster, td)
    task = stopped(decs, cluster, arn)
    assert task["containers"][0]["exitCode"] == 0, task
    stream = f"ecs/app/{arn.split('/')[-1]}"
    lines = log_lines(dlogs, group, stream, lambda ls: len(ls) >= 5)
    assert lines[:2] == ["line-one", "line-two"] or set(lines[:2]) == {"line-one", "line-two"}
    meta = json.loads(next((l for l in lines if l.startswith("{") and "TaskARN" in l), f"no metadata in {lines}"))
    assert meta["TaskARN"] == arn
    assert meta["Containers"][0]["Name"] == "app"
    creds = json.loads(next(l for l in lines if "AccessKeyId" in l))
    assert creds["AccessKeyId"].startswith("ASIA") and creds["RoleArn"] == role
    assert creds["SecretAccessKey"] and creds["Token"] and creds["Expiration"]
    stats = json.loads(next(l for l in lines if "memory_stats" in l))
    assert "cpu_stats" in stats and stats["memory_stats"].get("limit", 0) > 0
    # The same lines through the AWS CLI, as a user reads them.
    out = cli(dberth, "get-log-events", "--log-group-name", group, "--log-stream-name", stream,
              "--start-from-head", service="logs")
    assert [e["message"] for e in out["events"]][:len(lines)] == lines


# A PUT from inside a container with busybox alone: nc speaking HTTP/1.0 to $ECS_AGENT_URI
# (its input stays open until the answer is in: busybox nc quits at the end of its input).
PROTECTION_SCRIPT = (
    "u=${ECS_AGENT_URI#http://}; hp=${u%%/*}; p=/${u#*/}/task-protection/v1/state; "
    "h=${hp%:*}; port=${hp##*:}; [ \"$port\" = \"$hp\" ] && port=80; "
    "body='{\"ProtectionEnabled\":true,\"ExpiresInMinutes\":60}'; "
    "(printf 'PUT %s HTTP/1.0\\r\\nHost: %s\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "
    "\"$p\" \"$hp\" ${#body} \"$body\"; sleep 3) | nc $h $port | tail -n 1; echo; "
    "wget -q -O - http://$hp$p; echo; sleep 600")


def test_task_protection_from_inside_the_container(decs, dlogs, cluster):
    group = f"/berth/{unique('tp')}"
    role = "arn:aws:iam::000000000000:role/app-task-role"
    td = register(decs, [logged_shell(PROTECTION_SCRIPT, group)], taskRoleArn=role)
    svc = unique("tp")
    decs.create_service(cluster=cluster, serviceName=svc, taskDefinition=td, desiredCount=1,
                        launchType="EC2")
    deadline = time.monotonic() + 60
    while not (arns := decs.list_tasks(cluster=cluster, serviceName=svc)["taskArns"]):
        assert time.monotonic() < deadline, "no task"
        time.sleep(0.5)
    arn = arns[0]
    lines = log_lines(dlogs, group, f"ecs/app/{arn.split('/')[-1]}", lambda ls: len(ls) >= 2)
    assert len(lines) >= 2 and all(l.startswith("{") for l in lines[:2]), lines
    put, got = (json.loads(l) for l in lines[:2])
    assert put["protection"]["ProtectionEnabled"] is True, put
    assert put["protection"]["TaskArn"] == arn
    assert put["protection"]["ExpirationDate"].endswith("Z")
    assert got == put, (got, put)
    # The agent called ECS for the task: the API sees the protection.
    seen = decs.get_task_protection(cluster=cluster, tasks=[arn])["protectedTasks"][0]
    assert seen["protectionEnabled"] is True
    decs.update_service(cluster=cluster, service=svc, desiredCount=0)
    decs.delete_service(cluster=cluster, service=svc, force=True)

    # A standalone task: ECS's failure, answered 200 as the agent does; no role: 403.
    arn = run(decs, cluster, td)
    stream = f"ecs/app/{arn.split('/')[-1]}"
    failure = json.loads(log_lines(dlogs, group, stream, lambda ls: len(ls) >= 1)[0])
    assert failure["failure"]["Reason"] == "TASK_NOT_VALID" and failure["failure"]["Arn"] == arn
    decs.stop_task(cluster=cluster, task=arn)
    bare = register(decs, [logged_shell(PROTECTION_SCRIPT, group)])
    arn = run(decs, cluster, bare)
    stream = f"ecs/app/{arn.split('/')[-1]}"
    denied = json.loads(log_lines(dlogs, group, stream, lambda ls: len(ls) >= 1)[0])
    assert denied["error"]["Code"] == "AccessDeniedException", denied
    decs.stop_task(cluster=cluster, task=arn)


def test_awslogs_missing_group_without_create_fails_like_aws(decs, cluster):
    td = register(decs, [{
        "name": "app", "command": ["true"],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/berth/{unique('absent')}", "awslogs-region": REGION,
            "awslogs-stream-prefix": "ecs"}},
    }])
    task = stopped(decs, cluster, run(decs, cluster, td))
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: failed to validate logger args:"), task["stoppedReason"]
    assert task["stopCode"] == "TaskFailedToStart"


def test_host_mode_port_conflict_is_resource_ports(decs, cluster):
    td = register(decs, [{"name": "web", "command": ["sh", "-c", "echo host-mode > /index.html; httpd -f -p 127.0.0.1:18734 -h /"],
                          "portMappings": [{"containerPort": 18734, "hostPort": 18734}]}],
                  networkMode="host")
    first = run(decs, cluster, td)
    running(decs, cluster, first)
    assert http_get("http://127.0.0.1:18734/index.html").strip() == "host-mode"
    resp = decs.run_task(cluster=cluster, taskDefinition=td, launchType="EC2")
    assert resp["tasks"] == [] and resp["failures"][0]["reason"] == "RESOURCE:PORTS"
    decs.stop_task(cluster=cluster, task=first)
    stopped(decs, cluster, first)


def test_network_mode_none_has_no_network(decs, cluster):
    td = register(decs, [{"name": "app", "command": ["sh", "-c", "ip -o link | grep -v ' lo:' && exit 9; exit 0"]}],
                  networkMode="none")
    task = stopped(decs, cluster, run(decs, cluster, td))
    assert task["containers"][0]["exitCode"] == 0


# ---- service discovery with real containers ------------------------------------------------

@pytest.fixture(scope="module")
def dsd(dberth):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=REGION).client("servicediscovery",
                                                            endpoint_url=dberth.url,
                                                            config=_CONFIG)


@pytest.fixture(scope="module")
def ddns(dberth):
    """The docker berth's DNS servers: (host, port) for the host, and the tasks' address."""
    health = json.loads(urllib.request.urlopen(dberth.url + "/_berth/health", timeout=5).read())
    host, _, port = health["dns"]["host"].rpartition(":")
    return (host, int(port)), health["dns"]["tasks"]


def dns_a(addr, name: str) -> list[str]:
    import dns.message
    import dns.query
    response = dns.query.udp(dns.message.make_query(name, "A"), addr[0], port=addr[1], timeout=3)
    return sorted(r.to_text() for rrset in response.answer for r in rrset if rrset.rdtype == 1)


def private_namespace(dsd) -> tuple[str, str]:
    name = f"{unique('d')}.local"
    op = dsd.create_private_dns_namespace(Name=name, Vpc="vpc-docker")["OperationId"]
    deadline = time.monotonic() + 10
    while (o := dsd.get_operation(OperationId=op)["Operation"])["Status"] != "SUCCESS":
        assert time.monotonic() < deadline, o
        time.sleep(0.05)
    return o["Targets"]["NAMESPACE"], name


def test_awsvpc_service_tasks_resolve_from_the_host_by_name(decs, dsd, ddns, cluster):
    ns_id, ns_name = private_namespace(dsd)
    registry = dsd.create_service(Name="backend", NamespaceId=ns_id, DnsConfig={
        "DnsRecords": [{"Type": "A", "TTL": 10}]})["Service"]["Arn"]
    td = register(decs, [{"name": "web", "command": ["sleep", "300"],
                          "portMappings": [{"containerPort": 8080}]}],
                  networkMode="awsvpc", cpu="256", memory="256")
    name = unique("backend")
    decs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=3,
                        launchType="EC2", serviceRegistries=[{"registryArn": registry}],
                        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})

    def task_ips():
        arns = decs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
        tasks = decs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return sorted(d["value"] for t in tasks if t["lastStatus"] == "RUNNING"
                      for d in t["attachments"][0]["details"] if d["name"] == "privateIPv4Address")

    deadline = time.monotonic() + 60
    while len(ips := task_ips()) < 3 or dns_a(ddns[0], f"backend.{ns_name}") != ips:
        assert time.monotonic() < deadline, (ips, dns_a(ddns[0], f"backend.{ns_name}"))
        time.sleep(0.2)
    # A task that stops leaves the answers within a second.
    victim = decs.list_tasks(cluster=cluster, serviceName=name)["taskArns"][0]
    gone = [d["value"] for d in decs.describe_tasks(cluster=cluster, tasks=[victim])["tasks"][0]
            ["attachments"][0]["details"] if d["name"] == "privateIPv4Address"][0]
    decs.stop_task(cluster=cluster, task=victim)
    stop_asked = time.monotonic()
    while gone in dns_a(ddns[0], f"backend.{ns_name}"):
        assert time.monotonic() - stop_asked < 1.0, "the stopped task still answers"
        time.sleep(0.02)
    decs.update_service(cluster=cluster, service=name, desiredCount=0)
    decs.delete_service(cluster=cluster, service=name)


def test_a_task_reaches_another_service_by_name_and_resolves_outside_names(
        decs, dlogs, dsd, ddns, cluster):
    if not ddns[1]:
        msg = "berth could not serve DNS to tasks (169.254.170.2:53 needs root)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    ns_id, ns_name = private_namespace(dsd)
    registry = dsd.create_service(Name="backend", NamespaceId=ns_id, DnsConfig={
        "DnsRecords": [{"Type": "A", "TTL": 5}]})["Service"]["Arn"]
    server = register(decs, [{
        "name": "web", "command": ["sh", "-c", "echo hello-by-name > /index.html; httpd -f -p 80 -h /"],
        "portMappings": [{"containerPort": 80}]}], networkMode="awsvpc", cpu="256", memory="256")
    name = unique("srv")
    decs.create_service(cluster=cluster, serviceName=name, taskDefinition=server, desiredCount=1,
                        launchType="EC2", serviceRegistries=[{"registryArn": registry}],
                        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    deadline = time.monotonic() + 60
    while not dns_a(ddns[0], f"backend.{ns_name}"):
        assert time.monotonic() < deadline, "the backend registered"
        time.sleep(0.2)
    group = f"/berth/{unique('dns')}"
    # The test image's static busybox has no NSS for wget's own lookups (it crashes), so the
    # client resolves with nslookup, as a resolver would, and fetches from the address found.
    script = (f"nslookup backend.{ns_name} > /tmp/ns; cat /tmp/ns; "
              "ip=$(awk '/^Address: /{print $2}' /tmp/ns | tail -1); "
              "timeout 5 wget -q -O - http://$ip/index.html; "
              "nslookup deb.debian.org; echo done")
    for mode in ("awsvpc", "bridge"):
        kw = {"cpu": "256", "memory": "256"} if mode == "awsvpc" else {}
        client = register(decs, [logged_shell(script, group)], networkMode=mode, **kw)
        run_kw = ({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}
                  if mode == "awsvpc" else {})
        arn = run(decs, cluster, client, **run_kw)
        stopped(decs, cluster, arn)
        lines = log_lines(dlogs, group, f"ecs/app/{arn.rsplit('/', 1)[1]}",
                          lambda ls: "done" in ls)
        text = "\n".join(lines)
        # berth's namespace and, forwarded to the host's resolver, an outside name.
        assert f"Name:\tbackend.{ns_name}" in text, f"{mode}: {text}"
        assert "Name:\tdeb.debian.org" in text, f"{mode}: {text}"
        if mode == "awsvpc":
            # Tasks of a cluster share its network, as they share a VPC; a bridge task sits on
            # Docker's default bridge, which Docker isolates from it.
            assert "hello-by-name" in text, f"{mode}: {text}"
    decs.update_service(cluster=cluster, service=name, desiredCount=0)
    decs.delete_service(cluster=cluster, service=name)


def test_a_taken_endpoint_address_is_logged_as_the_address_used(dberth, own_berth):
    # Another process holds the task endpoints' port: berth takes a free one on the same
    # address and says which, as an address (not a Rust Result).
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with own_berth("--executor", "docker", "--metadata-bind", f"127.0.0.1:{taken}") as server:
            log = server.log_text()
    line = next((l for l in log.splitlines() if "is taken" in l), f"no such line in {log}")
    assert re.search(r"task endpoints use 127\.0\.0\.1:\d+$", line), line
    assert "Ok(" not in line, line


def test_two_services_talk_through_a_service_connect_alias(decs, dlogs, ddns, cluster):
    if not ddns[1]:
        msg = "berth could not serve DNS to tasks (169.254.170.2:53 needs root)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    namespace = unique("conn")
    sc_cluster = unique("sc")
    decs.create_cluster(clusterName=sc_cluster, serviceConnectDefaults={"namespace": namespace})
    server = register(decs, [{
        "name": "web", "command": ["sh", "-c", "echo hello-connect > /index.html; httpd -f -p 80 -h /"],
        "portMappings": [{"name": "http", "containerPort": 80}]}],
        networkMode="awsvpc", cpu="256", memory="256")
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    alias = f"backend.{namespace}"
    decs.create_service(cluster=sc_cluster, serviceName="backend", taskDefinition=server,
                        desiredCount=2, launchType="EC2", networkConfiguration=network,
                        serviceConnectConfiguration={"enabled": True, "services": [{
                            "portName": "http", "discoveryName": "backend",
                            "clientAliases": [{"port": 80, "dnsName": alias}]}]})
    deadline = time.monotonic() + 60
    while len(dns_a(ddns[0], alias)) < 2:
        assert time.monotonic() < deadline, "the alias answers both tasks"
        time.sleep(0.2)
    group = f"/berth/{unique('conn')}"
    script = (f"nslookup {alias} > /tmp/ns; cat /tmp/ns; "
              "ip=$(awk '/^Address: /{print $2}' /tmp/ns | tail -1); "
              "timeout 5 wget -q -O - http://$ip/index.html; echo done")
    client = register(decs, [logged_shell(script, group)], networkMode="awsvpc",
                      cpu="256", memory="256")
    arn = run(decs, sc_cluster, client, networkConfiguration=network)
    stopped(decs, sc_cluster, arn)
    text = "\n".join(log_lines(dlogs, group, f"ecs/app/{arn.rsplit('/', 1)[1]}",
                               lambda ls: "done" in ls))
    assert f"Name:\t{alias}" in text and "hello-connect" in text, text
    decs.update_service(cluster=sc_cluster, service="backend", desiredCount=0)
    decs.delete_service(cluster=sc_cluster, service="backend")


def test_a_bridge_service_answers_srv_with_its_dynamic_host_ports(decs, dsd, ddns, cluster):
    import dns.message
    import dns.query
    ns_id, ns_name = private_namespace(dsd)
    registry = dsd.create_service(Name="api", NamespaceId=ns_id, DnsConfig={
        "DnsRecords": [{"Type": "SRV", "TTL": 10}]})["Service"]["Arn"]
    td = register(decs, [{
        "name": "web", "command": ["sh", "-c", "echo hello-srv > /index.html; httpd -f -p 8080 -h /"],
        "portMappings": [{"containerPort": 8080, "hostPort": 0}]}], networkMode="bridge")
    name = unique("srv")
    decs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=2,
                        launchType="EC2", serviceRegistries=[{
                            "registryArn": registry, "containerName": "web",
                            "containerPort": 8080}])

    def host_ports():
        arns = decs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
        tasks = decs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return sorted(b["hostPort"] for t in tasks if t["lastStatus"] == "RUNNING"
                      for c in t["containers"] for b in c.get("networkBindings", []))

    def srv():
        q = dns.message.make_query(f"api.{ns_name}", "SRV")
        r = dns.query.udp(q, ddns[0][0], port=ddns[0][1], timeout=3)
        return sorted((rd.port, rd.target.to_text()) for rrset in r.answer for rd in rrset)

    deadline = time.monotonic() + 60
    while len(ports := host_ports()) < 2 or [p for p, _ in srv()] != ports:
        assert time.monotonic() < deadline, (ports, srv())
        time.sleep(0.2)
    assert all(49153 <= p <= 65535 for p in ports)
    # Each SRV target resolves to the host, where the port answers.
    for port, target in srv():
        assert dns_a(ddns[0], target) == ["127.0.0.1"]
        assert http_get(f"http://127.0.0.1:{port}/index.html").strip() == "hello-srv"
    decs.update_service(cluster=cluster, service=name, desiredCount=0)
    decs.delete_service(cluster=cluster, service=name)
