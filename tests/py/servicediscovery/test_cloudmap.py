"""AWS Cloud Map through boto3 and the AWS CLI: namespaces and their operations, services,
instances, discovery, attributes, tags and errors; and what berth's DNS server answers for
them, queried with dnspython as any resolver would."""

from __future__ import annotations

import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from botocore.config import Config

from berth_helpers import ACCOUNT, REGION, raises_code, unique


@pytest.fixture(scope="module")
def sd(aws_client):
    return aws_client("servicediscovery")


@pytest.fixture(scope="module")
def dns_addr(raw):
    host, _, port = raw.request("GET", "/_berth/health").json()["dns"]["host"].rpartition(":")
    return host, int(port)


def query(dns_addr, name: str, rdtype: str = "A", tcp: bool = False):
    q = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(q, dns_addr[0], port=dns_addr[1], timeout=3)


def answers(response, rdtype: str = "A") -> list[str]:
    return sorted(
        rdata.to_text()
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.from_text(rdtype)
        for rdata in rrset
    )


def settled_query(dns_addr, name: str, rdtype: str, cond, timeout: float = 1.0):
    """Queries until `cond(response)` holds: DNS follows the API within the reconcile loop's
    next pass (tens of milliseconds), not within the API call."""
    deadline = time.monotonic() + timeout
    while True:
        response = query(dns_addr, name, rdtype)
        if cond(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


def wait_operation(sd, op_id: str, timeout: float = 10) -> dict:
    """Polls GetOperation until it is done, as Terraform and the CDK do."""
    deadline = time.monotonic() + timeout
    while True:
        op = sd.get_operation(OperationId=op_id)["Operation"]
        if op["Status"] in ("SUCCESS", "FAIL") or time.monotonic() > deadline:
            return op
        time.sleep(0.05)


def private_namespace(sd, name: str | None = None, vpc: str = "vpc-berth") -> tuple[str, str]:
    name = name or f"{unique('ns')}.local"
    op = sd.create_private_dns_namespace(Name=name, Vpc=vpc)["OperationId"]
    done = wait_operation(sd, op)
    assert done["Status"] == "SUCCESS", done
    return done["Targets"]["NAMESPACE"], name


def dns_service(sd, ns_id: str, name: str = "web", records=("A",), routing="MULTIVALUE",
                custom_health: bool = False) -> str:
    kwargs = {}
    if custom_health:
        kwargs["HealthCheckCustomConfig"] = {"FailureThreshold": 1}
    return sd.create_service(
        Name=name, NamespaceId=ns_id,
        DnsConfig={"RoutingPolicy": routing,
                   "DnsRecords": [{"Type": t, "TTL": 10} for t in records]},
        **kwargs)["Service"]["Id"]


# ---- namespaces and operations ----------------------------------------------------------------

def test_namespace_creation_is_an_operation_that_moves_to_success(sd):
    name = unique("apps")
    op_id = sd.create_http_namespace(Name=name, Description="apps")["OperationId"]
    first = sd.get_operation(OperationId=op_id)["Operation"]
    assert first["Status"] in ("SUBMITTED", "PENDING"), first
    assert first["Type"] == "CREATE_NAMESPACE"
    ns_id = first["Targets"]["NAMESPACE"]
    # Until the operation succeeds the namespace does not exist.
    with raises_code("NamespaceNotFound"):
        sd.get_namespace(Id=ns_id)
    done = wait_operation(sd, op_id)
    assert done["Status"] == "SUCCESS"
    assert done["UpdateDate"] >= done["CreateDate"]
    ns = sd.get_namespace(Id=ns_id)["Namespace"]
    assert ns["Name"] == name and ns["Type"] == "HTTP" and ns["Description"] == "apps"
    assert ns["Arn"] == f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/{ns_id}"
    assert ns["Properties"]["HttpProperties"]["HttpName"] == name
    listed = sd.list_operations(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns_id],
                                          "Condition": "EQ"}])["Operations"]
    assert listed == [{"Id": op_id, "Status": "SUCCESS"}]


