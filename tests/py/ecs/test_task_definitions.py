"""Task definitions: RegisterTaskDefinition validation and defaults, DescribeTaskDefinition,
ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition, DeleteTaskDefinitions."""

import datetime

import pytest
from botocore.exceptions import ClientError

from berth_helpers import (
    ACCOUNT,
    container,
    error_code,
    fargate_kwargs,
    raises_code,
    register,
    task_definition_arn,
    unique,
)


def _list_all(ecs, **kwargs):
    arns = []
    for page in ecs.get_paginator("list_task_definitions").paginate(**kwargs):
        arns += page["taskDefinitionArns"]
    return arns


def _families(ecs, **kwargs):
    out = []
    for page in ecs.get_paginator("list_task_definition_families").paginate(**kwargs):
        out += page["families"]
    return out


# ---- RegisterTaskDefinition: the happy path ------------------------------------------------

def test_register_returns_documented_fields(ecs):
    family = unique("fam")
    before = datetime.datetime.now(datetime.timezone.utc)
    td = register(ecs, family, [container("web", memory=256,
                                          portMappings=[{"containerPort": 80, "hostPort": 8080}])])
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert td["taskDefinitionArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:1"
    assert td["family"] == family
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert "EC2" in td["compatibilities"]
    # "If no value is specified, the parameter is omitted from the response."
    assert "requiresCompatibilities" not in td
    assert isinstance(td["registeredAt"], datetime.datetime)
    skew = abs((td["registeredAt"] - before).total_seconds())
    assert skew < 300, f"registeredAt {td['registeredAt']} is not now ({before})"
    assert isinstance(td["registeredBy"], str) and td["registeredBy"].startswith("arn:aws:")
    assert ACCOUNT in td["registeredBy"]

    (c,) = td["containerDefinitions"]
    assert c["name"] == "web"
    assert c["image"] == "public.ecr.aws/docker/library/busybox:latest"
    assert c["memory"] == 256
    # "If this parameter is omitted, a container is assumed to be essential."
    assert c["essential"] is True
    (pm,) = c["portMappings"]
    assert pm["containerPort"] == 80
    assert pm["hostPort"] == 8080
    assert pm["protocol"] == "tcp"  # "The default is tcp."
    assert td.get("volumes", []) == []
    assert td.get("placementConstraints", []) == []


def test_register_echoes_optional_fields(ecs):
    family = unique("fam")
    td = register(
        ecs, family,
        [container("app", memory=512, memoryReservation=256, cpu=128, essential=True,
                   command=["sleep", "60"], environment=[{"name": "A", "value": "1"}])],
        networkMode="bridge",
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/task",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
        volumes=[{"name": "data", "host": {"sourcePath": "/tmp/data"}}],
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        pidMode="task",
        ipcMode="none",
    )
    assert td["networkMode"] == "bridge"
    assert td["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/task"
    assert td["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/exec"
    assert td["volumes"] == [{"name": "data", "host": {"sourcePath": "/tmp/data"}}]
    assert td["placementConstraints"] == [
        {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]
    assert td["pidMode"] == "task"
    assert td["ipcMode"] == "none"
    c = td["containerDefinitions"][0]
    assert (c["memory"], c["memoryReservation"], c["cpu"]) == (512, 256, 128)
    assert c["command"] == ["sleep", "60"]
    assert c["environment"] == [{"name": "A", "value": "1"}]
    assert isinstance(td.get("requiresAttributes", []), list)



def test_efs_volume_root_directory_defaults_to_slash(ecs):
    # "If this parameter is omitted, the root of the Amazon EFS volume will be used": ECS
    # describes it as "/".
    td = register(ecs, volumes=[{"name": "shared",
                                 "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}}])
    (volume,) = td["volumes"]
    assert volume["efsVolumeConfiguration"] == {"fileSystemId": "fs-12345678",
                                                "rootDirectory": "/"}
    given = register(ecs, volumes=[{"name": "shared", "efsVolumeConfiguration": {
        "fileSystemId": "fs-12345678", "rootDirectory": "/data"}}])
    assert given["volumes"][0]["efsVolumeConfiguration"]["rootDirectory"] == "/data"
    described = ecs.describe_task_definition(taskDefinition=td["taskDefinitionArn"])
    assert described["taskDefinition"]["volumes"] == td["volumes"]


def test_task_memory_is_enough_without_container_memory(ecs):
    td = register(ecs, containers=[container(no_memory=True)], memory="512")
    assert td["memory"] == "512"
    assert "memory" not in td["containerDefinitions"][0]


def test_memory_reservation_alone_is_enough(ecs):
    td = register(ecs, containers=[container(memoryReservation=64)])
    assert td["containerDefinitions"][0]["memoryReservation"] == 64


def test_task_cpu_and_memory_strings_are_converted(ecs):
    # "String values are converted to an integer indicating the CPU units / MiB when the task
    # definition is registered."
    td = register(ecs, cpu="1 vCPU", memory="2GB")
    assert td["cpu"] == "1024"
    assert td["memory"] == "2048"


def test_revision_numbering_is_per_family(ecs):
    a, b = unique("fa"), unique("fb")
    assert [register(ecs, a)["revision"] for _ in range(3)] == [1, 2, 3]
    assert register(ecs, b)["revision"] == 1
    # "the revision value always increases by one ... even if you deregistered previous revisions"
    ecs.deregister_task_definition(taskDefinition=f"{a}:3")
    td = register(ecs, a)
    assert td["revision"] == 4
    assert td["taskDefinitionArn"] == task_definition_arn(a, 4)


# ---- RegisterTaskDefinition: validation ----------------------------------------------------

@pytest.mark.parametrize("family", ["has space", "bad.family", "bad/family", "bad:1", "ü", "a" * 256])
def test_invalid_family_names_are_refused(ecs, family):
    with raises_code("ClientException"):
        ecs.register_task_definition(family=family, containerDefinitions=[container()])


def test_family_of_255_allowed_characters_is_accepted(ecs):
    family = (unique("Fam_") + "-" + "x" * 255)[:255]
    td = register(ecs, family)
    assert td["family"] == family
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)


@pytest.mark.parametrize("name", ["has space", "bad.name", "a" * 256])
def test_invalid_container_names_are_refused(ecs, name):
    with raises_code("ClientException"):
        register(ecs, containers=[container(name)])


def test_duplicate_container_names_are_refused(ecs):
    with raises_code("ClientException"):
        register(ecs, containers=[container("same"), container("same")])


def test_container_without_any_memory_is_refused_for_ec2(ecs):
    # "If a task-level memory value is not specified, you must specify a non-zero integer for one
    # or both of memory or memoryReservation in a container definition."
    with raises_code("ClientException"):
        register(ecs, containers=[container(no_memory=True)])


def test_memory_reservation_above_memory_is_refused(ecs):
    # "If you specify both, memory must be greater than memoryReservation."
    with raises_code("ClientException"):
        register(ecs, containers=[container(memory=128, memoryReservation=256)])


def test_at_least_one_essential_container(ecs):
    # "All tasks must have at least one essential container."
    with raises_code("ClientException"):
        register(ecs, containers=[container("a", essential=False), container("b", essential=False)])


def test_awsvpc_host_port_must_equal_container_port(ecs):
    with raises_code("ClientException"):
        register(ecs, networkMode="awsvpc",
                 containers=[container(portMappings=[{"containerPort": 80, "hostPort": 8080}])])


def test_awsvpc_host_port_defaults_to_container_port(ecs):
    td = register(ecs, networkMode="awsvpc",
                  containers=[container(portMappings=[{"containerPort": 8080}])])
    (pm,) = td["containerDefinitions"][0]["portMappings"]
    assert pm["containerPort"] == 8080
    assert pm["hostPort"] == 8080
    assert td["networkMode"] == "awsvpc"


def test_host_network_host_port_must_equal_container_port(ecs):
    # "If the network mode of a task definition is set to host, then host ports must either be
    # undefined or they must match the container port in the port mapping."
    with raises_code("ClientException"):
        register(ecs, networkMode="host",
                 containers=[container(portMappings=[{"containerPort": 80, "hostPort": 81}])])


def test_network_mode_none_allows_no_port_mappings(ecs):
    # "If the network mode is set to none, you cannot specify port mappings"
    with raises_code("ClientException"):
        register(ecs, networkMode="none", containers=[container(portMappings=[{"containerPort": 80}])])


# ---- Fargate --------------------------------------------------------------------------------

VALID_FARGATE = [("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"),
                 ("1024", "2048"), ("1024", "8192"), ("2048", "4096"), ("2048", "16384"),
                 ("4096", "8192"), ("4096", "30720"), ("8192", "16384"), ("8192", "61440"),
                 ("16384", "32768"), ("16384", "122880")]
INVALID_FARGATE = [("256", "4096"), ("256", "256"), ("512", "512"), ("512", "5120"),
                   ("1024", "1024"), ("1024", "9216"), ("2048", "2048"), ("2048", "17408"),
                   ("4096", "31744"), ("8192", "18432"), ("16384", "36864"), ("128", "512"),
                   ("3072", "8192")]


@pytest.mark.parametrize("cpu,memory", VALID_FARGATE)
def test_fargate_accepts_documented_cpu_memory_pairs(ecs, cpu, memory):
    td = register(ecs, containers=[container(no_memory=True)], **fargate_kwargs(cpu, memory))
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert "FARGATE" in td["compatibilities"]
    assert (td["cpu"], td["memory"]) == (cpu, memory)
    assert td["networkMode"] == "awsvpc"


@pytest.mark.parametrize("cpu,memory", INVALID_FARGATE)
def test_fargate_refuses_other_cpu_memory_pairs(ecs, cpu, memory):
    with raises_code("ClientException"):
        register(ecs, containers=[container(no_memory=True)], **fargate_kwargs(cpu, memory))


def test_fargate_requires_awsvpc(ecs):
    for mode in ("bridge", "host", "none"):
        with raises_code("ClientException"):
            register(ecs, requiresCompatibilities=["FARGATE"], networkMode=mode, cpu="256",
                     memory="512")
    with raises_code("ClientException"):  # no networkMode means bridge
        register(ecs, requiresCompatibilities=["FARGATE"], cpu="256", memory="512")


def test_fargate_requires_task_cpu_and_memory(ecs):
    with raises_code("ClientException"):
        register(ecs, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", memory="512")
    with raises_code("ClientException"):
        register(ecs, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256")



def test_fargate_refuses_host_pid_mode_and_ipc_mode(ecs):
    # pidMode: "On Fargate for Linux containers, the only valid value is task."
    with raises_code("ClientException") as info:
        register(ecs, containers=[container(no_memory=True)], pidMode="host", **fargate_kwargs())
    assert "pidMode" in info.value.response["Error"]["Message"]
    # ipcMode: "This parameter is not supported for ... tasks run on Fargate."
    with raises_code("ClientException"):
        register(ecs, containers=[container(no_memory=True)], ipcMode="task", **fargate_kwargs())
    assert register(ecs, containers=[container(no_memory=True)], pidMode="task",
                    **fargate_kwargs())["pidMode"] == "task"
    # Without FARGATE asked for, the definition registers, but is not Fargate-compatible.
    td = register(ecs, containers=[container(no_memory=True)], pidMode="host", cpu="256",
                  memory="512", networkMode="awsvpc")
    assert "FARGATE" not in td["compatibilities"]


# ---- DescribeTaskDefinition ----------------------------------------------------------------

def test_describe_by_family_revision_and_arn(ecs):
    family = unique("fam")
    for _ in range(2):
        register(ecs, family)
    latest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert latest["revision"] == 2
    assert latest["taskDefinitionArn"] == task_definition_arn(family, 2)
    first = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert first["revision"] == 1
    by_arn = ecs.describe_task_definition(taskDefinition=task_definition_arn(family, 1))
    assert by_arn["taskDefinition"]["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert by_arn["taskDefinition"]["family"] == family


def test_describe_family_gives_latest_active_revision(ecs):
    family = unique("fam")
    for _ in range(3):
        register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:3")
    td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert td["revision"] == 2
    assert td["status"] == "ACTIVE"


def test_describe_unknown_task_definition(ecs):
    family = unique("nope")
    for ident in (family, f"{family}:1", task_definition_arn(family, 1)):
        with raises_code("ClientException"):
            ecs.describe_task_definition(taskDefinition=ident)
    known = unique("fam")
    register(ecs, known)
    with raises_code("ClientException"):
        ecs.describe_task_definition(taskDefinition=f"{known}:2")


def test_describe_include_tags(ecs):
    family = unique("fam")
    tags = [{"key": "team", "value": "a"}, {"key": "cost", "value": "b"}]
    register(ecs, family, tags=tags)
    plain = ecs.describe_task_definition(taskDefinition=family)
    assert not plain.get("tags"), "tags only come back with include=[TAGS]"
    with_tags = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    assert sorted(with_tags["tags"], key=lambda t: t["key"]) == sorted(tags, key=lambda t: t["key"])


def test_register_returns_tags(ecs):
    tags = [{"key": "k", "value": "v"}]
    resp = ecs.register_task_definition(family=unique("fam"), containerDefinitions=[container()],
                                        tags=tags)
    assert resp["tags"] == tags


def test_register_refuses_more_than_50_tags(ecs):
    tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    with raises_code("InvalidParameterException"):
        register(ecs, tags=tags)


def test_register_refuses_aws_prefixed_tags(ecs):
    with raises_code("InvalidParameterException"):
        register(ecs, tags=[{"key": "aws:owner", "value": "me"}])


# ---- DeregisterTaskDefinition / DeleteTaskDefinitions --------------------------------------

def test_deregister_makes_inactive_but_still_describable(ecs):
    family = unique("fam")
    register(ecs, family)
    td = ecs.deregister_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert td["status"] == "INACTIVE"
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert isinstance(td.get("deregisteredAt"), datetime.datetime)
    again = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert again["status"] == "INACTIVE"
    assert again["revision"] == 1
    by_arn = ecs.describe_task_definition(taskDefinition=task_definition_arn(family, 1))
    assert by_arn["taskDefinition"]["status"] == "INACTIVE"


def test_deregister_by_arn(ecs):
    family = unique("fam")
    register(ecs, family)
    td = ecs.deregister_task_definition(taskDefinition=task_definition_arn(family, 1))
    assert td["taskDefinition"]["status"] == "INACTIVE"


def test_deregister_requires_a_revision(ecs):
    family = unique("fam")
    register(ecs, family)
    # "You must specify a revision." AWS does not document which client error it uses.
    with raises_code("ClientException", "InvalidParameterException"):
        ecs.deregister_task_definition(taskDefinition=family)
    assert ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"][
        "status"] == "ACTIVE"


def test_deregister_unknown(ecs):
    with raises_code("ClientException", "InvalidParameterException"):
        ecs.deregister_task_definition(taskDefinition=f"{unique('nope')}:1")


def test_delete_inactive_task_definition(ecs):
    family = unique("fam")
    register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    resp = ecs.delete_task_definitions(taskDefinitions=[f"{family}:1"])
    assert resp.get("failures", []) == []
    (td,) = resp["taskDefinitions"]
    assert td["status"] == "DELETE_IN_PROGRESS"
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert isinstance(td.get("deleteRequestedAt"), datetime.datetime)
    # The revision number stays taken.
    assert register(ecs, family)["revision"] == 2


def test_delete_active_task_definition_is_not_done(ecs):
    # "You must deregister a task definition revision before you delete it."
    family = unique("fam")
    register(ecs, family)
    try:
        resp = ecs.delete_task_definitions(taskDefinitions=[f"{family}:1"])
    except ClientError as exc:
        assert error_code(exc) in ("ClientException", "InvalidParameterException")
    else:
        assert resp.get("taskDefinitions", []) == []
        (failure,) = resp["failures"]
        assert failure["arn"] == task_definition_arn(family, 1)
        assert failure.get("reason")
    td = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert td["status"] == "ACTIVE"



def test_delete_needs_a_revision_in_each_identifier(ecs):
    # "You must specify a revision." An identifier without one is invalid, whether or not its
    # family exists; the other identifiers of the call are still deleted.
    family = unique("fam")
    register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    resp = ecs.delete_task_definitions(taskDefinitions=[family, f"{family}:1"])
    (failure,) = resp["failures"]
    assert failure["arn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}"
    assert failure["reason"] != "TASK_DEFINITION_NOT_FOUND"
    assert "invalid" in failure.get("detail", "")
    assert [td["revision"] for td in resp["taskDefinitions"]] == [1]
    unknown = ecs.delete_task_definitions(taskDefinitions=[f"{family}:7"])["failures"]
    assert [f["reason"] for f in unknown] == ["TASK_DEFINITION_NOT_FOUND"]


def test_delete_at_most_ten_task_definitions_per_call(ecs):
    # "You can specify up to 10 task definitions as a comma separated list."
    family = unique("fam")
    for _ in range(11):
        register(ecs, family)
    idents = [f"{family}:{r}" for r in range(1, 12)]
    for ident in idents:
        ecs.deregister_task_definition(taskDefinition=ident)
    with raises_code("InvalidParameterException", "ClientException"):
        ecs.delete_task_definitions(taskDefinitions=idents)
    assert ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"][
        "status"] == "INACTIVE"


# ---- ListTaskDefinitions / ListTaskDefinitionFamilies --------------------------------------

def test_list_task_definitions_family_status_and_sort(ecs):
    family = unique("lf")
    other = family + "-extra"  # familyPrefix is "the full family name", not a prefix
    for _ in range(3):
        register(ecs, family)
    register(ecs, other)
    ecs.deregister_task_definition(taskDefinition=f"{family}:2")

    active = _list_all(ecs, familyPrefix=family)
    assert active == [task_definition_arn(family, 1), task_definition_arn(family, 3)]
    inactive = _list_all(ecs, familyPrefix=family, status="INACTIVE")
    assert inactive == [task_definition_arn(family, 2)]
    desc = _list_all(ecs, familyPrefix=family, sort="DESC")
    assert desc == [task_definition_arn(family, 3), task_definition_arn(family, 1)]
    assert _list_all(ecs, familyPrefix=other) == [task_definition_arn(other, 1)]


def test_list_task_definitions_without_filter_includes_new_ones_in_order(ecs):
    a = unique("aa")
    register(ecs, a)
    register(ecs, a)
    everything = _list_all(ecs)
    assert task_definition_arn(a, 1) in everything and task_definition_arn(a, 2) in everything
    assert everything.index(task_definition_arn(a, 1)) < everything.index(task_definition_arn(a, 2))
    assert len(everything) == len(set(everything))


def test_list_task_definitions_paginates_250_revisions(ecs):
    family = unique("page")
    for _ in range(250):
        ecs.register_task_definition(family=family, containerDefinitions=[container()])
    expected = [task_definition_arn(family, r) for r in range(1, 251)]

    # boto3's paginator, 7 a page
    seen, pages = [], 0
    for page in ecs.get_paginator("list_task_definitions").paginate(
            familyPrefix=family, PaginationConfig={"PageSize": 7}):
        assert len(page["taskDefinitionArns"]) <= 7
        seen += page["taskDefinitionArns"]
        pages += 1
    assert seen == expected
    assert pages >= 36

    # the same by hand, newest first
    seen, token = [], None
    for _ in range(100):
        kwargs = {"familyPrefix": family, "maxResults": 7, "sort": "DESC"}
        if token:
            kwargs["nextToken"] = token
        page = ecs.list_task_definitions(**kwargs)
        assert len(page["taskDefinitionArns"]) <= 7
        seen += page["taskDefinitionArns"]
        token = page.get("nextToken")
        if not token:
            break
    else:
        pytest.fail("ListTaskDefinitions pagination does not end")
    assert seen == expected[::-1]
    assert len(set(seen)) == 250

    # without maxResults: "returns up to 100 results and a nextToken value if applicable"
    first = ecs.list_task_definitions(familyPrefix=family)
    n = len(first["taskDefinitionArns"])
    assert 1 <= n <= 100
    assert first["taskDefinitionArns"] == expected[:n]
    assert first.get("nextToken")


def test_list_task_definition_families(ecs):
    prefix = unique("fp")
    live, dead = prefix + "-live", prefix + "-dead"
    register(ecs, live)
    register(ecs, dead)
    ecs.deregister_task_definition(taskDefinition=f"{dead}:1")
    # "By default, both ACTIVE and INACTIVE task definition families are listed."
    assert sorted(_families(ecs, familyPrefix=prefix)) == sorted([live, dead])
    assert _families(ecs, familyPrefix=prefix, status="ACTIVE") == [live]
    assert _families(ecs, familyPrefix=prefix, status="INACTIVE") == [dead]
    assert sorted(_families(ecs, familyPrefix=prefix, status="ALL")) == sorted([live, dead])
    assert _families(ecs, familyPrefix=unique("none")) == []


def test_list_task_definition_families_paginates(ecs):
    prefix = unique("fpp")
    names = sorted(f"{prefix}-{i:02d}" for i in range(9))
    for n in names:
        register(ecs, n)
    seen = []
    for page in ecs.get_paginator("list_task_definition_families").paginate(
            familyPrefix=prefix, PaginationConfig={"PageSize": 4}):
        assert len(page["families"]) <= 4
        seen += page["families"]
    assert seen == names
