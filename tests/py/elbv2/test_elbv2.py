"""ELBv2 through boto3: the API's validation and errors as AWS words them, and the proxy — a
listener that really binds, routes by host, path, header, method and query, answers fixed
responses and redirects, adds X-Forwarded-* headers, streams bodies, and runs health checks
that DescribeTargetHealth reports. The targets are small HTTP servers this test starts on
loopback (berth forwards only to loopback and to its own tasks)."""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from berth_helpers import unique


@pytest.fixture(scope="module")
def elb(aws_client):
    return aws_client("elbv2")


def code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def status(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """An HTTP server on loopback that answers with its name and echoes what it received."""

    def __init__(self, name: str, health_status: int = 200):
        self.name = name
        self.health_status = health_status
        self.seen: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path == "/health":
                    self.send_response(outer.health_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.seen.append({"path": self.path, "headers": dict(self.headers),
                                   "body_len": len(body)})
                payload = json.dumps({"backend": outer.name, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body_len": len(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "keep-alive")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _answer
            do_POST = _answer
            do_DELETE = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def backends():
    made = {name: Backend(name) for name in ("api", "web", "admin")}
    yield made
    for b in made.values():
        b.close()


def make_tg(elb, port: int, interval: int = 5, **kw) -> str:
    return elb.create_target_group(Name=unique("tg"), Protocol="HTTP", Port=port, VpcId="vpc-1",
                                   TargetType="ip", HealthCheckPath="/health",
                                   HealthCheckIntervalSeconds=interval, HealthCheckTimeoutSeconds=2,
                                   HealthyThresholdCount=2, UnhealthyThresholdCount=2,
                                   **kw)["TargetGroups"][0]["TargetGroupArn"]


def listener_address(raw, listener_arn: str, timeout: float = 10) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        for l in raw.request("GET", "/_berth/health").json()["elbv2"]["listeners"]:
            if l["listener_arn"] == listener_arn:
                host, _, port = l["address"].rpartition(":")
                return host, int(port)
        if time.monotonic() > deadline:
            raise AssertionError(f"listener {listener_arn} not bound in {timeout}s")
        time.sleep(0.05)


def request(addr, method="GET", path="/", headers=None, body=None):
    conn = http.client.HTTPConnection(*addr, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        headers: dict[str, str] = {}
        for k, v in resp.getheaders():
            # Repeated headers (Set-Cookie) one per line.
            headers[k.lower()] = f"{headers[k.lower()]}\n{v}" if k.lower() in headers else v
        return resp.status, headers, resp.read()
    finally:
        conn.close()


def settle():
    """Changes reach the proxy with the reconcile loop's next pass (tens of milliseconds), not
    within the API call, as on AWS (where they take seconds)."""
    time.sleep(0.5)


def wait_health(elb, tg: str, want: str, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        if health and all(h["TargetHealth"]["State"] == want for h in health):
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"targets of {tg} not {want} in {timeout}s: {health}")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------
# The API
# ------------------------------------------------------------------------------------------

def test_load_balancer_lifecycle_and_errors(elb):
    name = unique("lb")
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-a", "subnet-b"],
                                  Tags=[{"Key": "team", "Value": "x"}])["LoadBalancers"][0]
    assert lb["Type"] == "application" and lb["Scheme"] == "internet-facing"
    assert lb["DNSName"].startswith(f"{name}-") and lb["DNSName"].endswith(".us-east-1.elb.localhost")
    assert lb["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert [z["SubnetId"] for z in lb["AvailabilityZones"]] == ["subnet-a", "subnet-b"]
    arn = lb["LoadBalancerArn"]
    assert ":loadbalancer/app/" in arn
    # Same settings: the same load balancer; other settings: DuplicateLoadBalancerName.
    again = elb.create_load_balancer(Name=name, Subnets=["subnet-a", "subnet-b"])
    assert again["LoadBalancers"][0]["LoadBalancerArn"] == arn
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name=name, Type="network")
    assert code(e.value) == "DuplicateLoadBalancerName" and status(e.value) == 400
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name="bad_name")
    assert code(e.value) == "ValidationError"
    # provisioning, then active.
    deadline = time.monotonic() + 5
    while elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"] != "active":
        assert time.monotonic() < deadline, "load balancer never became active"
        time.sleep(0.1)
    by_name = elb.describe_load_balancers(Names=[name])["LoadBalancers"]
    assert [l["LoadBalancerArn"] for l in by_name] == [arn]
    attrs = {a["Key"]: a["Value"] for a in
             elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "60" and attrs["routing.http2.enabled"] == "true"
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "true"}])
    with pytest.raises(ClientError) as e:
        elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
            {"Key": "idle_timeout.timeout_seconds", "Value": "0"}])
    assert code(e.value) == "ValidationError"
    with pytest.raises(ClientError) as e:
        elb.delete_load_balancer(LoadBalancerArn=arn)
    assert code(e.value) == "OperationNotPermitted"
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "false"}])
    tags = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "x"}]
    elb.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as e:
        elb.describe_load_balancers(LoadBalancerArns=[arn])
    assert code(e.value) == "LoadBalancerNotFound"