def test_private_dns_namespace_has_a_hosted_zone_and_soa(sd):
    ns_id, name = private_namespace(sd)
    ns = sd.get_namespace(Id=ns_id)["Namespace"]
    assert ns["Type"] == "DNS_PRIVATE"
    dns_props = ns["Properties"]["DnsProperties"]
    assert dns_props["HostedZoneId"].startswith("Z")
    assert dns_props["SOA"]["TTL"] == 15
    found = sd.list_namespaces(Filters=[{"Name": "NAME", "Values": [name], "Condition": "EQ"}])
    assert [n["Id"] for n in found["Namespaces"]] == [ns_id]
    op = sd.update_private_dns_namespace(
        Id=ns_id, Namespace={"Description": "d",
                             "Properties": {"DnsProperties": {"SOA": {"TTL": 60}}}})
    assert wait_operation(sd, op["OperationId"])["Type"] == "UPDATE_NAMESPACE"
    ns = sd.get_namespace(Id=ns_id)["Namespace"]
    assert ns["Description"] == "d" and ns["Properties"]["DnsProperties"]["SOA"]["TTL"] == 60


def test_a_second_private_namespace_of_the_same_name_in_the_vpc_fails(sd):
    _, name = private_namespace(sd, vpc="vpc-twice")
    op = sd.create_private_dns_namespace(Name=name, Vpc="vpc-twice")["OperationId"]
    failed = wait_operation(sd, op)
    assert failed["Status"] == "FAIL"
    assert failed["ErrorCode"] == "CANNOT_CREATE_HOSTED_ZONE" and failed["ErrorMessage"]


def test_namespace_errors(sd):
    name = unique("dup")
    wait_operation(sd, sd.create_http_namespace(Name=name)["OperationId"])
    with raises_code("NamespaceAlreadyExists"):
        sd.create_http_namespace(Name=name)
    with raises_code("NamespaceNotFound"):
        sd.get_namespace(Id="ns-doesnotexist000")
    with raises_code("OperationNotFound"):
        sd.get_operation(OperationId="nope")
    with raises_code("InvalidInput"):
        sd.create_http_namespace(Name="arn:aws:servicediscovery:bad")
    with raises_code("InvalidInput"):
        sd.list_namespaces(Filters=[{"Name": "TYPE", "Values": ["HTTP"], "Condition": "BETWEEN"}])


def test_deleting_a_namespace_in_use_fails_and_an_empty_one_goes(sd):
    ns_id, _ = private_namespace(sd)
    svc = dns_service(sd, ns_id)
    with raises_code("ResourceInUse"):
        sd.delete_namespace(Id=ns_id)
    sd.delete_service(Id=svc)
    op = sd.delete_namespace(Id=ns_id)["OperationId"]
    assert wait_operation(sd, op)["Status"] == "SUCCESS"
    with raises_code("NamespaceNotFound"):
        sd.get_namespace(Id=ns_id)


# ---- services, instances, discovery ------------------------------------------------------------

def test_service_lifecycle_with_attributes(sd):
    ns_id, _ = private_namespace(sd)
    svc = sd.create_service(
        Name="api", NamespaceId=ns_id, Description="the api",
        DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 30}]},
        HealthCheckCustomConfig={"FailureThreshold": 3})["Service"]
    assert svc["Type"] == "DNS_HTTP"
    assert svc["DnsConfig"]["RoutingPolicy"] == "MULTIVALUE"
    assert svc["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert svc["Arn"].endswith(f":service/{svc['Id']}")
    with raises_code("ServiceAlreadyExists"):
        sd.create_service(Name="api", NamespaceId=ns_id,
                          DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 30}]})
    listed = sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns_id]}])["Services"]
    assert [s["Id"] for s in listed] == [svc["Id"]]
    op = sd.update_service(Id=svc["Id"], Service={
        "Description": "new", "DnsConfig": {"DnsRecords": [{"Type": "SRV", "TTL": 5}]}})
    assert wait_operation(sd, op["OperationId"])["Type"] == "UPDATE_SERVICE"
    got = sd.get_service(Id=svc["Id"])["Service"]
    assert got["Description"] == "new" and got["DnsConfig"]["DnsRecords"][0]["TTL"] == 5
    sd.update_service_attributes(ServiceId=svc["Id"], Attributes={"team": "blue", "tier": "1"})
    sd.delete_service_attributes(ServiceId=svc["Id"], Attributes=["tier"])
    attrs = sd.get_service_attributes(ServiceId=svc["Id"])["ServiceAttributes"]
    assert attrs["Attributes"] == {"team": "blue"} and attrs["ServiceArn"] == svc["Arn"]
    sd.delete_service(Id=svc["Id"])
    with raises_code("ServiceNotFound"):
        sd.get_service(Id=svc["Id"])


