"""Capacity providers: the reserved FARGATE and FARGATE_SPOT, Create/Describe/Update/Delete for
Auto Scaling group providers, and PutClusterCapacityProviders."""

import uuid

import pytest

from berth_helpers import (
    ACCOUNT,
    capacity_provider_arn,
    cluster_arn,
    raises_code,
    unique,
)


def _asg_arn(name: str) -> str:
    return (f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:{uuid.uuid4()}:"
            f"autoScalingGroupName/{name}")


def _create(ecs, name=None, **kwargs):
    name = name or unique("cp")
    resp = ecs.create_capacity_provider(
        name=name, autoScalingGroupProvider={"autoScalingGroupArn": _asg_arn(name + "-asg")},
        **kwargs)
    return resp["capacityProvider"]


def _describe_all(ecs, **kwargs):
    providers, failures, token = [], [], None
    for _ in range(50):
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        page = ecs.describe_capacity_providers(**args)
        providers += page.get("capacityProviders", [])
        failures += page.get("failures", [])
        token = page.get("nextToken")
        if not token:
            return providers, failures
    pytest.fail("DescribeCapacityProviders pagination does not end")


# ---- FARGATE and FARGATE_SPOT --------------------------------------------------------------

def test_fargate_providers_exist(ecs):
    providers, failures = _describe_all(ecs)
    assert failures == []
    by_name = {p["name"]: p for p in providers}
    for name in ("FARGATE", "FARGATE_SPOT"):
        assert name in by_name, f"{name} missing from {sorted(by_name)}"
        p = by_name[name]
        assert p["capacityProviderArn"] == capacity_provider_arn(name)
        assert p["status"] == "ACTIVE"


def test_describe_named_providers(ecs):
    resp = ecs.describe_capacity_providers(capacityProviders=["FARGATE_SPOT"])
    assert [p["name"] for p in resp["capacityProviders"]] == ["FARGATE_SPOT"]
    resp = ecs.describe_capacity_providers(capacityProviders=[capacity_provider_arn("FARGATE")])
    assert [p["name"] for p in resp["capacityProviders"]] == ["FARGATE"]


def test_describe_unknown_provider_reports_missing(ecs):
    name = unique("nope")
    resp = ecs.describe_capacity_providers(capacityProviders=[name])
    assert resp["capacityProviders"] == []
    assert resp["failures"] == [{"arn": capacity_provider_arn(name), "reason": "MISSING"}]


def test_fargate_providers_cannot_be_deleted(ecs):
    for name in ("FARGATE", "FARGATE_SPOT"):
        with raises_code("ClientException", "InvalidParameterException"):
            ecs.delete_capacity_provider(capacityProvider=name)


# ---- Create / Update / Delete --------------------------------------------------------------

def test_create_capacity_provider(ecs):
    name = unique("cp")
    asg = _asg_arn(name)
    tags = [{"key": "team", "value": "infra"}]
    p = ecs.create_capacity_provider(
        name=name,
        autoScalingGroupProvider={
            "autoScalingGroupArn": asg,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 80},
            "managedTerminationProtection": "DISABLED",
        },
        tags=tags,
    )["capacityProvider"]
    assert p["name"] == name
    assert p["capacityProviderArn"] == capacity_provider_arn(name)
    assert p["status"] == "ACTIVE"
    asgp = p["autoScalingGroupProvider"]
    assert asgp["autoScalingGroupArn"] == asg
    assert asgp["managedScaling"]["status"] == "ENABLED"
    assert asgp["managedScaling"]["targetCapacity"] == 80
    assert asgp["managedTerminationProtection"] == "DISABLED"

    described, failures = _describe_all(ecs, capacityProviders=[name], include=["TAGS"])
    assert failures == []
    (d,) = described
    assert d["capacityProviderArn"] == capacity_provider_arn(name)
    assert d["tags"] == tags
    assert name in {p["name"] for p in _describe_all(ecs)[0]}


