#!/usr/bin/env python3
"""ECS conformance runner: every operation of the ECS model, sent through botocore, answers
checked against the model.

    python3 conformance/run.py --endpoint-url http://127.0.0.1:4566 [--json out.json] [--min N]

For each operation of the ECS model (the one vendored at codegen/models/ecs/2014-11-13, which
berth's wire types are generated from; the installed botocore's copy if that is missing) the
runner sends:

  * botocore's documented examples (examples-1.json), unchanged;
  * a "minimal" input generated from the model: every required member (plus the few optional
    members an operation is useless without, such as `cluster`), with plausible values;
  * a "full" input: the minimal one plus every optional top-level member (nested structures get
    their required members only).

Generated inputs act on fixtures created first (cluster `conformance`, task definition family
`conformance`, service `conformance-svc`, a task, ...); destructive operations get a scratch
resource of their own so they do not destroy the fixtures. Fixture steps the server does not
implement yet are tolerated: the inputs then carry well-formed ARNs of resources that do not exist.

A request passes when the server answers
  * HTTP 200 whose raw JSON body matches the operation's output shape (no unknown members, JSON
    types as the model says, timestamps as epoch numbers, blobs as base64, enum values from the
    model, required members present, no nulls), or
  * a 4xx error whose `__type` (after any `namespace#` prefix) is one of the operation's
    modelled errors or a common AWS error, with a `message`. NotImplementedException and any 5xx
    never pass.
An operation is conformant when all its requests pass and at least one answered 200.

Output: one `OK`/`FAIL` line per operation, then `N/M operations conformant` (M = operations in
the model). Exit status 0, or 1 when --min N is given and fewer than N are conformant.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import datetime as dt
import gzip
import json
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import botocore
import botocore.model
import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVICE = "ecs"
API_VERSION = "2014-11-13"
VENDORED_MODEL = REPO / "codegen" / "models" / SERVICE / API_VERSION / "service-2.json.gz"

# Errors any AWS JSON service may answer besides the operation's modelled ones.
COMMON_ERRORS = {
    "UnknownOperationException", "SerializationException", "ValidationException",
    "AccessDeniedException", "ThrottlingException", "InternalFailure",
    "IncompleteSignature", "InvalidSignatureException", "MissingAuthenticationToken",
    "UnrecognizedClientException", "RequestExpired", "ServiceUnavailable",
}
# Errors that mean "this operation is not there": never conformant.
NOT_CONFORMANT_ERRORS = {"NotImplementedException"}

FIXTURE_CLUSTER = "conformance"
FIXTURE_FAMILY = "conformance"
FIXTURE_CONTAINER = "conformance"
FIXTURE_SERVICE = "conformance-svc"
FIXTURE_EXTERNAL_SERVICE = "conformance-external-svc"
FIXTURE_CAPACITY_PROVIDER = "conformance-cp"
FIXTURE_DAEMON_FAMILY = "conformance-daemon"
FIXTURE_DAEMON = "conformance-daemon"
FIXTURE_EXPRESS = "conformance-express"

OMIT = object()


# ------------------------------------------------------------------------------------------------
# Model and client
# ------------------------------------------------------------------------------------------------

def load_model_json(path: Path | None) -> tuple[dict, str]:
    if path is None and VENDORED_MODEL.is_file():
        path = VENDORED_MODEL
    if path is not None:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f), str(path)
    loader = botocore.session.get_session().get_component("data_loader")
    return loader.load_service_model(SERVICE, "service-2", API_VERSION), "botocore (installed)"


def make_session(model_json: dict, tmp: Path) -> botocore.session.Session:
    """A botocore session whose ECS client is built from `model_json` (the vendored model):
    the model is written to a data directory searched before botocore's own."""
    target = tmp / SERVICE / API_VERSION
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(model_json), encoding="utf-8")
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(tmp))
    # Never read a developer's profile or real credentials.
    session.set_config_variable("profile", None)
    return session


def load_examples(session) -> dict:
    loader = session.get_component("data_loader")
    try:
        return loader.load_service_model(SERVICE, "examples-1", API_VERSION).get("examples", {})
    except Exception:  # noqa: BLE001 - examples are optional
        return {}


def make_client(session, endpoint: str, region: str, read_timeout: float):
    # total_max_attempts=1: no retry at all (`max_attempts: 1` would still allow one retry).
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                 connect_timeout=5, read_timeout=read_timeout, parameter_validation=True)
    return session.create_client(SERVICE, region_name=region, endpoint_url=endpoint,
                                 aws_access_key_id="test", aws_secret_access_key="test",
                                 config=cfg)


class Capture:
    """Keeps the raw HTTP exchange of the last call (event hooks on before-send/before-parse)."""

    def __init__(self, client):
        self.reset()
        client.meta.events.register(f"before-send.{SERVICE}", self._before_send)
        client.meta.events.register(f"before-parse.{SERVICE}", self._before_parse)

    def reset(self):
        self.attempts = 0
        self.request_body = None
        self.status = None
        self.headers = {}
        self.body = None

    def _before_send(self, request, **_):
        self.attempts += 1
        self.request_body = request.body
        return None  # let botocore send it

    def _before_parse(self, response_dict, **_):
        self.status = response_dict.get("status_code")
        self.headers = {k.lower(): v for k, v in dict(response_dict.get("headers") or {}).items()}
        self.body = response_dict.get("body")


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------