def test_service_configuration_is_checked(sd):
    ns_id, _ = private_namespace(sd)
    http_op = sd.create_http_namespace(Name=unique("h"))["OperationId"]
    http_ns = wait_operation(sd, http_op)["Targets"]["NAMESPACE"]
    with raises_code("InvalidInput"):  # a CNAME needs WEIGHTED routing
        sd.create_service(Name="c", NamespaceId=ns_id,
                          DnsConfig={"DnsRecords": [{"Type": "CNAME", "TTL": 5}]})
    with raises_code("InvalidInput"):  # SRV and A do not combine
        sd.create_service(Name="c", NamespaceId=ns_id, DnsConfig={
            "DnsRecords": [{"Type": "SRV", "TTL": 5}, {"Type": "A", "TTL": 5}]})
    with raises_code("InvalidInput"):  # no DNS records in an HTTP namespace
        sd.create_service(Name="c", NamespaceId=http_ns,
                          DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]})
    with raises_code("InvalidInput"):  # Route 53 health checks are for public namespaces
        sd.create_service(Name="c", NamespaceId=ns_id,
                          DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]},
                          HealthCheckConfig={"Type": "HTTP", "ResourcePath": "/"})
    with raises_code("NamespaceNotFound"):
        sd.create_service(Name="c", NamespaceId="ns-doesnotexist000")


def test_instances_register_list_and_report_health(sd):
    ns_id, _ = private_namespace(sd)
    svc = dns_service(sd, ns_id, custom_health=True)
    op = sd.register_instance(ServiceId=svc, InstanceId="i-1",
                              Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "color": "blue"})
    done = wait_operation(sd, op["OperationId"])
    assert done["Type"] == "REGISTER_INSTANCE"
    assert done["Targets"] == {"SERVICE": svc, "INSTANCE": "i-1"}
    sd.register_instance(ServiceId=svc, InstanceId="i-2",
                         Attributes={"AWS_INSTANCE_IPV4": "10.0.0.2",
                                     "AWS_INIT_HEALTH_STATUS": "UNHEALTHY"})
    inst = sd.get_instance(ServiceId=svc, InstanceId="i-1")["Instance"]
    assert inst["Attributes"] == {"AWS_INSTANCE_IPV4": "10.0.0.1", "color": "blue"}
    listed = sd.list_instances(ServiceId=svc, MaxResults=1)
    assert len(listed["Instances"]) == 1 and listed["NextToken"]
    rest = sd.list_instances(ServiceId=svc, NextToken=listed["NextToken"])
    assert {i["Id"] for i in listed["Instances"] + rest["Instances"]} == {"i-1", "i-2"}
    health = sd.get_instances_health_status(ServiceId=svc)["Status"]
    assert health == {"i-1": "HEALTHY", "i-2": "UNHEALTHY"}
    sd.update_instance_custom_health_status(ServiceId=svc, InstanceId="i-2", Status="HEALTHY")
    assert sd.get_instances_health_status(ServiceId=svc, Instances=["i-2"])["Status"] == {
        "i-2": "HEALTHY"}
    assert sd.get_service(Id=svc)["Service"]["InstanceCount"] == 2
    sd.deregister_instance(ServiceId=svc, InstanceId="i-1")
    with raises_code("InstanceNotFound"):
        sd.get_instance(ServiceId=svc, InstanceId="i-1")
    with raises_code("InvalidInput"):  # an A record needs AWS_INSTANCE_IPV4
        sd.register_instance(ServiceId=svc, InstanceId="i-3", Attributes={"x": "y"})
    plain = dns_service(sd, ns_id, name="plain")
    sd.register_instance(ServiceId=plain, InstanceId="p", Attributes={"AWS_INSTANCE_IPV4": "1.2.3.4"})
    with raises_code("CustomHealthNotFound"):
        sd.update_instance_custom_health_status(ServiceId=plain, InstanceId="p", Status="HEALTHY")