def test_target_groups_and_listener_errors(elb):
    name = unique("tg")
    tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId="vpc-1",
                                 TargetType="ip")["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/" and tg["Matcher"] == {"HttpCode": "200"}
    assert tg["HealthCheckIntervalSeconds"] == 30 and tg["HealthyThresholdCount"] == 5
    arn = tg["TargetGroupArn"]
    with pytest.raises(ClientError) as e:
        elb.create_target_group(Name=name, Protocol="TCP", Port=80, VpcId="vpc-1")
    assert code(e.value) == "DuplicateTargetGroupName"
    with pytest.raises(ClientError) as e:
        elb.create_target_group(Name=unique("tg"), Protocol="HTTP", Port=80, VpcId="vpc-1",
                                HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=10)
    assert code(e.value) == "ValidationError"
    attrs = {a["Key"]: a["Value"] for a in
             elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "300"
    assert attrs["load_balancing.algorithm.type"] == "round_robin"
    with pytest.raises(ClientError) as e:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "8.8.8.8"}])
    assert code(e.value) == "InvalidTarget"
    with pytest.raises(ClientError) as e:
        elb.describe_target_health(TargetGroupArn=arn.replace(arn[-16:], "0" * 16))
    assert code(e.value) == "TargetGroupNotFound"
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 9}])
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert health[0]["TargetHealth"] == {
        "State": "unused", "Reason": "Target.NotInUse",
        "Description": "Target group is not configured to receive traffic from the load balancer"}
    lb = elb.create_load_balancer(Name=unique("lb"))["LoadBalancers"][0]["LoadBalancerArn"]
    nlb_tg = elb.create_target_group(Name=unique("tcp"), Protocol="TCP", Port=80,
                                     VpcId="vpc-1")["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": nlb_tg}])
    assert code(e.value) == "IncompatibleProtocols"
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb, Protocol="TCP", Port=free_port(),
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    assert code(e.value) == "UnsupportedProtocol"
    port = free_port()
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    listener_arn = listener["Listeners"][0]["ListenerArn"]
    action = listener["Listeners"][0]["DefaultActions"][0]
    assert action["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": arn, "Weight": 1}]
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    assert code(e.value) == "DuplicateListener"
    assert elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["LoadBalancerArns"] == [lb]
    with pytest.raises(ClientError) as e:
        elb.delete_target_group(TargetGroupArn=arn)
    assert code(e.value) == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        elb.describe_listeners(ListenerArns=[listener_arn + "0"])
    assert code(e.value) == "ListenerNotFound"
    elb.delete_load_balancer(LoadBalancerArn=lb)
    with pytest.raises(ClientError) as e:
        elb.describe_listeners(ListenerArns=[listener_arn])
    assert code(e.value) == "ListenerNotFound"
    elb.delete_target_group(TargetGroupArn=arn)