@dataclass
class Fixtures:
    region: str
    account: str = "000000000000"
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    cluster_arn: str | None = None
    td_arn: str | None = None
    cp_arn: str | None = None
    ci_arn: str | None = None
    service_arn: str | None = None
    external_service_arn: str | None = None
    task_arn: str | None = None
    task_set: str | None = None
    daemon_td_arn: str | None = None
    daemon_arn: str | None = None
    express_arn: str | None = None
    service_deployment_arn: str | None = None
    service_revision_arn: str | None = None
    daemon_deployment_arn: str | None = None
    daemon_revision_arn: str | None = None
    steps: list = field(default_factory=list)

    # ARNs the inputs fall back to when a fixture could not be created (well-formed, missing).
    def arn(self, resource: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account}:{resource}"

    @property
    def cluster(self) -> str:
        return FIXTURE_CLUSTER

    @property
    def taskdef(self) -> str:
        return self.td_arn or self.arn(f"task-definition/{FIXTURE_FAMILY}:1")

    @property
    def container_instance(self) -> str:
        return self.ci_arn or self.arn(f"container-instance/{FIXTURE_CLUSTER}/"
                                       "0123456789abcdef0123456789abcdef")

    @property
    def task(self) -> str:
        return self.task_arn or self.arn(f"task/{FIXTURE_CLUSTER}/0123456789abcdef0123456789abcdef")

    @property
    def taskset(self) -> str:
        return self.task_set or "ecs-svc/1234567890123456789"

    @property
    def capacity_provider_arn(self) -> str:
        return self.cp_arn or self.arn(f"capacity-provider/{FIXTURE_CAPACITY_PROVIDER}")

    @property
    def daemon(self) -> str:
        return self.daemon_arn or self.arn(f"daemon/{FIXTURE_CLUSTER}/{FIXTURE_DAEMON}")

    @property
    def daemon_taskdef(self) -> str:
        return self.daemon_td_arn or self.arn(f"daemon-task-definition/{FIXTURE_DAEMON_FAMILY}:1")

    @property
    def express_service(self) -> str:
        return self.express_arn or self.arn(f"service/{FIXTURE_CLUSTER}/{FIXTURE_EXPRESS}")

    @property
    def service_deployment(self) -> str:
        return self.service_deployment_arn or self.arn(
            f"service-deployment/{FIXTURE_CLUSTER}/{FIXTURE_SERVICE}/0123456789abcdefABCDEF")

    @property
    def service_revision(self) -> str:
        return self.service_revision_arn or self.arn(
            f"service-revision/{FIXTURE_CLUSTER}/{FIXTURE_SERVICE}/1234567890123456789")

    @property
    def daemon_deployment(self) -> str:
        return self.daemon_deployment_arn or self.arn(
            f"daemon-deployment/{FIXTURE_CLUSTER}/{FIXTURE_DAEMON}/0123456789abcdefABCDEF")

    @property
    def daemon_revision(self) -> str:
        return self.daemon_revision_arn or self.arn(
            f"daemon-revision/{FIXTURE_CLUSTER}/{FIXTURE_DAEMON}/1234567890123456789")

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/conformance"

    @property
    def principal_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:root"

    @property
    def asg_arn(self) -> str:
        return (f"arn:aws:autoscaling:{self.region}:{self.account}:autoScalingGroup:"
                f"0123abcd-4567-89ab-cdef-0123456789ab:autoScalingGroupName/conformance-{self.run}")

    @property
    def target_group_arn(self) -> str:
        return (f"arn:aws:elasticloadbalancing:{self.region}:{self.account}:"
                "targetgroup/conformance/0123456789abcdef")

    def identity_document(self) -> str:
        return json.dumps({
            "accountId": self.account, "region": self.region,
            "availabilityZone": f"{self.region}a", "instanceId": "i-0123456789abcdef0",
            "instanceType": "t3.medium", "imageId": "ami-0123456789abcdef0",
            "privateIp": "10.0.0.10", "architecture": "x86_64",
            "pendingTime": "2024-01-01T00:00:00Z", "version": "2017-09-30",
        })

    def container_definition(self) -> dict:
        return {"name": FIXTURE_CONTAINER, "image": "busybox", "memory": 128, "essential": True,
                "portMappings": [{"containerPort": 8080}]}

    def instance_resources(self) -> list:
        return [
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 3904},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
        ]


def _err_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or "error"
    return type(exc).__name__