def test_discover_instances_with_filters_and_revisions(aws_client, endpoint):
    # DiscoverInstances goes to a `data-` host; with the prefix turned off it reaches berth.
    import boto3
    sd = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t",
                               region_name=REGION).client(
        "servicediscovery", endpoint_url=endpoint,
        config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}))
    ns_id, name = private_namespace(sd)
    svc = dns_service(sd, ns_id, custom_health=True)
    for i, color in enumerate(["blue", "green", "blue"], start=1):
        sd.register_instance(ServiceId=svc, InstanceId=f"i-{i}",
                             Attributes={"AWS_INSTANCE_IPV4": f"10.0.0.{i}", "color": color})
    sd.update_instance_custom_health_status(ServiceId=svc, InstanceId="i-3", Status="UNHEALTHY")

    def ids(**kwargs):
        found = sd.discover_instances(NamespaceName=name, ServiceName="web", **kwargs)
        return sorted(i["InstanceId"] for i in found["Instances"])

    assert ids() == ["i-1", "i-2"]
    assert ids(HealthStatus="ALL") == ["i-1", "i-2", "i-3"]
    assert ids(HealthStatus="UNHEALTHY") == ["i-3"]
    assert ids(HealthStatus="ALL", QueryParameters={"color": "blue"}) == ["i-1", "i-3"]
    assert ids(OptionalParameters={"color": "green"}) == ["i-2"]
    assert ids(OptionalParameters={"color": "red"}) == ["i-1", "i-2"]
    assert ids(MaxResults=1) in (["i-1"], ["i-2"])
    found = sd.discover_instances(NamespaceName=name, ServiceName="web")
    assert found["Instances"][0]["NamespaceName"] == name
    assert found["Instances"][0]["HealthStatus"] == "HEALTHY"
    before = sd.discover_instances_revision(NamespaceName=name, ServiceName="web")
    assert before["InstancesRevision"] == found["InstancesRevision"]
    sd.deregister_instance(ServiceId=svc, InstanceId="i-2")
    after = sd.discover_instances_revision(NamespaceName=name, ServiceName="web")
    assert after["InstancesRevision"] > before["InstancesRevision"]
    with raises_code("NamespaceNotFound"):
        sd.discover_instances(NamespaceName="nope.example", ServiceName="web")
    with raises_code("ServiceNotFound"):
        sd.discover_instances(NamespaceName=name, ServiceName="nope")


def test_discover_instances_from_the_cli_with_host_prefixes_off(sd, aws_cli):
    ns_id, name = private_namespace(sd)
    svc = dns_service(sd, ns_id)
    sd.register_instance(ServiceId=svc, InstanceId="cli", Attributes={"AWS_INSTANCE_IPV4": "10.9.9.9"})
    code, out = aws_cli("discover-instances", "--namespace-name", name, "--service-name", "web",
                        service="servicediscovery",
                        env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"})
    assert code == 0, out
    assert [i["InstanceId"] for i in out["Instances"]] == ["cli"]
    # Without it the CLI goes to data-127.0.0.1, which resolves nowhere.
    code, out = aws_cli("discover-instances", "--namespace-name", name, "--service-name", "web",
                        service="servicediscovery")
    assert code != 0 and "data-" in out


def test_tags_on_namespaces_and_services(sd):
    name = unique("tagged")
    op = sd.create_http_namespace(Name=name, Tags=[{"Key": "team", "Value": "a"}])
    ns_id = wait_operation(sd, op["OperationId"])["Targets"]["NAMESPACE"]
    arn = sd.get_namespace(Id=ns_id)["Namespace"]["Arn"]
    assert sd.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    sd.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "ci"}])
    sd.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert sd.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "ci"}]
    with raises_code("TooManyTagsException"):
        sd.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with raises_code("ResourceNotFoundException"):
        sd.list_tags_for_resource(ResourceARN=arn.replace(ns_id, "ns-nothere00000000"))


def test_the_cli_drives_every_operation_group(sd, aws_cli):
    name = f"{unique('cli')}.local"
    code, out = aws_cli("create-private-dns-namespace", "--name", name, "--vpc", "vpc-cli",
                        service="servicediscovery")
    assert code == 0, out
    ns_id = wait_operation(sd, out["OperationId"])["Targets"]["NAMESPACE"]
    code, out = aws_cli("create-service", "--name", "db", "--namespace-id", ns_id, "--dns-config",
                        "RoutingPolicy=WEIGHTED,DnsRecords=[{Type=A,TTL=60}]",
                        service="servicediscovery")
    assert code == 0, out
    svc = out["Service"]["Id"]
    code, out = aws_cli("register-instance", "--service-id", svc, "--instance-id", "db1",
                        "--attributes", "AWS_INSTANCE_IPV4=10.5.5.5", service="servicediscovery")
    assert code == 0 and out["OperationId"], out
    code, out = aws_cli("list-instances", "--service-id", svc, service="servicediscovery")
    assert [i["Id"] for i in out["Instances"]] == ["db1"]
    code, out = aws_cli("get-namespace", "--id", "ns-doesnotexist000", service="servicediscovery")
    assert code != 0 and "NamespaceNotFound" in out