def test_rules_priorities_and_limits(elb):
    tg = make_tg(elb, 80)
    lb = elb.create_load_balancer(Name=unique("lb"))["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                                   DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
                                       "StatusCode": "404", "ContentType": "text/plain",
                                       "MessageBody": "nothing"}}])["Listeners"][0]["ListenerArn"]

    def rule(priority, path):
        return elb.create_rule(ListenerArn=listener, Priority=priority,
                               Conditions=[{"Field": "path-pattern", "Values": [path]}],
                               Actions=[{"Type": "forward", "TargetGroupArn": tg}])["Rules"][0]

    r1 = rule(10, "/a/*")
    assert r1["Priority"] == "10" and r1["IsDefault"] is False
    assert r1["Conditions"][0]["PathPatternConfig"] == {"Values": ["/a/*"]}
    with pytest.raises(ClientError) as e:
        rule(10, "/b")
    assert code(e.value) == "PriorityInUse"
    r2 = rule(20, "/b")
    with pytest.raises(ClientError) as e:
        elb.create_rule(ListenerArn=listener, Priority=30, Conditions=[
            {"Field": "host-header", "Values": [f"h{i}.example.com" for i in range(6)]}],
            Actions=[{"Type": "forward", "TargetGroupArn": tg}])
    assert code(e.value) == "ValidationError"
    with pytest.raises(ClientError) as e:
        elb.create_rule(ListenerArn=listener, Priority=30, Conditions=[
            {"Field": "cookie", "Values": ["x"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": tg}])
    assert code(e.value) == "ValidationError"
    with pytest.raises(ClientError) as e:
        elb.create_rule(ListenerArn=listener, Priority=30, Conditions=[
            {"Field": "path-pattern", "Values": ["/x"]}],
            Actions=[{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}])
    assert code(e.value) == "InvalidLoadBalancerAction"
    swapped = elb.set_rule_priorities(RulePriorities=[
        {"RuleArn": r1["RuleArn"], "Priority": 20}, {"RuleArn": r2["RuleArn"], "Priority": 10}])
    assert {r["RuleArn"]: r["Priority"] for r in swapped["Rules"]} == {
        r1["RuleArn"]: "20", r2["RuleArn"]: "10"}
    rules = elb.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    assert rules[-1]["IsDefault"] is True
    with pytest.raises(ClientError) as e:
        elb.delete_rule(RuleArn=rules[-1]["RuleArn"])
    assert code(e.value) == "OperationNotPermitted"
    elb.delete_rule(RuleArn=r1["RuleArn"])
    with pytest.raises(ClientError) as e:
        elb.describe_rules(RuleArns=[r1["RuleArn"]])
    assert code(e.value) == "RuleNotFound"
    limits = {l["Name"]: l["Max"] for l in elb.describe_account_limits()["Limits"]}
    assert limits["rules-per-application-load-balancer"] == "100"
    policies = elb.describe_ssl_policies()["SslPolicies"]
    assert "ELBSecurityPolicy-TLS13-1-2-2021-06" in [p["Name"] for p in policies]
    with pytest.raises(ClientError) as e:
        elb.describe_ssl_policies(Names=["nope"])
    assert code(e.value) == "SSLPolicyNotFound"
    elb.delete_load_balancer(LoadBalancerArn=lb)


# ------------------------------------------------------------------------------------------
# The proxy
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def alb(elb, raw, backends):
    """One ALB: /api/* → api, host admin.example.com → admin, X-Canary: yes → admin,
    DELETE → 405 fixed, ?legacy=1 → redirect, default → web."""
    tgs = {}
    for name, b in backends.items():
        tgs[name] = make_tg(elb, b.port)
        elb.register_targets(TargetGroupArn=tgs[name], Targets=[{"Id": "127.0.0.1"}])
    lb = elb.create_load_balancer(Name=unique("alb"))["LoadBalancers"][0]
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=free_port(),
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs["web"]}])["Listeners"][0]
    arn = listener["ListenerArn"]
    forward = lambda name: [{"Type": "forward", "TargetGroupArn": tgs[name]}]
    elb.create_rule(ListenerArn=arn, Priority=10, Actions=forward("api"),
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}])
    elb.create_rule(ListenerArn=arn, Priority=20, Actions=forward("admin"),
                    Conditions=[{"Field": "host-header", "Values": ["admin.*.com"]}])
    elb.create_rule(ListenerArn=arn, Priority=30, Actions=forward("admin"),
                    Conditions=[{"Field": "http-header", "HttpHeaderConfig": {
                        "HttpHeaderName": "X-Canary", "Values": ["yes"]}}])
    elb.create_rule(ListenerArn=arn, Priority=40, Conditions=[
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "405", "ContentType": "application/json", "MessageBody": '{"no":1}'}}])
    elb.create_rule(ListenerArn=arn, Priority=50, Conditions=[
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "legacy", "Value": "1"}]}}],
        Actions=[{"Type": "redirect", "RedirectConfig": {
            "StatusCode": "HTTP_302", "Host": "new.example.com", "Path": "/v2/#{path}"}}])
    addr = listener_address(raw, arn)
    settle()
    return {"lb": lb, "listener": arn, "port": listener["Port"], "tgs": tgs, "addr": addr}


