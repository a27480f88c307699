"""Clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings,
DeleteCluster, as the ECS API reference documents them."""

import pytest

from berth_helpers import (
    ACCOUNT,
    call_or_skip,
    cluster_arn,
    raises_code,
    register,
    register_container_instance,
    unique,
)

COUNTERS = ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount",
            "activeServicesCount")


def _by_name(items):
    return {i["name"]: i["value"] for i in items}


def _sorted_tags(tags):
    return sorted(tags, key=lambda t: t["key"])


# ---- CreateCluster -------------------------------------------------------------------------

def test_create_cluster_returns_documented_fields(ecs):
    name = unique("c")
    resp = ecs.create_cluster(clusterName=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    c = resp["cluster"]
    assert c["clusterArn"] == cluster_arn(name)
    assert c["clusterArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{name}"
    assert c["clusterName"] == name
    assert c["status"] == "ACTIVE"
    for counter in COUNTERS:
        assert c[counter] == 0, counter


def test_create_cluster_is_idempotent_for_an_active_name(ecs):
    name = unique("c")
    first = ecs.create_cluster(clusterName=name)["cluster"]
    second = ecs.create_cluster(clusterName=name)["cluster"]
    assert second["clusterArn"] == first["clusterArn"] == cluster_arn(name)
    assert second["status"] == "ACTIVE"
    arns = []
    for page in ecs.get_paginator("list_clusters").paginate():
        arns += page["clusterArns"]
    assert arns.count(cluster_arn(name)) == 1


def test_create_cluster_again_with_inconsistent_arguments_is_refused(ecs):
    # AWS: "Arguments on this idempotent request are inconsistent with arguments used in
    # previous request(s)." (InvalidParameterException)
    name = unique("c")
    ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE"])
    with raises_code("InvalidParameterException"):
        ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE_SPOT"])


def test_create_cluster_with_settings_configuration_and_tags(ecs):
    name = unique("c")
    tags = [{"key": "team", "value": "platform"}, {"key": "env", "value": "dev"}]
    configuration = {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    ecs.create_cluster(
        clusterName=name,
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration=configuration,
        tags=tags,
    )
    c = ecs.describe_clusters(clusters=[name], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])[
        "clusters"][0]
    assert _by_name(c["settings"])["containerInsights"] == "enabled"
    assert c["configuration"]["executeCommandConfiguration"]["logging"] == "DEFAULT"
    assert _sorted_tags(c["tags"]) == _sorted_tags(tags)


def test_create_cluster_with_capacity_providers_and_default_strategy(ecs):
    name = unique("c")
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0}]
    c = ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE", "FARGATE_SPOT"],
                           defaultCapacityProviderStrategy=strategy)["cluster"]
    assert sorted(c["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    got = sorted(c["defaultCapacityProviderStrategy"], key=lambda s: s["capacityProvider"])
    assert got == strategy
    d = ecs.describe_clusters(clusters=[name])["clusters"][0]
    assert sorted(d["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]


def test_create_cluster_without_name_creates_default(ecs_in, fresh_region):
    ecs = ecs_in(fresh_region)
    c = ecs.create_cluster()["cluster"]
    assert c["clusterName"] == "default"
    assert c["clusterArn"] == cluster_arn("default", fresh_region)
    # DescribeClusters with no `clusters` describes the default cluster.
    resp = ecs.describe_clusters()
    assert [x["clusterArn"] for x in resp["clusters"]] == [cluster_arn("default", fresh_region)]
    assert resp["failures"] == []


@pytest.mark.parametrize("bad", ["has space", "bad!name", "a" * 256, "slash/name"])
def test_create_cluster_rejects_invalid_names(ecs, bad):
    # Up to 255 letters, numbers, underscores and hyphens. AWS does not document which of its
    # two client error codes it uses here.
    with raises_code("InvalidParameterException", "ClientException"):
        ecs.create_cluster(clusterName=bad)


def test_create_cluster_accepts_255_character_name(ecs):
    name = ("c-" + unique("x") + "_" + "a" * 255)[:255]
    c = ecs.create_cluster(clusterName=name)["cluster"]
    assert c["clusterName"] == name
    assert c["clusterArn"] == cluster_arn(name)


# ---- DescribeClusters ----------------------------------------------------------------------

def test_describe_clusters_by_name_and_by_arn(ecs):
    name = unique("c")
    created = ecs.create_cluster(clusterName=name)["cluster"]
    for ident in (name, cluster_arn(name)):
        resp = ecs.describe_clusters(clusters=[ident])
        assert resp["failures"] == []
        (c,) = resp["clusters"]
        assert c["clusterArn"] == created["clusterArn"]
        assert c["clusterName"] == name
        assert c["status"] == "ACTIVE"
        for counter in COUNTERS:
            assert c[counter] == 0


def test_describe_unknown_cluster_reports_missing(ecs):
    name = unique("nope")
    resp = ecs.describe_clusters(clusters=[name])
    assert resp["clusters"] == []
    assert resp["failures"] == [{"arn": cluster_arn(name), "reason": "MISSING"}]


def test_describe_unknown_cluster_by_arn_reports_that_arn(ecs):
    arn = cluster_arn(unique("nope"))
    resp = ecs.describe_clusters(clusters=[arn])
    assert resp["clusters"] == []
    assert resp["failures"] == [{"arn": arn, "reason": "MISSING"}]


def test_describe_mixed_known_and_unknown(ecs):
    known, unknown = unique("c"), unique("nope")
    ecs.create_cluster(clusterName=known)
    resp = ecs.describe_clusters(clusters=[known, unknown])
    assert [c["clusterName"] for c in resp["clusters"]] == [known]
    assert resp["failures"] == [{"arn": cluster_arn(unknown), "reason": "MISSING"}]


def test_describe_clusters_without_argument_reports_missing_default(ecs_in, fresh_region):
    resp = ecs_in(fresh_region).describe_clusters()
    assert resp["clusters"] == []
    assert resp["failures"] == [{"arn": cluster_arn("default", fresh_region), "reason": "MISSING"}]


def test_describe_clusters_omits_tags_unless_asked(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name, tags=[{"key": "k", "value": "v"}])
    plain = ecs.describe_clusters(clusters=[name])["clusters"][0]
    assert not plain.get("tags"), "tags are only included with include=[TAGS]"
    tagged = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"][0]
    assert tagged["tags"] == [{"key": "k", "value": "v"}]


def test_describe_clusters_include_statistics(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    c = ecs.describe_clusters(clusters=[name], include=["STATISTICS"])["clusters"][0]
    assert isinstance(c["statistics"], list)
    for stat in c["statistics"]:
        assert stat["value"] == "0", f"a new cluster has no tasks or services: {stat}"


def test_describe_clusters_include_attachments(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    resp = ecs.describe_clusters(clusters=[name], include=["ATTACHMENTS"])
    assert resp["failures"] == []
    c = resp["clusters"][0]
    assert isinstance(c.get("attachments", []), list)


# ---- ListClusters --------------------------------------------------------------------------

def test_list_clusters_pagination(ecs_in, fresh_region):
    ecs = ecs_in(fresh_region)
    names = [unique("lc") for _ in range(5)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    expected = {cluster_arn(n, fresh_region) for n in names}

    everything = ecs.list_clusters()
    assert set(everything["clusterArns"]) == expected
    assert not everything.get("nextToken")

    # boto3's paginator
    seen = []
    for page in ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["clusterArns"]) <= 2
        seen += page["clusterArns"]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == expected

    # the same by hand
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = ecs.list_clusters(**kwargs)
        pages += 1
        assert len(page["clusterArns"]) <= 2
        seen += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == expected
    assert pages >= 3


# ---- UpdateCluster / UpdateClusterSettings ---------------------------------------------------

def test_update_cluster_settings_and_configuration(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    c = ecs.update_cluster(
        cluster=name,
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "NONE"}},
    )["cluster"]
    assert c["clusterArn"] == cluster_arn(name)
    assert _by_name(c["settings"])["containerInsights"] == "enabled"
    assert c["configuration"]["executeCommandConfiguration"]["logging"] == "NONE"
    d = ecs.describe_clusters(clusters=[name], include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert _by_name(d["settings"])["containerInsights"] == "enabled"
    assert d["configuration"]["executeCommandConfiguration"]["logging"] == "NONE"


def test_update_cluster_settings(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    c = ecs.update_cluster_settings(
        cluster=cluster_arn(name), settings=[{"name": "containerInsights", "value": "enhanced"}]
    )["cluster"]
    assert c["clusterName"] == name
    assert _by_name(c["settings"])["containerInsights"] == "enhanced"
    d = ecs.describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"][0]
    assert _by_name(d["settings"])["containerInsights"] == "enhanced"


def test_update_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.update_cluster(cluster=unique("nope"),
                           settings=[{"name": "containerInsights", "value": "enabled"}])
    with raises_code("ClusterNotFoundException"):
        ecs.update_cluster_settings(cluster=unique("nope"),
                                    settings=[{"name": "containerInsights", "value": "enabled"}])


# ---- DeleteCluster -------------------------------------------------------------------------

def test_delete_cluster_makes_it_inactive_but_describable(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    deleted = ecs.delete_cluster(cluster=name)["cluster"]
    assert deleted["clusterArn"] == cluster_arn(name)
    assert deleted["status"] == "INACTIVE"
    resp = ecs.describe_clusters(clusters=[name])
    assert resp["failures"] == []
    (c,) = resp["clusters"]
    assert c["clusterArn"] == cluster_arn(name)
    assert c["status"] == "INACTIVE"


def test_delete_cluster_by_arn(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    assert ecs.delete_cluster(cluster=cluster_arn(name))["cluster"]["status"] == "INACTIVE"


def test_delete_unknown_cluster(ecs):
    with raises_code("ClusterNotFoundException"):
        ecs.delete_cluster(cluster=unique("nope"))


def test_recreate_deleted_cluster(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    ecs.delete_cluster(cluster=name)
    again = ecs.create_cluster(clusterName=name)["cluster"]
    assert again["status"] == "ACTIVE"
    assert again["clusterArn"] == cluster_arn(name)
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"


def test_delete_cluster_with_a_service_is_refused(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    td = register(ecs)
    call_or_skip("CreateService", ecs.create_service, cluster=name, serviceName=unique("svc"),
                 taskDefinition=td["taskDefinitionArn"], desiredCount=0, launchType="EC2")
    with raises_code("ClusterContainsServicesException"):
        ecs.delete_cluster(cluster=name)
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"


def test_delete_cluster_with_a_container_instance_is_refused(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    register_container_instance(ecs, name)
    with raises_code("ClusterContainsContainerInstancesException"):
        ecs.delete_cluster(cluster=name)


def test_describe_container_instances_needs_at_least_one(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    # AWS's answer, as the peer emulators record it: ClientException "Container Instances
    # cannot be empty." (the 100-item limit is another error).
    with raises_code("ClientException") as info:
        ecs.describe_container_instances(cluster=name, containerInstances=[])
    assert info.value.response["Error"]["Message"] == "Container Instances cannot be empty."


# ---- Regions -------------------------------------------------------------------------------

def test_region_comes_from_the_request(ecs, ecs_in):
    eu = ecs_in("eu-west-1")
    name = unique("c")
    c = eu.create_cluster(clusterName=name)["cluster"]
    assert c["clusterArn"] == f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/{name}"

    # us-east-1 does not see it ...
    resp = ecs.describe_clusters(clusters=[name])
    assert resp["clusters"] == []
    assert resp["failures"] == [{"arn": cluster_arn(name), "reason": "MISSING"}]
    us_arns = [a for p in ecs.get_paginator("list_clusters").paginate() for a in p["clusterArns"]]
    assert c["clusterArn"] not in us_arns
    assert all(":us-east-1:" in a for a in us_arns)

    # ... and eu-west-1 sees only its own clusters.
    us_name = unique("c")
    ecs.create_cluster(clusterName=us_name)
    eu_arns = [a for p in eu.get_paginator("list_clusters").paginate() for a in p["clusterArns"]]
    assert c["clusterArn"] in eu_arns
    assert cluster_arn(us_name) not in eu_arns
    assert eu.describe_clusters(clusters=[us_name])["failures"][0]["reason"] == "MISSING"