@pytest.mark.parametrize("prefix", ["aws", "ecs", "fargate", "AWS", "Fargate"])
def test_create_refuses_reserved_prefixes(ecs, prefix):
    # "The name can't be prefixed with "aws", "ecs", or "fargate"."
    with raises_code("ClientException", "InvalidParameterException"):
        _create(ecs, name=f"{prefix}{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize("bad", ["has space", "bad!", "a" * 256])
def test_create_refuses_invalid_names(ecs, bad):
    with raises_code("ClientException", "InvalidParameterException"):
        _create(ecs, name=bad)


def test_create_duplicate_name_is_refused(ecs):
    name = unique("cp")
    _create(ecs, name=name)
    with raises_code("ClientException", "InvalidParameterException"):
        _create(ecs, name=name)


def test_update_capacity_provider(ecs):
    p = _create(ecs)
    updated = ecs.update_capacity_provider(
        name=p["name"],
        autoScalingGroupProvider={"managedScaling": {"status": "ENABLED", "targetCapacity": 50}},
    )["capacityProvider"]
    assert updated["name"] == p["name"]
    # The members not given keep their documented defaults ("If this parameter is omitted, the
    # default value of ... is used").
    scaling = {"status": "ENABLED", "targetCapacity": 50, "minimumScalingStepSize": 1,
               "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300}
    assert updated["autoScalingGroupProvider"]["managedScaling"] == scaling
    (d,), _ = _describe_all(ecs, capacityProviders=[p["name"]])
    assert d["autoScalingGroupProvider"]["managedScaling"] == scaling
    again = ecs.update_capacity_provider(
        name=p["name"], autoScalingGroupProvider={"managedScaling": {"maximumScalingStepSize": 4}},
    )["capacityProvider"]["autoScalingGroupProvider"]["managedScaling"]
    assert (again["targetCapacity"], again["minimumScalingStepSize"],
            again["maximumScalingStepSize"]) == (100, 1, 4)


def test_update_unknown_capacity_provider(ecs):
    with raises_code("ClientException", "InvalidParameterException"):
        ecs.update_capacity_provider(
            name=unique("nope"),
            autoScalingGroupProvider={"managedScaling": {"status": "DISABLED"}})


def test_delete_capacity_provider(ecs):
    p = _create(ecs)
    deleted = ecs.delete_capacity_provider(capacityProvider=p["name"])["capacityProvider"]
    assert deleted["capacityProviderArn"] == p["capacityProviderArn"]
    # AWS answers while the deletion runs (ACTIVE + DELETE_IN_PROGRESS) and ends INACTIVE +
    # DELETE_COMPLETE; an emulator may finish at once.
    assert (deleted["status"], deleted.get("updateStatus")) in (
        ("ACTIVE", "DELETE_IN_PROGRESS"), ("INACTIVE", "DELETE_COMPLETE"))


def test_delete_capacity_provider_by_arn(ecs):
    p = _create(ecs)
    deleted = ecs.delete_capacity_provider(capacityProvider=p["capacityProviderArn"])
    assert deleted["capacityProvider"]["name"] == p["name"]


def test_delete_unknown_capacity_provider(ecs):
    with raises_code("ClientException", "InvalidParameterException"):
        ecs.delete_capacity_provider(capacityProvider=unique("nope"))


def test_provider_in_use_by_a_cluster_cannot_be_deleted(ecs):
    # "Only capacity providers that aren't associated with a cluster can be deleted."
    p = _create(ecs)
    cluster = unique("c")
    ecs.create_cluster(clusterName=cluster)
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=[p["name"]],
                                       defaultCapacityProviderStrategy=[])
    with raises_code("ClientException", "InvalidParameterException", "ResourceInUseException"):
        ecs.delete_capacity_provider(capacityProvider=p["name"])


# ---- PutClusterCapacityProviders -----------------------------------------------------------

def test_put_cluster_capacity_providers(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 2},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}]
    c = ecs.put_cluster_capacity_providers(
        cluster=name, capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=strategy)["cluster"]
    assert c["clusterArn"] == cluster_arn(name)
    assert sorted(c["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(c["defaultCapacityProviderStrategy"], key=lambda s: s["capacityProvider"]) == strategy

    d = ecs.describe_clusters(clusters=[name])["clusters"][0]
    assert sorted(d["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(d["defaultCapacityProviderStrategy"], key=lambda s: s["capacityProvider"]) == strategy

    # "Any existing capacity providers ... omitted from a PutClusterCapacityProviders API call
    # will be disassociated"; an empty strategy ([]) bypasses the default strategy.
    c = ecs.put_cluster_capacity_providers(cluster=cluster_arn(name), capacityProviders=["FARGATE"],
                                           defaultCapacityProviderStrategy=[])["cluster"]
    assert c["capacityProviders"] == ["FARGATE"]
    assert c.get("defaultCapacityProviderStrategy", []) == []
    c = ecs.put_cluster_capacity_providers(cluster=name, capacityProviders=[],
                                           defaultCapacityProviderStrategy=[])["cluster"]
    assert c.get("capacityProviders", []) == []


def test_put_cluster_capacity_providers_with_a_custom_provider(ecs):
    p = _create(ecs)
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    c = ecs.put_cluster_capacity_providers(
        cluster=name, capacityProviders=[p["name"]],
        defaultCapacityProviderStrategy=[{"capacityProvider": p["name"], "weight": 1}])["cluster"]
    assert c["capacityProviders"] == [p["name"]]
    assert c["defaultCapacityProviderStrategy"][0]["capacityProvider"] == p["name"]


def test_put_cluster_capacity_providers_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.put_cluster_capacity_providers(cluster=unique("nope"), capacityProviders=["FARGATE"],
                                           defaultCapacityProviderStrategy=[])


def test_strategy_must_use_associated_providers(ecs):
    # AWS: "The specified capacity provider strategy cannot contain a capacity provider that is
    # not associated with the cluster."
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    with raises_code("InvalidParameterException"):
        ecs.put_cluster_capacity_providers(
            cluster=name, capacityProviders=["FARGATE"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])


def test_unknown_provider_cannot_be_associated(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    with raises_code("InvalidParameterException", "ClientException"):
        ecs.put_cluster_capacity_providers(cluster=name, capacityProviders=[unique("nope")],
                                           defaultCapacityProviderStrategy=[])
