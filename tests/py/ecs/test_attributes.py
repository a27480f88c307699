"""Custom attributes: PutAttributes, ListAttributes, DeleteAttributes.

In ECS the only attribute target type is `container-instance` (the TargetType enum has no other
value), so attributes go on a container instance of a cluster. The happy path therefore needs
RegisterContainerInstance and is skipped while berth lacks it; the errors are tested now."""

import pytest

from berth_helpers import cluster_arn, raises_code, register_container_instance, unique

CI_ARN_PREFIX = "arn:aws:ecs:us-east-1:000000000000:container-instance/"


@pytest.fixture
def cluster(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    return name


def _attrs(ecs, cluster, **kwargs):
    out, token = [], None
    for _ in range(50):
        args = dict(kwargs, cluster=cluster, targetType="container-instance")
        if token:
            args["nextToken"] = token
        page = ecs.list_attributes(**args)
        out += page["attributes"]
        token = page.get("nextToken")
        if not token:
            return out
    pytest.fail("ListAttributes pagination does not end")


def test_list_attributes_of_a_new_cluster_is_empty(ecs, cluster):
    assert _attrs(ecs, cluster) == []
    assert _attrs(ecs, cluster_arn(cluster)) == []


def test_list_attributes_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.list_attributes(cluster=unique("nope"), targetType="container-instance")


def test_put_attributes_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.put_attributes(cluster=unique("nope"), attributes=[
            {"name": "stack", "value": "prod", "targetType": "container-instance",
             "targetId": CI_ARN_PREFIX + "0123456789abcdef0123456789abcdef"}])


def test_put_attributes_unknown_target(ecs, cluster):
    with raises_code("TargetNotFoundException"):
        ecs.put_attributes(cluster=cluster, attributes=[
            {"name": "stack", "value": "prod", "targetType": "container-instance",
             "targetId": CI_ARN_PREFIX + f"{cluster}/0123456789abcdef0123456789abcdef"}])


def test_delete_attributes_unknown_target(ecs, cluster):
    with raises_code("TargetNotFoundException"):
        ecs.delete_attributes(cluster=cluster, attributes=[
            {"name": "stack", "targetType": "container-instance",
             "targetId": "0123456789abcdef0123456789abcdef"}])


def test_delete_attributes_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.delete_attributes(cluster=unique("nope"), attributes=[
            {"name": "stack", "targetType": "container-instance",
             "targetId": "0123456789abcdef0123456789abcdef"}])


def test_put_list_delete_attributes_on_a_container_instance(ecs, cluster):
    ci_arn = register_container_instance(ecs, cluster)
    ci_id = ci_arn.rsplit("/", 1)[-1]
    resp = ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "stack", "value": "prod", "targetId": ci_arn},
        {"name": "team", "value": "infra", "targetType": "container-instance", "targetId": ci_id},
    ])
    assert {a["name"] for a in resp["attributes"]} == {"stack", "team"}

    mine = [a for a in _attrs(ecs, cluster) if a["name"] in ("stack", "team")]
    assert sorted((a["name"], a["value"], a["targetId"]) for a in mine) == [
        ("stack", "prod", ci_arn), ("team", "infra", ci_arn)]

    # filters
    assert [a["value"] for a in _attrs(ecs, cluster, attributeName="stack")] == ["prod"]
    assert _attrs(ecs, cluster, attributeName="stack", attributeValue="dev") == []

    # an existing attribute's value is replaced
    ecs.put_attributes(cluster=cluster, attributes=[{"name": "stack", "value": "dev",
                                                     "targetId": ci_arn}])
    assert [a["value"] for a in _attrs(ecs, cluster, attributeName="stack")] == ["dev"]

    ecs.delete_attributes(cluster=cluster, attributes=[{"name": "stack", "targetId": ci_arn}])
    assert _attrs(ecs, cluster, attributeName="stack") == []
    assert [a["value"] for a in _attrs(ecs, cluster, attributeName="team")] == ["infra"]


def test_attribute_validation_on_a_container_instance(ecs, cluster):
    ci_arn = register_container_instance(ecs, cluster)
    # "The name may contain letters, numbers, hyphens, underscores, forward slashes,
    # back slashes, or periods." / "The value can't start or end with a space."
    with raises_code("InvalidParameterException"):
        ecs.put_attributes(cluster=cluster, attributes=[{"name": "bad name!", "value": "x",
                                                         "targetId": ci_arn}])
    with raises_code("InvalidParameterException"):
        ecs.put_attributes(cluster=cluster, attributes=[{"name": "ok", "value": " padded ",
                                                         "targetId": ci_arn}])
    # "You can specify up to 10 custom attributes for each resource."
    with raises_code("AttributeLimitExceededException", "InvalidParameterException"):
        ecs.put_attributes(cluster=cluster, attributes=[
            {"name": f"a{i}", "value": "v", "targetId": ci_arn} for i in range(11)])
