"""ECS services with `serviceRegistries`, on the in-memory executor: their tasks appear in Cloud
Map and in DNS with ECS's attributes while they run, and leave when they stop; CreateService
checks the registries as ECS does."""

from __future__ import annotations

import time

import pytest

from berth_helpers import REGION, raises_code, unique
from test_cloudmap import answers, dns_service, private_namespace, query


@pytest.fixture(scope="module")
def sd(aws_client, endpoint):
    # DiscoverInstances goes to a data- host unless the prefix is turned off.
    import boto3
    from botocore.config import Config
    return boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t",
                                 region_name=REGION).client(
        "servicediscovery", endpoint_url=endpoint,
        config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def dns_addr(raw):
    host, _, port = raw.request("GET", "/_berth/health").json()["dns"]["host"].rpartition(":")
    return host, int(port)


@pytest.fixture(scope="module")
def cluster(ecs):
    name = unique("sd")
    ecs.create_cluster(clusterName=name)
    return name


def eventually(fn, cond, timeout: float = 10.0, what: str = "condition"):
    """Polls `fn` until `cond` holds of its value; an AWS error counts as not yet (a namespace
    that Cloud Map is still creating)."""
    from botocore.exceptions import ClientError
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except ClientError as e:
            value = e
        if not isinstance(value, ClientError) and cond(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s: {value!r}")
        time.sleep(0.05)


def task_ips(ecs, cluster: str, service: str) -> list[str]:
    arns = ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    return sorted(d["value"] for t in tasks if t["lastStatus"] == "RUNNING"
                  for a in t.get("attachments", []) for d in a["details"]
                  if d["name"] == "privateIPv4Address")


def awsvpc_definition(ecs, family: str) -> str:
    return ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "busybox",
                               "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def test_running_tasks_are_instances_and_answer_in_dns(ecs, sd, dns_addr, cluster):
    ns_id, ns_name = private_namespace(sd)
    registry = sd.create_service(
        Name="backend", NamespaceId=ns_id,
        DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]},
        HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]
    td = awsvpc_definition(ecs, unique("backend"))
    name = unique("backend")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=3,
                       launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       serviceRegistries=[{"registryArn": registry["Arn"]}])
    ips = eventually(lambda: task_ips(ecs, cluster, name), lambda v: len(v) == 3,
                     what="three running tasks")
    response = eventually(lambda: query(dns_addr, f"backend.{ns_name}"),
                          lambda r: answers(r) == ips, what="the tasks' IPs in DNS")
    assert answers(response) == ips
    instances = sd.list_instances(ServiceId=registry["Id"])["Instances"]
    task_ids = sorted(a.rsplit("/", 1)[1]
                      for a in ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"])
    assert sorted(i["Id"] for i in instances) == task_ids
    attrs = instances[0]["Attributes"]
    assert attrs["ECS_SERVICE_NAME"] == name and attrs["ECS_CLUSTER_NAME"] == cluster
    assert attrs["REGION"] == REGION and attrs["AVAILABILITY_ZONE"].startswith(REGION)
    assert attrs["ECS_TASK_DEFINITION_FAMILY"] and attrs["AWS_INSTANCE_IPV4"] in ips

    # A task that is stopped leaves DNS at once, before its containers are gone.
    victim = ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"][0]
    victim_ip = [d["value"] for d in ecs.describe_tasks(cluster=cluster, tasks=[victim])
                 ["tasks"][0]["attachments"][0]["details"] if d["name"] == "privateIPv4Address"][0]
    ecs.stop_task(cluster=cluster, task=victim)
    eventually(lambda: answers(query(dns_addr, f"backend.{ns_name}")),
               lambda a: victim_ip not in a, timeout=1.0, what="the stopped task out of DNS")
    # Its replacement joins.
    eventually(lambda: len(answers(query(dns_addr, f"backend.{ns_name}"))), lambda n: n == 3,
               what="three tasks in DNS again")
    # Scaling to zero empties the service; then it can be deleted.
    ecs.update_service(cluster=cluster, service=name, desiredCount=0)
    eventually(lambda: sd.list_instances(ServiceId=registry["Id"])["Instances"], lambda i: not i,
               what="no instances")
    ecs.delete_service(cluster=cluster, service=name)


def test_bridge_tasks_register_srv_with_their_host_ports(ecs, sd, dns_addr, cluster):
    ns_id, ns_name = private_namespace(sd)
    registry = dns_service(sd, ns_id, name="api", records=("SRV",))
    registry_arn = sd.get_service(Id=registry)["Service"]["Arn"]
    td = ecs.register_task_definition(
        family=unique("api"), networkMode="bridge",
        containerDefinitions=[{"name": "web", "image": "busybox", "memory": 64,
                               "portMappings": [{"containerPort": 80, "hostPort": 0}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    name = unique("api")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=1,
                       launchType="EC2",
                       serviceRegistries=[{"registryArn": registry_arn, "containerName": "web",
                                           "containerPort": 80}])

    def host_port():
        arns = ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return [b["hostPort"] for t in tasks for c in t["containers"]
                for b in c.get("networkBindings", []) if t["lastStatus"] == "RUNNING"]

    ports = eventually(host_port, lambda p: len(p) == 1, what="a running task with a host port")
    srv = eventually(lambda: answers(query(dns_addr, f"api.{ns_name}", "SRV"), "SRV"),
                     lambda a: len(a) == 1, what="the SRV record")
    priority, weight, port, target = srv[0].split()
    assert int(port) == ports[0] and (priority, weight) == ("1", "1")
    assert answers(query(dns_addr, target)) == ["127.0.0.1"]
    ecs.update_service(cluster=cluster, service=name, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=name)


def test_create_service_checks_its_registries(ecs, sd, cluster):
    ns_id, _ = private_namespace(sd)
    a_only = sd.get_service(Id=dns_service(sd, ns_id, name="a"))["Service"]["Arn"]
    srv = sd.get_service(Id=dns_service(sd, ns_id, name="s", records=("SRV",)))["Service"]["Arn"]
    td = awsvpc_definition(ecs, unique("check"))
    base = dict(cluster=cluster, taskDefinition=td, desiredCount=0, launchType="FARGATE",
                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    missing = a_only.replace(a_only.rsplit("/", 1)[1], "srv-doesnotexist000")
    with raises_code("InvalidParameterException"):
        ecs.create_service(serviceName=unique("x"), **base,
                           serviceRegistries=[{"registryArn": missing}])
    with raises_code("InvalidParameterException"):  # an A record takes no port
        ecs.create_service(serviceName=unique("x"), **base,
                           serviceRegistries=[{"registryArn": a_only, "port": 8080}])
    with raises_code("InvalidParameterException"):  # SRV needs one
        ecs.create_service(serviceName=unique("x"), **base,
                           serviceRegistries=[{"registryArn": srv}])
    with raises_code("InvalidParameterException"):  # the container has no such port
        ecs.create_service(serviceName=unique("x"), **base, serviceRegistries=[
            {"registryArn": srv, "containerName": "app", "containerPort": 9}])
    ok = ecs.create_service(serviceName=unique("x"), **base, serviceRegistries=[
        {"registryArn": srv, "containerName": "app", "containerPort": 8080}])["service"]
    assert ok["serviceRegistries"][0]["registryArn"] == srv


# ---- Service Connect ---------------------------------------------------------------------------

def test_service_connect_namespaces_by_name_are_cloud_map_namespaces(ecs, sd):
    name = unique("sc")
    cluster = ecs.create_cluster(clusterName=name,
                                 serviceConnectDefaults={"namespace": name})["cluster"]
    arn = cluster["serviceConnectDefaults"]["namespace"]
    ns_id = arn.rsplit("/", 1)[1]
    assert ns_id.startswith("ns-"), arn
    ns = eventually(lambda: sd.list_namespaces(Filters=[{"Name": "NAME", "Values": [name]}])
                    ["Namespaces"], lambda n: n, what="the namespace ECS created")
    assert ns[0]["Id"] == ns_id and ns[0]["Type"] == "HTTP" and ns[0]["Arn"] == arn
    # A name that exists is that namespace, not a new one.
    other = ecs.create_cluster(clusterName=unique("sc2"),
                               serviceConnectDefaults={"namespace": name})["cluster"]
    assert other["serviceConnectDefaults"]["namespace"] == arn


def test_service_connect_registers_tasks_and_answers_client_aliases(ecs, sd, dns_addr):
    name = unique("sc")
    ecs.create_cluster(clusterName=name, serviceConnectDefaults={"namespace": name})
    td = ecs.register_task_definition(
        family=unique("sc"), networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "busybox", "portMappings": [
            {"name": "http", "containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    with raises_code("InvalidParameterException"):
        ecs.create_service(cluster=name, serviceName="bad", taskDefinition=td, desiredCount=0,
                           launchType="FARGATE", networkConfiguration=network,
                           serviceConnectConfiguration={"enabled": True, "services": [
                               {"portName": "nope"}]})
    svc = ecs.create_service(
        cluster=name, serviceName="backend", taskDefinition=td, desiredCount=2,
        launchType="FARGATE", networkConfiguration=network,
        serviceConnectConfiguration={"enabled": True, "services": [{
            "portName": "http", "discoveryName": "backend",
            "clientAliases": [{"port": 8080, "dnsName": f"backend.{name}"}]}]})["service"]
    deployment = svc["deployments"][0]
    assert deployment["serviceConnectConfiguration"]["namespace"].endswith(":namespace/" + (
        ecs.describe_clusters(clusters=[name])["clusters"][0]["serviceConnectDefaults"]
        ["namespace"].rsplit("/", 1)[1]))
    ips = eventually(lambda: task_ips(ecs, name, "backend"), lambda v: len(v) == 2,
                     what="two running tasks")
    # Clients in the namespace reach the alias: it answers the tasks' addresses.
    eventually(lambda: answers(query(dns_addr, f"backend.{name}")), lambda a: a == ips,
               what="the client alias in DNS")
    # The discovery name is a Cloud Map service of the namespace with the tasks as instances.
    found = eventually(
        lambda: sd.discover_instances(NamespaceName=name, ServiceName="backend")["Instances"],
        lambda i: len(i) == 2, what="the tasks in Cloud Map")
    assert sorted(i["Attributes"]["AWS_INSTANCE_IPV4"] for i in found) == ips
    assert {i["Attributes"]["AWS_INSTANCE_PORT"] for i in found} == {"8080"}
