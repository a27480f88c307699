"""Shared helpers for the black-box suite: ARNs, unique names, error assertions and small
builders for the ECS requests the tests repeat. The fixtures live in conftest.py."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

# The repository: the suite's files sit in tests/py/<service>/.
REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "000000000000"
REGION = "us-east-1"
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
JSON_11 = "application/x-amz-json-1.1"


def unique(prefix: str = "t") -> str:
    """A name that no other test uses: tests share one server and must not collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def cluster_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{name}"


def task_definition_arn(family: str, revision: int, region: str = REGION) -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:{revision}"


def capacity_provider_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:ecs:{region}:{ACCOUNT}:capacity-provider/{name}"


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def type_code(type_field: str) -> str:
    """`__type` may be a bare code or namespaced (`com.amazonaws.ecs#ClientException`)."""
    return type_field.split("#")[-1].split(":")[0]


@contextlib.contextmanager
def raises_code(*codes: str, status: int = 400):
    """Expect a ClientError whose Error.Code is one of `codes` and whose HTTP status is `status`.

    Several codes are accepted only where AWS's documentation does not pin the code down."""
    with pytest.raises(ClientError) as info:
        yield info
    err = info.value
    code = error_code(err)
    assert code in codes, (
        f"expected error code {' or '.join(codes)}, got {code}: "
        f"{err.response['Error'].get('Message')!r}"
    )
    got_status = err.response["ResponseMetadata"]["HTTPStatusCode"]
    assert got_status == status, f"{code}: expected HTTP {status}, got {got_status}"


def container(name: str = "web", image: str = "public.ecr.aws/docker/library/busybox:latest",
              no_memory: bool = False, **extra) -> dict:
    """A container definition; it gets `memory: 128` unless it sets memory itself or says no_memory."""
    c = {"name": name, "image": image}
    if not no_memory and "memory" not in extra and "memoryReservation" not in extra:
        c["memory"] = 128
    c.update(extra)
    return c


def register(ecs, family: str | None = None, containers: list | None = None, **kwargs) -> dict:
    """Register a plain EC2-compatible task definition and return `taskDefinition`."""
    family = family or unique("fam")
    resp = ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **kwargs
    )
    return resp["taskDefinition"]


def fargate_kwargs(cpu: str = "256", memory: str = "512") -> dict:
    return {
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
    }


NOT_IMPLEMENTED_CODES = {"NotImplementedException", "NotImplemented", "UnknownOperationException",
                         "UnsupportedOperation"}


def is_not_implemented(exc: ClientError) -> bool:
    status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return status == 501 or error_code(exc) in NOT_IMPLEMENTED_CODES


def call_or_skip(what: str, fn, *args, **kwargs):
    """Call an operation that belongs to a later issue; skip the test while berth lacks it."""
    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        if is_not_implemented(exc):
            pytest.skip(f"{what} is not implemented by berth yet ({error_code(exc)})")
        raise


def register_container_instance(ecs, cluster: str, region: str = REGION) -> str:
    """Register a container instance the way the ECS agent does; skip while berth lacks it."""
    import json

    doc = {
        "accountId": ACCOUNT, "region": region, "availabilityZone": f"{region}a",
        "instanceId": "i-" + uuid.uuid4().hex[:17], "instanceType": "t3.medium",
        "imageId": "ami-0123456789abcdef0", "privateIp": "10.0.0.10", "architecture": "x86_64",
    }
    resp = call_or_skip(
        "RegisterContainerInstance", ecs.register_container_instance,
        cluster=cluster,
        instanceIdentityDocument=json.dumps(doc),
        instanceIdentityDocumentSignature="signature",
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 3768},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678"]},
        ],
        versionInfo={"agentVersion": "1.80.0", "agentHash": "0123abcd", "dockerVersion": "20.10.25"},
    )
    return resp["containerInstance"]["containerInstanceArn"]