def backend_of(addr, path="/", headers=None, method="GET"):
    st, _, body = request(addr, method, path, headers)
    assert st == 200, (st, body)
    return json.loads(body)["backend"]


def test_listener_binds_and_routes_by_rules(alb):
    addr = alb["addr"]
    assert addr[0] == "127.0.0.1"
    assert addr[1] == alb["port"], "a free port asked for is the port bound"
    assert backend_of(addr, "/api/users") == "api"
    assert backend_of(addr, "/apix") == "web", "/api/* does not match /apix"
    assert backend_of(addr, "/", {"Host": "admin.example.com"}) == "admin"
    assert backend_of(addr, "/", {"Host": "ADMIN.example.com:8080"}) == "admin"
    assert backend_of(addr, "/", {"X-Canary": "YES"}) == "admin"
    assert backend_of(addr, "/other") == "web"
    st, headers, body = request(addr, "DELETE", "/thing")
    assert (st, body) == (405, b'{"no":1}') and headers["content-type"] == "application/json"
    st, headers, _ = request(addr, "GET", "/old/page?legacy=1&x=2", {"Host": "a.test"})
    assert st == 302
    assert headers["location"] == f"http://new.example.com:{alb['port']}/v2/old/page?legacy=1&x=2"


def test_forwarding_headers_and_streamed_body(alb):
    addr = alb["addr"]
    st, _, body = request(addr, "POST", "/api/upload", {"X-Forwarded-For": "10.1.1.1",
                                                        "Connection": "keep-alive, X-Private",
                                                        "X-Private": "secret"},
                          body=b"x" * (3 * 1024 * 1024))
    seen = json.loads(body)
    assert st == 200 and seen["body_len"] == 3 * 1024 * 1024
    h = seen["headers"]
    assert h["x-forwarded-for"] == "10.1.1.1, 127.0.0.1"
    assert h["x-forwarded-proto"] == "http" and h["x-forwarded-port"] == str(alb["port"])
    assert h["x-amzn-trace-id"].startswith("Root=1-")
    assert "x-private" not in h, "headers named by Connection are hop-by-hop"