class Setup:
    """Creates the fixtures (and per-request scratch resources) through a hook-free client."""

    def __init__(self, client, fx: Fixtures):
        self.c = client
        self.fx = fx

    def step(self, name: str, fn):
        try:
            result = fn()
            self.fx.steps.append({"step": name, "ok": True})
            return result
        except Exception as exc:  # noqa: BLE001 - a fixture the server lacks is expected
            self.fx.steps.append({"step": name, "ok": False, "error": _err_code(exc)})
            return None

    def quiet(self, fn):
        try:
            return fn()
        except Exception:  # noqa: BLE001
            return None

    def run(self):
        c, fx = self.c, self.fx
        r = self.step("CreateCluster", lambda: c.create_cluster(clusterName=FIXTURE_CLUSTER))
        if r:
            fx.cluster_arn = r["cluster"]["clusterArn"]
            parts = fx.cluster_arn.split(":")
            if len(parts) > 4 and parts[4]:
                fx.account = parts[4]
        r = self.step("RegisterTaskDefinition", lambda: c.register_task_definition(
            family=FIXTURE_FAMILY, containerDefinitions=[fx.container_definition()]))
        if r:
            fx.td_arn = r["taskDefinition"]["taskDefinitionArn"]

        r = self.step("CreateCapacityProvider", lambda: c.create_capacity_provider(
            name=FIXTURE_CAPACITY_PROVIDER,
            autoScalingGroupProvider={"autoScalingGroupArn": fx.asg_arn}))
        if r:
            fx.cp_arn = r["capacityProvider"]["capacityProviderArn"]
        else:
            r = self.quiet(lambda: c.describe_capacity_providers(
                capacityProviders=[FIXTURE_CAPACITY_PROVIDER]))
            if r and r.get("capacityProviders"):
                fx.cp_arn = r["capacityProviders"][0].get("capacityProviderArn")

        r = self.step("RegisterContainerInstance", lambda: c.register_container_instance(
            cluster=FIXTURE_CLUSTER, instanceIdentityDocument=fx.identity_document(),
            instanceIdentityDocumentSignature="conformance",
            totalResources=fx.instance_resources(),
            versionInfo={"agentVersion": "1.80.0", "agentHash": "4023248c",
                         "dockerVersion": "DockerVersion: 20.10.25"}))
        if r:
            fx.ci_arn = r["containerInstance"]["containerInstanceArn"]

        r = self.step("CreateService", lambda: c.create_service(
            cluster=FIXTURE_CLUSTER, serviceName=FIXTURE_SERVICE, taskDefinition=fx.taskdef,
            desiredCount=1, launchType="EC2"))
        if r:
            fx.service_arn = r["service"]["serviceArn"]
        else:
            r = self.quiet(lambda: c.describe_services(cluster=FIXTURE_CLUSTER,
                                                       services=[FIXTURE_SERVICE]))
            if r and r.get("services"):
                fx.service_arn = r["services"][0].get("serviceArn")

        # Exec enabled, so that ExecuteCommand has a task it may answer for.
        r = self.step("RunTask", lambda: c.run_task(cluster=FIXTURE_CLUSTER,
                                                    taskDefinition=fx.taskdef, count=1,
                                                    enableExecuteCommand=True))
        if r and r.get("tasks"):
            fx.task_arn = r["tasks"][0]["taskArn"]
        else:
            r = self.quiet(lambda: c.list_tasks(cluster=FIXTURE_CLUSTER))
            if r and r.get("taskArns"):
                fx.task_arn = r["taskArns"][0]

        r = self.step("CreateService(EXTERNAL)", lambda: c.create_service(
            cluster=FIXTURE_CLUSTER, serviceName=FIXTURE_EXTERNAL_SERVICE, desiredCount=0,
            deploymentController={"type": "EXTERNAL"}))
        if r:
            fx.external_service_arn = r["service"]["serviceArn"]
        r = self.step("CreateTaskSet", lambda: c.create_task_set(
            cluster=FIXTURE_CLUSTER, service=FIXTURE_EXTERNAL_SERVICE, taskDefinition=fx.taskdef,
            launchType="EC2", scale={"value": 0.0, "unit": "PERCENT"}))
        if r:
            fx.task_set = r["taskSet"]["taskSetArn"]

        r = self.step("RegisterDaemonTaskDefinition", lambda: c.register_daemon_task_definition(
            family=FIXTURE_DAEMON_FAMILY,
            containerDefinitions=[{"name": FIXTURE_CONTAINER, "image": "busybox",
                                   "memory": 64}]))
        if r:
            fx.daemon_td_arn = (r.get("daemonTaskDefinition") or {}).get(
                "daemonTaskDefinitionArn") or r.get("daemonTaskDefinitionArn")
        r = self.step("CreateDaemon", lambda: c.create_daemon(
            daemonName=FIXTURE_DAEMON, clusterArn=fx.cluster_arn or fx.arn(
                f"cluster/{FIXTURE_CLUSTER}"),
            daemonTaskDefinitionArn=fx.daemon_taskdef,
            capacityProviderArns=[fx.capacity_provider_arn]))
        if r:
            fx.daemon_arn = r.get("daemonArn")
        r = self.step("CreateExpressGatewayService", lambda: c.create_express_gateway_service(
            serviceName=FIXTURE_EXPRESS, cluster=FIXTURE_CLUSTER,
            executionRoleArn=fx.role_arn, infrastructureRoleArn=fx.role_arn,
            primaryContainer={"image": "busybox", "containerPort": 8080}))
        if r:
            fx.express_arn = (r.get("service") or {}).get("serviceArn")

        # Deployments and revisions: found, not created.
        r = self.quiet(lambda: c.list_service_deployments(cluster=FIXTURE_CLUSTER,
                                                          service=FIXTURE_SERVICE))
        if r and r.get("serviceDeployments"):
            fx.service_deployment_arn = r["serviceDeployments"][0].get("serviceDeploymentArn")
            fx.service_revision_arn = r["serviceDeployments"][0].get("targetServiceRevisionArn")
        if fx.daemon_arn:
            r = self.quiet(lambda: c.list_daemon_deployments(daemonArn=fx.daemon_arn))
            if r and r.get("daemonDeployments"):
                d = r["daemonDeployments"][0]
                fx.daemon_deployment_arn = d.get("daemonDeploymentArn")
                fx.daemon_revision_arn = d.get("targetDaemonRevisionArn")

    # -- scratch resources for destructive operations (one per request) -------------------------

    def wait_for(self, fn, cond, seconds=30):
        """Polls fn() every 0.2 s until cond holds for its answer; None after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = self.quiet(fn)
            if r and cond(r):
                return r
            time.sleep(0.2)
        return None

    def paused_deployment(self, name: str) -> dict:
        c, fx, q = self.c, self.fx, self.quiet
        if not q(lambda: c.create_service(cluster=FIXTURE_CLUSTER, serviceName=name,
                                          taskDefinition=fx.taskdef, desiredCount=1,
                                          launchType="EC2")):
            return {}
        self.wait_for(lambda: c.list_service_deployments(
            cluster=FIXTURE_CLUSTER, service=name, status=["SUCCESSFUL"]),
            lambda r: r.get("serviceDeployments"))
        td = q(lambda: c.register_task_definition(family=name,
                                                  containerDefinitions=[fx.container_definition()]))
        hook = {"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"]}
        if not td or not q(lambda: c.update_service(
                cluster=FIXTURE_CLUSTER, service=name,
                taskDefinition=td["taskDefinition"]["taskDefinitionArn"],
                deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
                                         "lifecycleHooks": [hook]})):
            return {}
        listed = self.wait_for(lambda: c.list_service_deployments(
            cluster=FIXTURE_CLUSTER, service=name, status=["IN_PROGRESS"]),
            lambda r: r.get("serviceDeployments"))
        if not listed:
            return {}
        arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]

        def awaiting(r):
            return [h for d in r.get("serviceDeployments", [])
                    for h in d.get("lifecycleHookDetails", [])
                    if h.get("status") == "AWAITING_ACTION"]
        r = self.wait_for(lambda: c.describe_service_deployments(serviceDeploymentArns=[arn]),
                          awaiting)
        return {"serviceDeploymentArn": arn, "hookId": awaiting(r)[0]["hookId"]} if r else {}

    def scratch(self, op: str, variant: str, params: dict) -> dict:
        c, fx = self.c, self.fx
        name = f"conf-{op}-{variant}{fx.run}"
        q = self.quiet
        if op == "DeleteCluster":
            if q(lambda: c.create_cluster(clusterName=name)):
                return {"cluster": name}
        elif op == "DeleteService":
            if q(lambda: c.create_service(cluster=FIXTURE_CLUSTER, serviceName=name,
                                          taskDefinition=fx.taskdef, desiredCount=0)):
                return {"service": name}
        elif op == "DeregisterTaskDefinition":
            r = q(lambda: c.register_task_definition(
                family=name, containerDefinitions=[fx.container_definition()]))
            if r:
                return {"taskDefinition": r["taskDefinition"]["taskDefinitionArn"]}
        elif op == "DeleteTaskDefinitions":
            r = q(lambda: c.register_task_definition(
                family=name, containerDefinitions=[fx.container_definition()]))
            if r:
                arn = r["taskDefinition"]["taskDefinitionArn"]
                q(lambda: c.deregister_task_definition(taskDefinition=arn))
                return {"taskDefinitions": [arn]}
        elif op == "DeleteCapacityProvider":
            asg = fx.asg_arn.replace(f"conformance-{fx.run}", name)
            if q(lambda: c.create_capacity_provider(
                    name=name, autoScalingGroupProvider={"autoScalingGroupArn": asg})):
                return {"capacityProvider": name}
        elif op == "StopTask":
            r = q(lambda: c.run_task(cluster=FIXTURE_CLUSTER, taskDefinition=fx.taskdef))
            if r and r.get("tasks"):
                return {"task": r["tasks"][0]["taskArn"]}
        elif op == "DeregisterContainerInstance":
            r = q(lambda: c.register_container_instance(
                cluster=FIXTURE_CLUSTER, instanceIdentityDocument=fx.identity_document(),
                instanceIdentityDocumentSignature="conformance",
                totalResources=fx.instance_resources()))
            if r:
                return {"containerInstance": r["containerInstance"]["containerInstanceArn"]}
        elif op == "DeleteTaskSet":
            r = q(lambda: c.create_task_set(cluster=FIXTURE_CLUSTER,
                                            service=FIXTURE_EXTERNAL_SERVICE,
                                            taskDefinition=fx.taskdef, launchType="EC2"))
            if r:
                return {"taskSet": r["taskSet"]["taskSetArn"]}
        elif op == "DeleteDaemonTaskDefinition":
            r = q(lambda: c.register_daemon_task_definition(
                family=name, containerDefinitions=[{"image": "busybox", "memory": 64}]))
            arn = r and ((r.get("daemonTaskDefinition") or {}).get("daemonTaskDefinitionArn")
                         or r.get("daemonTaskDefinitionArn"))
            if arn:
                return {"daemonTaskDefinition": arn}
        elif op == "DeleteDaemon":
            r = q(lambda: c.create_daemon(
                daemonName=name, clusterArn=fx.cluster_arn or fx.arn(f"cluster/{FIXTURE_CLUSTER}"),
                daemonTaskDefinitionArn=fx.daemon_taskdef,
                capacityProviderArns=[fx.capacity_provider_arn]))
            if r and r.get("daemonArn"):
                return {"daemonArn": r["daemonArn"]}
        elif op == "DeleteExpressGatewayService":
            r = q(lambda: c.create_express_gateway_service(
                serviceName=name, cluster=FIXTURE_CLUSTER, executionRoleArn=fx.role_arn,
                infrastructureRoleArn=fx.role_arn, primaryContainer={"image": "busybox"}))
            arn = r and (r.get("service") or {}).get("serviceArn")
            if arn:
                return {"serviceArn": arn}
        elif op == "StopServiceDeployment":
            # An ongoing deployment after a completed one: the new revision's task stays PENDING
            # on the fake executor (BERTH_FAKE start=600s), so there is something to roll back.
            if q(lambda: c.create_service(cluster=FIXTURE_CLUSTER, serviceName=name,
                                          taskDefinition=fx.taskdef, desiredCount=1,
                                          launchType="EC2")):
                self.wait_for(lambda: c.list_service_deployments(
                    cluster=FIXTURE_CLUSTER, service=name, status=["SUCCESSFUL"]),
                    lambda r: r.get("serviceDeployments"))
                slow = dict(fx.container_definition(),
                            environment=[{"name": "BERTH_FAKE", "value": "start=600s"}])
                td = q(lambda: c.register_task_definition(family=name,
                                                          containerDefinitions=[slow]))
                if td and q(lambda: c.update_service(
                        cluster=FIXTURE_CLUSTER, service=name,
                        taskDefinition=td["taskDefinition"]["taskDefinitionArn"])):
                    # PENDING until the scheduler's next pass takes it up, as on AWS.
                    r = self.wait_for(lambda: c.list_service_deployments(
                        cluster=FIXTURE_CLUSTER, service=name, status=["IN_PROGRESS"]),
                        lambda r: r.get("serviceDeployments"))
                    if r:
                        return {"serviceDeploymentArn":
                                r["serviceDeployments"][0]["serviceDeploymentArn"]}
        elif op == "ContinueServiceDeployment":
            # A deployment paused at a PAUSE hook before it scales up, after a completed one so
            # that ROLLBACK has a revision to go back to.
            arn = self.paused_deployment(name)
            if arn:
                return arn
        elif op == "UntagResource":
            arn = params.get("resourceArn")
            keys = params.get("tagKeys") or []
            if arn and keys:
                q(lambda: c.tag_resource(resourceArn=arn,
                                         tags=[{"key": k, "value": "conf-value"} for k in keys]))
        elif op == "DeleteAccountSetting":
            kwargs = {k: params[k] for k in ("name", "principalArn") if k in params}
            q(lambda: c.put_account_setting(value="enabled", **kwargs))
        elif op == "DeleteAttributes":
            kwargs = {k: params[k] for k in ("cluster", "attributes") if k in params}
            q(lambda: c.put_attributes(**kwargs))
        return {}


# ------------------------------------------------------------------------------------------------
# Input generation
# ------------------------------------------------------------------------------------------------

# Optional members an operation is of little use without: included in the minimal input too.
ESSENTIAL = {
    "CreateService": ["cluster", "taskDefinition", "desiredCount"],
    "CreateCapacityProvider": ["autoScalingGroupProvider"],
    "CreateExpressGatewayService": ["cluster"],
    "CreateDaemon": ["clusterArn"],
    "DeleteAttributes": ["cluster"],
    "DeleteService": ["cluster", "force"],
    "DeregisterContainerInstance": ["cluster", "force"],
    "DescribeContainerInstances": ["cluster"],
    "DescribeServices": ["cluster"],
    "DescribeTasks": ["cluster"],
    "DiscoverPollEndpoint": ["cluster", "containerInstance"],
    "ExecuteCommand": ["cluster", "container"],
    "ListAttributes": ["cluster"],
    "ListContainerInstances": ["cluster"],
    "ListServiceDeployments": ["cluster"],
    "ListServices": ["cluster"],
    "ListTasks": ["cluster"],
    "PutAttributes": ["cluster"],
    "RegisterContainerInstance": ["cluster", "instanceIdentityDocument",
                                  "instanceIdentityDocumentSignature", "totalResources",
                                  "versionInfo"],
    "RunTask": ["cluster"],
    "StartTask": ["cluster"],
    "StopTask": ["cluster"],
    "SubmitAttachmentStateChanges": ["cluster"],
    "SubmitContainerStateChange": ["cluster", "task", "containerName", "status"],
    "SubmitTaskStateChange": ["cluster", "task", "status"],
    "UpdateContainerAgent": ["cluster"],
    "UpdateContainerInstancesState": ["cluster"],
    "UpdateService": ["cluster"],
}
# Optional members never filled in the full input (a made-up pagination token is no test).
NEVER_FILL = {"nextToken", "clientToken"}

DESTRUCTIVE_PREFIXES = ("Delete", "Deregister", "Stop", "Untag", "Continue")
ACCOUNT_SETTING_OPS = {"PutAccountSetting", "PutAccountSettingDefault", "DeleteAccountSetting",
                       "ListAccountSettings"}

INT_HINTS = {
    "desiredCount": 1, "count": 1, "memory": 128, "memoryReservation": 64, "cpu": 128,
    "containerPort": 8080, "hostPort": 8080, "maxResults": 10, "weight": 1, "base": 0,
    "expiresInMinutes": 60, "healthCheckGracePeriodSeconds": 0, "exitCode": 0, "revision": 1,
    "minimumHealthyPercent": 100, "maximumPercent": 200, "targetCapacity": 100,
    "minimumScalingStepSize": 1, "maximumScalingStepSize": 10, "sizeInGiB": 21,
    "integerValue": 1024, "port": 8080, "minTaskCount": 1, "maxTaskCount": 1,
    "bakeTimeInMinutes": 0, "instanceWarmupPeriod": 300,
}
BOOL_HINTS = {"interactive": True, "protectionEnabled": True, "essential": True, "force": True,
              "effectiveSettings": True, "enabled": True}


class Generator:
    def __init__(self, model: botocore.model.ServiceModel, fx: Fixtures):
        self.model = model
        self.fx = fx

    # -- entry points ------------------------------------------------------------------------

    def build(self, op: str, variant: str) -> dict:
        om = self.model.operation_model(op)
        shape = om.input_shape
        if shape is None:
            return {}
        full = variant == "full"
        required = set(shape.required_members)
        essential = set(ESSENTIAL.get(op, ()))
        params = {}
        for name, ms in shape.members.items():
            if not (name in required or name in essential
                    or (full and name not in NEVER_FILL)):
                continue
            v = self.value(op, variant, name, ms)
            if v is not OMIT:
                params[name] = v
        return params

    # -- values ------------------------------------------------------------------------------

    def new_name(self, op: str, variant: str) -> str:
        return f"conf-{op}-{variant[0]}{self.fx.run}"

    def hint(self, op: str, variant: str, member: str, shape):
        """A plausible value for a member by its name, or None for the generic generator."""
        fx = self.fx
        t = shape.type_name
        is_list = t == "list"
        if t == "string" and shape.enum:
            return None  # the model's enum wins
        h = None
        if member == "cluster":
            h = fx.cluster
        elif member == "clusterArn":
            h = fx.cluster_arn or fx.arn(f"cluster/{FIXTURE_CLUSTER}")
        elif member == "clusters":
            h = [fx.cluster]
        elif member == "clusterName":
            h = self.new_name(op, variant)
        elif member == "serviceName":
            h = self.new_name(op, variant) if op.startswith("Create") else FIXTURE_SERVICE
        elif member == "service":
            h = (FIXTURE_EXTERNAL_SERVICE if "TaskSet" in op else FIXTURE_SERVICE)
        elif member == "services":
            h = [FIXTURE_SERVICE]
        elif member == "serviceArn":
            h = fx.express_service
        elif member == "taskDefinition":
            h = fx.taskdef
        elif member == "taskDefinitions":
            h = [fx.taskdef]
        elif member == "family":
            h = (self.new_name(op, variant) if op.startswith("Register")
                 else FIXTURE_DAEMON_FAMILY if "Daemon" in op else FIXTURE_FAMILY)
        elif member == "familyPrefix":
            h = FIXTURE_DAEMON_FAMILY if "Daemon" in op else FIXTURE_FAMILY
        elif member == "task":
            h = fx.task
        elif member == "tasks":
            h = [fx.task]
        elif member in ("containerInstance", "containerInstanceArn", "targetId"):
            h = fx.container_instance
        elif member == "containerInstances":
            h = [fx.container_instance]
        elif member == "resourceArn":
            h = fx.cluster_arn or fx.arn(f"cluster/{FIXTURE_CLUSTER}")
        elif member == "capacityProvider":
            h = FIXTURE_CAPACITY_PROVIDER if op.endswith("CapacityProvider") else "FARGATE"
        elif member == "capacityProviders":
            h = ([FIXTURE_CAPACITY_PROVIDER] if op == "DescribeCapacityProviders"
                 else ["FARGATE"])
        elif member == "capacityProviderArns":
            h = [fx.capacity_provider_arn]
        elif member == "name" and op == "CreateCapacityProvider":
            h = self.new_name(op, variant)
        elif member == "name" and op == "UpdateCapacityProvider":
            h = FIXTURE_CAPACITY_PROVIDER
        elif member in ("taskSet", "primaryTaskSet"):
            h = fx.taskset
        elif member == "taskSets":
            h = [fx.taskset]
        elif member == "daemonArn":
            h = fx.daemon
        elif member == "daemonName":
            h = self.new_name(op, variant) if op.startswith("Create") else FIXTURE_DAEMON
        elif member in ("daemonTaskDefinitionArn", "daemonTaskDefinition"):
            h = fx.daemon_taskdef
        elif member in ("serviceDeploymentArn",):
            h = fx.service_deployment
        elif member == "serviceDeploymentArns":
            h = [fx.service_deployment]
        elif member == "serviceRevisionArns":
            h = [fx.service_revision]
        elif member == "daemonDeploymentArns":
            h = [fx.daemon_deployment]
        elif member == "daemonRevisionArns":
            h = [fx.daemon_revision]
        elif member == "principalArn":
            h = fx.principal_arn
        elif member in ("role",) or (member.endswith("RoleArn") or member == "roleArn"):
            h = fx.role_arn
        elif member == "autoScalingGroupArn":
            h = fx.asg_arn
        elif member == "targetGroupArn":
            h = fx.target_group_arn
        elif member == "ec2InstanceProfileArn":
            h = f"arn:aws:iam::{fx.account}:instance-profile/conformance"
        elif member == "registryArn":
            h = (f"arn:aws:servicediscovery:{fx.region}:{fx.account}:"
                 "service/srv-0123456789abcdef")
        elif member == "attachmentArn":
            h = fx.arn("attachment/0123abcd-4567-89ab-cdef-0123456789ab")
        elif member == "namespace":
            h = "conformance-ns"
        elif member == "image":
            h = "busybox"
        elif member in ("container", "containerName"):
            h = FIXTURE_CONTAINER
        elif member == "command":
            h = "/bin/sh" if op == "ExecuteCommand" else ["sleep", "60"]
        elif member == "subnets":
            h = ["subnet-0123456789abcdef0"]
        elif member == "securityGroups":
            h = ["sg-0123456789abcdef0"]
        elif member == "tagKeys":
            h = ["conf-key"]
        elif member == "key":
            h = "conf-key"
        elif member == "value" and t == "string":
            h = "enabled" if op in ACCOUNT_SETTING_OPS else "conf-value"
        elif member == "attributeName":
            h = "conf-attr"
        elif member == "attributeValue":
            h = "conf-value"
        elif member == "instanceIdentityDocument":
            h = fx.identity_document()
        elif member == "totalResources":
            h = fx.instance_resources()
        elif member == "cpu" and t == "string":
            h = "256"
        elif member == "memory" and t == "string":
            h = "512"
        elif member == "platformVersion":
            h = "LATEST"
        elif member == "healthCheckPath":
            h = "/"
        elif member in ("startedBy", "group", "reason", "referenceId", "externalId", "hookId",
                        "runtimeId", "instanceIdentityDocumentSignature", "portName",
                        "loadBalancerName", "agentHash"):
            h = "conformance"
        elif member == "agentVersion":
            h = "1.80.0"
        elif member == "dockerVersion":
            h = "DockerVersion: 20.10.25"
        elif member == "status" and t == "string" and op.startswith("Submit"):
            h = "RUNNING"
        if h is None:
            return None
        if is_list and not isinstance(h, list):
            return [h]
        if not is_list and isinstance(h, list):
            return None
        return h

    TEMPLATES = {
        "Tag": lambda fx: {"key": "conf-key", "value": "conf-value"},
        "ClusterSetting": lambda fx: {"name": "containerInsights", "value": "enabled"},
        "CapacityProviderStrategyItem": lambda fx: {"capacityProvider": "FARGATE", "weight": 1},
        "Attribute": lambda fx: {"name": "conf-attr", "value": "conf-value",
                                 "targetType": "container-instance",
                                 "targetId": fx.container_instance},
        "ContainerDefinition": lambda fx: fx.container_definition(),
        "DaemonContainerDefinition": lambda fx: {"name": FIXTURE_CONTAINER, "image": "busybox",
                                                 "memory": 64},
        "Scale": lambda fx: {"value": 0.0, "unit": "PERCENT"},
        "DeploymentController": lambda fx: {"type": "ECS"},
        "KeyValuePair": lambda fx: {"name": "conf-name", "value": "conf-value"},
        "PlacementStrategy": lambda fx: {"type": "spread", "field": "attribute:ecs.availability-zone"},
        "PlacementConstraint": lambda fx: {"type": "distinctInstance"},
        "TaskDefinitionPlacementConstraint": lambda fx: {
            "type": "memberOf", "expression": "attribute:ecs.os-type == linux"},
        "Volume": lambda fx: {"name": "conf-volume"},
        "EphemeralStorage": lambda fx: {"sizeInGiB": 21},
        "ContainerStateChange": lambda fx: {"containerName": FIXTURE_CONTAINER,
                                            "status": "RUNNING"},
        "ContainerOverride": lambda fx: {"name": FIXTURE_CONTAINER},
        "NetworkBinding": lambda fx: {"containerPort": 8080, "hostPort": 8080,
                                      "protocol": "tcp"},
    }

    def value(self, op: str, variant: str, member: str, shape, depth: int = 0):
        if depth > 6:
            return OMIT
        h = self.hint(op, variant, member, shape)
        if h is not None:
            return self.fit(h, shape)
        t = shape.type_name
        if t == "structure":
            tpl_fn = self.TEMPLATES.get(shape.name)
            out = copy.deepcopy(tpl_fn(self.fx)) if tpl_fn else {}
            out = {k: v for k, v in out.items() if k in shape.members}
            members = list(shape.members.items())
            if shape.metadata.get("union"):
                if not out and members:
                    name, ms = members[0]
                    v = self.value(op, variant, name, ms, depth=depth + 1)
                    if v is not OMIT:
                        out[name] = v
                return out
            for name, ms in members:
                if name in out or name not in shape.required_members:
                    continue  # nested structures: required members only (one level deep)
                v = self.value(op, variant, name, ms, depth=depth + 1)
                if v is not OMIT:
                    out[name] = v
            return out
        if t == "list":
            if member == "include" and shape.member.enum:
                return list(shape.member.enum)  # ask for every optional field of the answer
            n = max(1, int(shape.metadata.get("min", 1) or 1))
            n = min(n, int(shape.metadata.get("max", n)))
            item = self.value(op, variant, member, shape.member, depth=depth + 1)
            if item is OMIT:
                return []
            return [copy.deepcopy(item) for _ in range(n)]
        if t == "map":
            v = self.value(op, variant, "value", shape.value, depth=depth + 1)
            return {} if v is OMIT else {"conf-key": v}
        if t == "string":
            if shape.enum:
                return shape.enum[0]
            return self.fit(f"conf-{member}", shape)
        if t in ("integer", "long"):
            return self.fit(INT_HINTS.get(member, 1), shape)
        if t in ("double", "float"):
            return self.fit(100.0 if member == "value" else 1.0, shape)
        if t == "boolean":
            return BOOL_HINTS.get(member, False)
        if t == "timestamp":
            return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if t == "blob":
            return b"conformance"
        return OMIT

    @staticmethod
    def fit(v, shape):
        """Clamp numbers to min/max; make strings meet min/max length and pattern."""
        t = shape.type_name
        meta = shape.metadata
        if t in ("integer", "long", "double", "float") and isinstance(v, (int, float)) \
                and not isinstance(v, bool):
            lo, hi = meta.get("min"), meta.get("max")
            if lo is not None and v < lo:
                v = lo
            if hi is not None and v > hi:
                v = hi
            return float(v) if t in ("double", "float") else int(v)
        if t == "string" and isinstance(v, str):
            pat = meta.get("pattern")
            if pat and not _pattern_ok(pat, v):
                for cand in ("conformance", "conf", "t3.medium", "a", "1", "conf-value", ""):
                    if _pattern_ok(pat, cand):
                        v = cand
                        break
            lo, hi = meta.get("min"), meta.get("max")
            if lo is not None and len(v) < lo:
                v = v + "x" * (lo - len(v))
            if hi is not None and len(v) > hi:
                v = v[:hi]
            return v
        return v


_UNICODE_CLASSES = {r"\p{L}": "a-zA-Z", r"\p{Z}": " ", r"\p{N}": "0-9"}


def _pattern_ok(pattern: str, value: str) -> bool:
    py = pattern
    for k, v in _UNICODE_CLASSES.items():
        py = py.replace(k, v)
    try:
        return re.fullmatch(py, value) is not None
    except re.error:
        return True  # a pattern Python cannot read: do not second-guess the value


# ------------------------------------------------------------------------------------------------
# Response validation
# ------------------------------------------------------------------------------------------------

def _jtype(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def check_value(shape, value, path: str, problems: list):
    if value is None:
        problems.append(f"{path}: null")
        return
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: {_jtype(value)}, expected object ({shape.name})")
            return
        wire_to_member = {ms.serialization.get("name", name): (name, ms)
                          for name, ms in shape.members.items()}
        for k, v in value.items():
            if k not in wire_to_member:
                problems.append(f"{path}.{k}: unknown member of {shape.name}")
                continue
            check_value(wire_to_member[k][1], v, f"{path}.{k}", problems)
        for r in shape.required_members:
            ms = shape.members[r]
            if ms.serialization.get("name", r) not in value:
                problems.append(f"{path}.{r}: required member missing")
        if shape.metadata.get("union") and len(value) != 1:
            problems.append(f"{path}: union {shape.name} has {len(value)} members set")
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: {_jtype(value)}, expected array")
            return
        for i, item in enumerate(value):
            check_value(shape.member, item, f"{path}[{i}]", problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: {_jtype(value)}, expected object (map)")
            return
        for k, v in value.items():
            check_value(shape.key, k, f"{path}{{key}}", problems)
            check_value(shape.value, v, f"{path}[{k!r}]", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: {_jtype(value)}, expected string")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.name}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: {_jtype(value)} {value!r:.40}, expected integer")
    elif t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: {_jtype(value)}, expected number")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: {_jtype(value)}, expected boolean")
    elif t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: {_jtype(value)} {value!r:.40}, expected epoch seconds "
                            "(number)")
    elif t == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: {_jtype(value)}, expected base64 string")
        else:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                problems.append(f"{path}: not valid base64")


def _generalise(problems: list) -> list:
    """`$.clusters[3].x: null` -> `$.clusters[*].x: null`, deduplicated, order kept."""
    seen, out = set(), []
    for p in problems:
        g = re.sub(r"\[\d+\]", "[*]", p)
        g = re.sub(r"\['[^']*'\]", "[*]", g)
        if g not in seen:
            seen.add(g)
            out.append(g)
    return out


def check_response(om, status, body: bytes | None) -> tuple[bool, str | None, list]:
    """(answered 200 and valid, error code or None, problems)."""
    problems: list = []
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else (body or "")
    try:
        doc = json.loads(text) if text.strip() else None
    except ValueError:
        doc = None
        problems.append(f"HTTP {status}: body is not JSON ({text[:60]!r})")
        return False, None, problems
    if status == 200:
        if doc is None:
            problems.append("HTTP 200 with an empty body (expected a JSON object)")
            return False, None, problems
        if om.output_shape is None:
            if doc != {}:
                problems.append("HTTP 200: the operation has no output but the body is not {}")
        else:
            check_value(om.output_shape, doc, "$", problems)
        return not problems, None, _generalise(problems)
    # An error.
    if not isinstance(doc, dict):
        problems.append(f"HTTP {status}: error body is not a JSON object")
        return False, None, problems
    raw_type = doc.get("__type")
    code = None
    if not isinstance(raw_type, str) or not raw_type:
        problems.append(f"HTTP {status}: error body has no __type")
    else:
        code = raw_type.split("#")[-1].split(":")[0]
        modelled = {e.name for e in om.error_shapes}
        if code in NOT_CONFORMANT_ERRORS:
            problems.append(f"{code} (HTTP {status})")
            return False, code, problems
        elif code not in modelled and code not in COMMON_ERRORS:
            problems.append(f"{code}: not a modelled error of {om.name}")
    if status is None or status >= 500:
        problems.append(f"HTTP {status} ({code}) for a valid input")
    elif not 400 <= status < 500:
        problems.append(f"HTTP {status} ({code}): an error must be 4xx")
    if "message" not in doc:
        problems.append(f"{code}: error body has no `message`"
                        + (" (has `Message`)" if "Message" in doc else ""))
    elif not isinstance(doc["message"], str):
        problems.append(f"{code}: `message` is {_jtype(doc['message'])}, expected string")
    return False, code, problems


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------

def _phase(op: str) -> int:
    if op.startswith(("Create", "Register", "Put", "Run", "Start", "Submit", "Tag")):
        return 0
    if op.startswith(("Describe", "List", "Get", "Discover")):
        return 1
    if op.startswith(DESTRUCTIVE_PREFIXES):
        return 3
    return 2


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    return v


class Runner:
    def __init__(self, args):
        self.args = args
        model_json, self.model_source = load_model_json(args.model)
        self.model = botocore.model.ServiceModel(model_json, SERVICE)
        self._tmp = tempfile.TemporaryDirectory(prefix="berth-conformance-")
        session = make_session(model_json, Path(self._tmp.name))
        self.examples = load_examples(session)
        self.client = make_client(session, args.endpoint_url, args.region, args.timeout)
        self.capture = Capture(self.client)
        self.setup_client = make_client(session, args.endpoint_url, args.region, args.timeout)
        self.fx = Fixtures(region=args.region)
        self.setup = Setup(self.setup_client, self.fx)
        self.gen = Generator(self.model, self.fx)

    def requests_for(self, op: str) -> list[tuple[str, dict]]:
        reqs = []
        for i, ex in enumerate(self.examples.get(op, []), 1):
            reqs.append((f"example#{i}", copy.deepcopy(ex.get("input", {}))))
        minimal = self.gen.build(op, "minimal")
        full = self.gen.build(op, "full")
        reqs.append(("minimal", minimal))
        if _jsonable(full) != _jsonable(minimal):
            reqs.append(("full", full))
        return reqs

    def send(self, op: str, source: str, params: dict) -> dict:
        om = self.model.operation_model(op)
        if not source.startswith("example") and op.startswith(DESTRUCTIVE_PREFIXES):
            params.update(self.setup.scratch(op, source, params))
        rec = {"source": source, "input": _jsonable(params)}
        self.capture.reset()
        t0 = time.monotonic()
        exc_text = None
        try:
            getattr(self.client, xform_name(op))(**params)
        except ParamValidationError as exc:
            rec.update(ok=True, skipped=True, valid_200=False,
                       problems=[f"runner: input rejected by botocore: {exc}"])
            return rec
        except ClientError:
            pass
        except Exception as exc:  # noqa: BLE001 - parse errors, timeouts, connection errors
            exc_text = f"{type(exc).__name__}: {exc}"
        rec["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        cap = self.capture
        rec["attempts"] = cap.attempts
        if cap.status is None:
            rec.update(ok=False, valid_200=False, status=None,
                       problems=[f"no HTTP response ({exc_text or 'unknown'})"])
            return rec
        body = cap.body or b""
        rec["status"] = cap.status
        rec["body"] = body.decode("utf-8", "replace")[:4000]
        valid_200, code, problems = check_response(om, cap.status, body)
        rec["code"] = code
        rec["valid_200"] = valid_200
        rec["problems"] = problems
        rec["ok"] = valid_200 or not problems
        return rec

    def run(self) -> dict:
        t_start = time.monotonic()
        self.setup.run()
        ops = list(self.model.operation_names)
        order = sorted(ops, key=lambda o: (_phase(o), ops.index(o)))
        results = {}
        for op in order:
            if self.args.only and op not in self.args.only:
                continue
            reqs = [self.send(op, src, params) for src, params in self.requests_for(op)]
            results[op] = self.verdict(op, reqs)
        elapsed = time.monotonic() - t_start
        return {"results": results, "elapsed_s": round(elapsed, 2), "operations": ops}

    @staticmethod
    def verdict(op: str, reqs: list) -> dict:
        sent = [r for r in reqs if not r.get("skipped")]
        reasons: dict[str, list] = {}
        for r in reqs:
            for p in r.get("problems", []) if not r.get("ok") or r.get("skipped") else []:
                reasons.setdefault(p, []).append(r["source"])
        any_200 = any(r.get("valid_200") for r in sent)
        all_ok = all(r.get("ok") for r in sent)
        if sent and all_ok and not any_200:
            codes = sorted({r.get("code") or "?" for r in sent})
            reasons.setdefault(f"no request answered 200 (errors: {', '.join(codes)})", [])
        conformant = bool(sent) and all_ok and any_200
        return {"conformant": conformant, "reasons": [
            {"problem": p, "sources": s} for p, s in reasons.items()], "requests": reqs}


def format_line(op: str, v: dict, width: int = 6) -> str:
    if v["conformant"]:
        n = len(v["requests"])
        notes = [r["problem"] for r in v["reasons"]]  # only runner notes can be here
        tail = f" ({n} request{'s' if n != 1 else ''})"
        if notes:
            tail += " [" + "; ".join(notes) + "]"
        return f"OK   {op}{tail}"
    parts = []
    for r in v["reasons"][:width]:
        src = ",".join(r["sources"])
        parts.append(f"{r['problem']}" + (f" [{src}]" if src else ""))
    more = len(v["reasons"]) - width
    if more > 0:
        parts.append(f"(+{more} more; see --json)")
    return f"FAIL {op}: " + "; ".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint-url", required=True, help="berth's URL, e.g. http://127.0.0.1:4566")
    ap.add_argument("--json", type=Path, help="write every request, response and verdict here")
    ap.add_argument("--min", type=int, default=None,
                    help="exit 1 when fewer than this many operations are conformant")
    ap.add_argument("--region", default="us-east-1", help="region to sign for (default us-east-1)")
    ap.add_argument("--model", type=Path, default=None,
                    help="service-2.json(.gz) to use instead of the vendored ECS model")
    ap.add_argument("--only", type=lambda s: set(filter(None, s.split(","))), default=None,
                    help="comma-separated operations to run (the others count as not conformant)")
    ap.add_argument("--timeout", type=float, default=15.0, help="read timeout per request, s")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print every request's status and problems")
    args = ap.parse_args(argv)

    runner = Runner(args)
    out = runner.run()
    results, ops = out["results"], out["operations"]

    fx = runner.fx
    failed_steps = [f"{s['step']}={s['error']}" for s in fx.steps if not s["ok"]]
    print(f"# model: {runner.model_source} ({len(ops)} operations); region {args.region}; "
          f"fixture steps failed: {', '.join(failed_steps) or 'none'}", file=sys.stderr)

    conformant = 0
    for op in ops:
        v = results.get(op)
        if v is None:
            print(f"SKIP {op}: not run (--only)")
            continue
        conformant += v["conformant"]
        print(format_line(op, v))
        if args.verbose:
            for r in v["requests"]:
                print(f"       {r['source']}: HTTP {r.get('status')} {r.get('code') or ''} "
                      f"{'; '.join(r.get('problems', []))}")
    summary = f"{conformant}/{len(ops)} operations conformant"
    print(summary)
    print(f"# {sum(len(v['requests']) for v in results.values())} requests in "
          f"{out['elapsed_s']} s", file=sys.stderr)

    if args.json:
        report = {
            "endpoint": args.endpoint_url, "region": args.region, "model": runner.model_source,
            "botocore": botocore.__version__, "summary": summary, "conformant": conformant,
            "total": len(ops), "elapsed_s": out["elapsed_s"],
            "fixtures": {"steps": fx.steps, "cluster": FIXTURE_CLUSTER,
                         "taskDefinition": fx.td_arn, "service": fx.service_arn,
                         "task": fx.task_arn, "containerInstance": fx.ci_arn,
                         "capacityProvider": fx.cp_arn, "taskSet": fx.task_set},
            "operations": {op: results[op] for op in ops if op in results},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")

    if args.min is not None and conformant < args.min:
        print(f"# fewer than --min {args.min} operations conformant", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
