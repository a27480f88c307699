"""TagResource / UntagResource / ListTagsForResource on every taggable ECS ARN this issue
creates (clusters, task definitions, capacity providers), with AWS's tag limits:
at most 50 tags per resource, keys up to 128 and values up to 256 characters, and the `aws:`
prefix reserved for AWS."""

import uuid

import pytest

from berth_helpers import (
    ACCOUNT,
    capacity_provider_arn,
    cluster_arn,
    raises_code,
    register,
    unique,
)


def _tags(ecs, arn):
    return sorted(ecs.list_tags_for_resource(resourceArn=arn)["tags"], key=lambda t: t["key"])


@pytest.fixture(params=["cluster", "task-definition", "capacity-provider"])
def resource_arn(request, ecs):
    kind = request.param
    if kind == "cluster":
        name = unique("c")
        return ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    if kind == "task-definition":
        return register(ecs)["taskDefinitionArn"]
    name = unique("cp")
    asg = (f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:{uuid.uuid4()}:"
           f"autoScalingGroupName/{name}")
    return ecs.create_capacity_provider(
        name=name, autoScalingGroupProvider={"autoScalingGroupArn": asg}
    )["capacityProvider"]["capacityProviderArn"]


def test_tag_list_untag(ecs, resource_arn):
    assert _tags(ecs, resource_arn) == []
    ecs.tag_resource(resourceArn=resource_arn,
                     tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    assert _tags(ecs, resource_arn) == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]

    # existing keys are overwritten, others are left alone
    ecs.tag_resource(resourceArn=resource_arn, tags=[{"key": "a", "value": "10"},
                                                     {"key": "c", "value": ""}])
    assert _tags(ecs, resource_arn) == [{"key": "a", "value": "10"}, {"key": "b", "value": "2"},
                                        {"key": "c", "value": ""}]

    ecs.untag_resource(resourceArn=resource_arn, tagKeys=["a", "c", "not-there"])
    assert _tags(ecs, resource_arn) == [{"key": "b", "value": "2"}]


def test_at_most_50_tags(ecs, resource_arn):
    fifty = [{"key": f"k{i:02d}", "value": "v"} for i in range(50)]
    ecs.tag_resource(resourceArn=resource_arn, tags=fifty)
    assert len(_tags(ecs, resource_arn)) == 50
    # overwriting an existing key keeps the count at 50
    ecs.tag_resource(resourceArn=resource_arn, tags=[{"key": "k00", "value": "w"}])
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=resource_arn, tags=[{"key": "one-more", "value": "v"}])
    assert len(_tags(ecs, resource_arn)) == 50


def test_more_than_50_tags_in_one_call(ecs):
    arn = ecs.create_cluster(clusterName=unique("c"))["cluster"]["clusterArn"]
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert _tags(ecs, arn) == []


def test_create_cluster_with_more_than_50_tags(ecs):
    name = unique("c")
    with raises_code("InvalidParameterException"):
        ecs.create_cluster(clusterName=name,
                           tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert ecs.describe_clusters(clusters=[name])["failures"][0]["reason"] == "MISSING"


@pytest.mark.parametrize("key", ["aws:owner", "AWS:owner", "Aws:x"])
def test_aws_prefix_is_reserved(ecs, key):
    arn = ecs.create_cluster(clusterName=unique("c"))["cluster"]["clusterArn"]
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": key, "value": "v"}])


def test_key_and_value_length_limits(ecs):
    arn = ecs.create_cluster(clusterName=unique("c"))["cluster"]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "k" * 128, "value": "v" * 256}])
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k" * 129, "value": "v"}])
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v" * 257}])
    assert _tags(ecs, arn) == [{"key": "k" * 128, "value": "v" * 256}]


def test_tags_given_at_creation_are_listed(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name, tags=[{"key": "env", "value": "test"}])
    assert _tags(ecs, cluster_arn(name)) == [{"key": "env", "value": "test"}]
    td = ecs.register_task_definition(family=unique("fam"),
                                      containerDefinitions=[{"name": "c", "image": "x", "memory": 64}],
                                      tags=[{"key": "team", "value": "a"}])
    assert _tags(ecs, td["taskDefinition"]["taskDefinitionArn"]) == [{"key": "team", "value": "a"}]


def test_tag_resource_shows_in_describe(ecs):
    name = unique("c")
    ecs.create_cluster(clusterName=name)
    ecs.tag_resource(resourceArn=cluster_arn(name), tags=[{"key": "x", "value": "y"}])
    c = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"][0]
    assert c["tags"] == [{"key": "x", "value": "y"}]


def test_unknown_cluster_arn(ecs):
    arn = cluster_arn(unique("nope"))
    with raises_code("ClusterNotFoundException"):
        ecs.list_tags_for_resource(resourceArn=arn)
    with raises_code("ClusterNotFoundException", "ResourceNotFoundException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    with raises_code("ClusterNotFoundException", "ResourceNotFoundException"):
        ecs.untag_resource(resourceArn=arn, tagKeys=["a"])


def test_unknown_task_definition_and_capacity_provider_arns(ecs):
    td = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{unique('nope')}:1"
    cp = capacity_provider_arn(unique("nope"))
    for arn in (td, cp):
        with raises_code("ResourceNotFoundException", "ClientException", "InvalidParameterException"):
            ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
        # ListTagsForResource models no ResourceNotFoundException.
        with raises_code("ClientException", "InvalidParameterException"):
            ecs.list_tags_for_resource(resourceArn=arn)


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:ecs:us-east-1:000000000000:",
                                 "arn:aws:s3:::bucket"])
def test_malformed_arn(ecs, arn):
    with raises_code("InvalidParameterException"):
        ecs.list_tags_for_resource(resourceArn=arn)
    with raises_code("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