def test_health_checks_drive_target_health_and_routing(elb, alb, backends):
    for tg in alb["tgs"].values():
        wait_health(elb, tg, "healthy")
    # The api backend starts failing its health check: unhealthy with the code it answered.
    backends["api"].health_status = 503
    try:
        health = wait_health(elb, alb["tgs"]["api"], "unhealthy", timeout=30)
        assert health[0]["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
        assert "[503]" in health[0]["TargetHealth"]["Description"]
        # Every target unhealthy: the ALB fails open and still routes.
        assert backend_of(alb["addr"], "/api/x") == "api"
    finally:
        backends["api"].health_status = 200
    wait_health(elb, alb["tgs"]["api"], "healthy", timeout=30)


def test_no_targets_is_503_and_dead_target_is_502(elb, alb):
    arn = alb["listener"]
    empty = make_tg(elb, 80)
    dead = make_tg(elb, free_port())
    elb.register_targets(TargetGroupArn=dead, Targets=[{"Id": "127.0.0.1"}])
    elb.create_rule(ListenerArn=arn, Priority=60, Actions=[{"Type": "forward", "TargetGroupArn": empty}],
                    Conditions=[{"Field": "path-pattern", "Values": ["/empty"]}])
    elb.create_rule(ListenerArn=arn, Priority=61, Actions=[{"Type": "forward", "TargetGroupArn": dead}],
                    Conditions=[{"Field": "path-pattern", "Values": ["/dead"]}])
    deadline = time.monotonic() + 5
    while True:
        st_empty = request(alb["addr"], "GET", "/empty")[0]
        st_dead = request(alb["addr"], "GET", "/dead")[0]
        if (st_empty, st_dead) == (503, 502) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (st_empty, st_dead) == (503, 502)


def test_weighted_forward(elb, alb, backends):
    arn = alb["listener"]
    elb.create_rule(ListenerArn=arn, Priority=70, Conditions=[
        {"Field": "path-pattern", "Values": ["/split"]}], Actions=[{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": alb["tgs"]["api"], "Weight": 3},
                             {"TargetGroupArn": alb["tgs"]["web"], "Weight": 1}]}}])
    settle()
    seen = [backend_of(alb["addr"], "/split") for _ in range(40)]
    assert seen.count("api") == 30 and seen.count("web") == 10