# ---- DNS ---------------------------------------------------------------------------------------

def test_dns_answers_a_records_with_the_configured_ttl(sd, dns_addr):
    ns_id, name = private_namespace(sd)
    svc = dns_service(sd, ns_id, name="backend")
    for i in range(1, 4):
        sd.register_instance(ServiceId=svc, InstanceId=f"t{i}",
                             Attributes={"AWS_INSTANCE_IPV4": f"10.20.0.{i}"})
    response = settled_query(dns_addr, f"backend.{name}", "A", lambda r: len(answers(r)) == 3)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert answers(response) == ["10.20.0.1", "10.20.0.2", "10.20.0.3"]
    assert all(rrset.ttl == 10 for rrset in response.answer)
    # The same over TCP.
    assert answers(query(dns_addr, f"backend.{name}", tcp=True)) == answers(response)
    sd.deregister_instance(ServiceId=svc, InstanceId="t2")
    deadline = time.monotonic() + 1
    while "10.20.0.2" in answers(query(dns_addr, f"backend.{name}")):
        assert time.monotonic() < deadline, "a deregistered instance leaves DNS within a second"
        time.sleep(0.02)


def test_dns_weighted_answers_one_and_multivalue_at_most_eight(sd, dns_addr):
    ns_id, name = private_namespace(sd)
    weighted = dns_service(sd, ns_id, name="w", routing="WEIGHTED")
    multi = dns_service(sd, ns_id, name="m")
    for i in range(1, 11):
        sd.register_instance(ServiceId=weighted, InstanceId=f"w{i}",
                             Attributes={"AWS_INSTANCE_IPV4": f"10.30.0.{i}"})
        sd.register_instance(ServiceId=multi, InstanceId=f"m{i}",
                             Attributes={"AWS_INSTANCE_IPV4": f"10.31.0.{i}"})
    settled_query(dns_addr, f"m.{name}", "A", lambda r: len(answers(r)) == 8)
    seen = set()
    for _ in range(30):
        got = answers(query(dns_addr, f"w.{name}"))
        assert len(got) == 1
        seen.update(got)
    assert len(seen) > 1, "WEIGHTED picks among the instances"
    assert len(answers(query(dns_addr, f"m.{name}"))) == 8


def test_dns_srv_names_hosts_and_ports(sd, dns_addr):
    ns_id, name = private_namespace(sd)
    svc = dns_service(sd, ns_id, name="api", records=("SRV",))
    sd.register_instance(ServiceId=svc, InstanceId="abc",
                         Attributes={"AWS_INSTANCE_IPV4": "127.0.0.1", "AWS_INSTANCE_PORT": "49200"})
    srv = answers(settled_query(dns_addr, f"api.{name}", "SRV", lambda r: r.answer), "SRV")
    assert srv == [f"1 1 49200 abc.api.{name}."]
    assert answers(query(dns_addr, f"abc.api.{name}")) == ["127.0.0.1"]


def test_dns_hides_unhealthy_instances_and_answers_nxdomain_and_refused(sd, dns_addr):
    ns_id, name = private_namespace(sd)
    svc = dns_service(sd, ns_id, name="h", custom_health=True)
    sd.register_instance(ServiceId=svc, InstanceId="ok", Attributes={"AWS_INSTANCE_IPV4": "10.40.0.1"})
    sd.register_instance(ServiceId=svc, InstanceId="sick", Attributes={"AWS_INSTANCE_IPV4": "10.40.0.2"})
    sd.update_instance_custom_health_status(ServiceId=svc, InstanceId="sick", Status="UNHEALTHY")
    deadline = time.monotonic() + 1
    while answers(query(dns_addr, f"h.{name}")) != ["10.40.0.1"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    missing = query(dns_addr, f"nothing.{name}")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    soa = [r for r in missing.authority if r.rdtype == dns.rdatatype.SOA]
    assert soa and soa[0].ttl == 15
    # Not an open resolver: outside names are refused on the host's port.
    assert query(dns_addr, "example.com").rcode() == dns.rcode.REFUSED