def test_nlb_forwards_tcp(elb, raw, backends):
    tg = elb.create_target_group(Name=unique("tcp"), Protocol="TCP", Port=backends["web"].port,
                                 VpcId="vpc-1", TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
    nlb = elb.create_load_balancer(Name=unique("nlb"), Type="network")["LoadBalancers"][0]
    assert nlb["CanonicalHostedZoneId"] == "Z26RNL4JYFTOTI"
    listener = elb.create_listener(LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TCP",
                                   Port=free_port(),
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    addr = listener_address(raw, listener["Listeners"][0]["ListenerArn"])
    assert backend_of(addr, "/through-nlb") == "web"
    wait_health(elb, tg, "healthy")


# ------------------------------------------------------------------------------------------
# ECS services with loadBalancers (the in-memory executor)
# ------------------------------------------------------------------------------------------

def test_ecs_service_registers_its_tasks_as_targets(elb, ecs):
    cluster = unique("lbc")
    ecs.create_cluster(clusterName=cluster)
    family = unique("web")
    ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[{
                                     "name": "web", "image": "busybox", "essential": True,
                                     "portMappings": [{"containerPort": 8080}]}])
    # In-memory tasks answer no health check: a long interval keeps them from being replaced
    # while this test looks at them.
    tg = make_tg(elb, 8080, interval=300)
    lb = elb.create_load_balancer(Name=unique("lb"))["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    # What ECS checks: the target group exists, the container and port are the task's.
    for lbs, message in [
        ([{"targetGroupArn": tg.replace(tg[-16:], "0" * 16), "containerName": "web",
           "containerPort": 8080}], "Unable to find target group"),
        ([{"targetGroupArn": tg, "containerName": "nope", "containerPort": 8080}],
         "The container nope does not exist in the task definition."),
        ([{"targetGroupArn": tg, "containerName": "web", "containerPort": 9999}],
         "The container web did not have a container port 9999 defined."),
    ]:
        with pytest.raises(ClientError) as e:
            ecs.create_service(cluster=cluster, serviceName=unique("svc"), taskDefinition=family,
                               desiredCount=1, launchType="FARGATE", networkConfiguration=net,
                               loadBalancers=lbs)
        assert code(e.value) == "InvalidParameterException"
        assert message in e.value.response["Error"]["Message"]
    svc = unique("svc")
    ecs.create_service(cluster=cluster, serviceName=svc, taskDefinition=family, desiredCount=2,
                       launchType="FARGATE", networkConfiguration=net,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}])

    def targets():
        return sorted((h["Target"]["Id"], h["Target"]["Port"], h["TargetHealth"]["State"])
                      for h in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])

    deadline = time.monotonic() + 20
    while len([t for t in targets() if t[2] != "draining"]) < 2:
        assert time.monotonic() < deadline, f"tasks not registered: {targets()}"
        time.sleep(0.2)
    arns = ecs.list_tasks(cluster=cluster, serviceName=svc)["taskArns"]
    ips = sorted(d["value"] for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
                 for a in t["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address")
    assert [(i, p) for i, p, _ in targets()] == [(ip, 8080) for ip in ips]
    # Scaled to zero: the targets drain (deregistration delay), they are not simply gone.
    ecs.update_service(cluster=cluster, service=svc, desiredCount=0)
    deadline = time.monotonic() + 20
    while {s for _, _, s in targets()} != {"draining"}:
        assert time.monotonic() < deadline, f"targets not draining: {targets()}"
        time.sleep(0.2)
    ecs.delete_service(cluster=cluster, service=svc, force=True)


def test_load_balancer_dns_name_resolves_in_berths_dns(elb, raw, alb):
    import dns.message
    import dns.query
    host, _, port = raw.request("GET", "/_berth/health").json()["dns"]["host"].rpartition(":")
    name = alb["lb"]["DNSName"]
    deadline = time.monotonic() + 5
    while True:
        response = dns.query.udp(dns.message.make_query(name, "A"), host, port=int(port), timeout=3)
        got = sorted(r.to_text() for rrset in response.answer for r in rrset)
        if got or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == ["127.0.0.1"], got
    # Through that name, the listener answers (DNS gives the address; the port is the listener's).
    assert backend_of((got[0], alb["addr"][1]), "/api/by-name") == "api"


def test_tasks_failing_health_checks_are_replaced(elb, ecs):
    """In-memory tasks answer nothing: their targets fail the health checks, and ECS stops each
    with its reason and starts another."""
    cluster = unique("hc")
    ecs.create_cluster(clusterName=cluster)
    family = unique("web")
    ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[{
                                     "name": "web", "image": "busybox", "essential": True,
                                     "portMappings": [{"containerPort": 8080}]}])
    tg = make_tg(elb, 8080)
    lb = elb.create_load_balancer(Name=unique("lb"))["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    svc = unique("svc")
    ecs.create_service(cluster=cluster, serviceName=svc, taskDefinition=family, desiredCount=1,
                       launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}])
    deadline = time.monotonic() + 40
    while True:
        stopped = ecs.list_tasks(cluster=cluster, serviceName=svc, desiredStatus="STOPPED")["taskArns"]
        if stopped:
            break
        assert time.monotonic() < deadline, "no task was stopped for failing its health checks"
        time.sleep(0.5)
    task = ecs.describe_tasks(cluster=cluster, tasks=stopped[:1])["tasks"][0]
    assert task["stoppedReason"] == f"Task failed ELB health checks in (target-group {tg})"
    assert task["stopCode"] == "ServiceSchedulerInitiated"
    running = ecs.list_tasks(cluster=cluster, serviceName=svc, desiredStatus="RUNNING")["taskArns"]
    assert running and running[0] != stopped[0], "the service replaced the task"
    ecs.delete_service(cluster=cluster, service=svc, force=True)


def test_stickiness_keeps_a_client_on_its_target(elb, raw):
    one, two = Backend("one"), Backend("two")
    try:
        tg = elb.create_target_group(Name=unique("st"), Protocol="HTTP", Port=80, VpcId="vpc-1",
                                     TargetType="ip", HealthCheckPath="/health",
                                     HealthCheckIntervalSeconds=5,
                                     HealthCheckTimeoutSeconds=2)["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": one.port},
                                                         {"Id": "127.0.0.1", "Port": two.port}])
        lb = elb.create_load_balancer(Name=unique("st"))["LoadBalancers"][0]["LoadBalancerArn"]
        listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        addr = listener_address(raw, listener["Listeners"][0]["ListenerArn"])
        wait_health(elb, tg, "healthy")
        settle()
        # Without stickiness: round robin, no cookie.
        seen = []
        for _ in range(4):
            st, headers, body = request(addr)
            seen.append(json.loads(body)["backend"])
            assert "set-cookie" not in headers
        assert sorted(seen) == ["one", "one", "two", "two"]
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "stickiness.enabled", "Value": "true"},
            {"Key": "stickiness.type", "Value": "lb_cookie"},
            {"Key": "stickiness.lb_cookie.duration_seconds", "Value": "120"}])
        settle()
        st, headers, body = request(addr)
        first = json.loads(body)["backend"]
        cookies = [c.split(";")[0] for c in headers["set-cookie"].split("\n")]
        assert [c.split("=")[0] for c in cookies] == ["AWSALB", "AWSALBCORS"]
        cookie = cookies[0]
        for _ in range(6):
            st, _, body = request(addr, headers={"Cookie": f"other=1; {cookie}"})
            assert json.loads(body)["backend"] == first
    finally:
        one.close()
        two.close()


def test_upgrades_pass_through(elb, raw):
    """A WebSocket-style upgrade: after the target's 101, bytes flow both ways."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def handle(conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            if b"upgrade: echo" not in head.lower():
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                return
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            while data := conn.recv(4096):
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    try:
        tg = elb.create_target_group(Name=unique("ws"), Protocol="HTTP", Port=port, VpcId="vpc-1",
                                     TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        lb = elb.create_load_balancer(Name=unique("ws"))["LoadBalancers"][0]["LoadBalancerArn"]
        listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        addr = listener_address(raw, listener["Listeners"][0]["ListenerArn"])
        settle()
        with socket.create_connection(addr, timeout=5) as c:
            c.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(4096)
            assert head.startswith(b"HTTP/1.1 101"), head
            rest = head.split(b"\r\n\r\n", 1)[1]
            c.sendall(b"hello through the upgrade")
            got = rest
            while len(got) < len(b"hello through the upgrade"):
                got += c.recv(4096)
            assert got == b"HELLO THROUGH THE UPGRADE"
    finally:
        server.close()


def test_nlb_relays_udp(elb, raw):
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                data, peer = echo.recvfrom(65535)
            except OSError:
                return
            echo.sendto(b"echo:" + data, peer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        tg = elb.create_target_group(Name=unique("udp"), Protocol="UDP", Port=echo.getsockname()[1],
                                     VpcId="vpc-1", TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        nlb = elb.create_load_balancer(Name=unique("udp"), Type="network")["LoadBalancers"][0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        listener = elb.create_listener(LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="UDP",
                                       Port=port, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        addr = listener_address(raw, listener["Listeners"][0]["ListenerArn"])
        assert listener["Listeners"][0]["Protocol"] == "UDP"
        settle()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(3)
            for word in (b"one", b"two"):
                client.sendto(word, addr)
                data, _ = client.recvfrom(65535)
                assert data == b"echo:" + word
    finally:
        echo.close()
