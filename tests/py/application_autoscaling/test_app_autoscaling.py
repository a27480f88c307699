"""Application Auto Scaling for ECS services through boto3 and the AWS CLI: scalable targets
whose bounds move the service's desired count (a scaling activity and an ECS service event),
target tracking and step scaling policies (with the alarms AWS names), scheduled actions that
run at their time, tags, paging and the service's errors. Each test has a region of its own."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

ECS = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


@pytest.fixture
def region(fresh_region):
    return fresh_region


@pytest.fixture
def aas(aws_client, region):
    return aws_client("application-autoscaling", region)


@pytest.fixture
def service(aws_client, region):
    """An ECS service `web` (desired 1) in cluster `c`; its resource id."""
    ecs = aws_client("ecs", region)
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 32, "essential": True}])
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=1)
    return "service/c/web"


def error(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def desired(aws_client, region) -> int:
    return aws_client("ecs", region).describe_services(
        cluster="c", services=["web"])["services"][0]["desiredCount"]


def test_registering_bounds_moves_the_desired_count(aas, aws_client, region, service):
    arn = aas.register_scalable_target(ResourceId=service, MinCapacity=3, MaxCapacity=6,
                                       Tags={"team": "a"}, **ECS)["ScalableTargetARN"]
    assert arn.startswith(f"arn:aws:application-autoscaling:{region}:000000000000:scalable-target/")
    assert desired(aws_client, region) == 3
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 6)
    assert target["RoleARN"].endswith(
        "/AWSServiceRoleForApplicationAutoScaling_ECSService")
    assert target["SuspendedState"] == {"DynamicScalingInSuspended": False,
                                        "DynamicScalingOutSuspended": False,
                                        "ScheduledScalingSuspended": False}
    (activity,) = aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]
    assert activity["Description"] == "Setting desired count to 3."
    assert activity["Cause"] == "minimum capacity was set to 3"
    assert activity["StatusCode"] == "Successful"
    events = aws_client("ecs", region).describe_services(
        cluster="c", services=["web"])["services"][0]["events"]
    assert any("desired count was set to 3" in e["message"] for e in events)

    # Re-registering with the max alone keeps the min; a min above the max is refused.
    aas.register_scalable_target(ResourceId=service, MaxCapacity=5, **ECS)
    # A max below the count brings it down: the max's activity.
    aas.register_scalable_target(ResourceId=service, MinCapacity=1, MaxCapacity=2, **ECS)
    assert desired(aws_client, region) == 2
    latest = aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"][0]
    assert latest["Cause"] == "maximum capacity was set to 2"
    aas.register_scalable_target(ResourceId=service, MinCapacity=3, MaxCapacity=5, **ECS)
    assert error(aas.register_scalable_target, ResourceId=service, MaxCapacity=2,
                 **ECS)[0] == "ValidationException"
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 5)

    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "a"}
    aas.tag_resource(ResourceARN=arn, Tags={"env": "test"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "test"}


def test_what_cannot_be_registered(aas, service):
    code, status, message = error(aas.register_scalable_target, ResourceId="service/c/nope",
                                  MinCapacity=1, MaxCapacity=2, **ECS)
    assert (code, status, message) == ("ValidationException", 400,
                                       "ECS service doesn't exist: service/c/nope")
    assert error(aas.register_scalable_target, ResourceId=service, **ECS)[0] == \
        "ValidationException"
    assert error(aas.register_scalable_target, ResourceId=service, MinCapacity=5,
                 MaxCapacity=1, **ECS)[0] == "ValidationException"
    code, _, _ = error(aas.deregister_scalable_target, ResourceId=service, **ECS)
    assert code == "ObjectNotFoundException"
    code, _, _ = error(aas.put_scaling_policy, PolicyName="p", ResourceId=service,
                       PolicyType="TargetTrackingScaling",
                       TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0}, **ECS)
    assert code == "ObjectNotFoundException"
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []


def test_policies_are_stored_with_their_alarms(aas, service):
    aas.register_scalable_target(ResourceId=service, MinCapacity=1, MaxCapacity=4, **ECS)
    tracking = aas.put_scaling_policy(
        PolicyName="cpu", ResourceId=service, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0, "ScaleInCooldown": 60, "ScaleOutCooldown": 30,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}, **ECS)
    names = sorted(a["AlarmName"] for a in tracking["Alarms"])
    assert names[0].startswith(f"TargetTracking-{service}-AlarmHigh-")
    assert names[1].startswith(f"TargetTracking-{service}-AlarmLow-")
    assert ":scalingPolicy:" in tracking["PolicyARN"]
    assert tracking["PolicyARN"].endswith(f":resource/ecs/{service}:policyName/cpu")
    aas.put_scaling_policy(
        PolicyName="steps", ResourceId=service, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
        **ECS)
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert sorted(p["PolicyName"] for p in policies) == ["cpu", "steps"]
    page = aas.describe_scaling_policies(ServiceNamespace="ecs", MaxResults=1)
    assert len(page["ScalingPolicies"]) == 1 and page["NextToken"]
    rest = aas.describe_scaling_policies(ServiceNamespace="ecs", NextToken=page["NextToken"])
    assert len(rest["ScalingPolicies"]) == 1
    assert error(aas.describe_scaling_policies, ServiceNamespace="ecs",
                 NextToken="bogus")[0] == "InvalidNextTokenException"
    aas.delete_scaling_policy(PolicyName="cpu", ResourceId=service, **ECS)
    assert error(aas.delete_scaling_policy, PolicyName="cpu", ResourceId=service,
                 **ECS)[0] == "ObjectNotFoundException"
    aas.deregister_scalable_target(ResourceId=service, **ECS)
    assert aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_a_scheduled_action_runs_at_its_time(aas, aws_client, region, service):
    aas.register_scalable_target(ResourceId=service, MinCapacity=1, MaxCapacity=10, **ECS)
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    aas.put_scheduled_action(
        ScheduledActionName="morning", ResourceId=service,
        Schedule=f"at({soon.strftime('%Y-%m-%dT%H:%M:%S')})",
        ScalableTargetAction={"MinCapacity": 4, "MaxCapacity": 8}, **ECS)
    (action,) = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert action["ScheduledActionARN"].endswith(f":scheduledActionName/morning")
    deadline = time.monotonic() + 10
    while desired(aws_client, region) != 4:
        assert time.monotonic() < deadline, "the scheduled action did not run"
        time.sleep(0.2)
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (4, 8)
    causes = [a["Cause"] for a in
              aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]]
    assert causes[0] == "scheduled action name morning was triggered"
    assert error(aas.put_scheduled_action, ScheduledActionName="bad", ResourceId=service,
                 Schedule="rate(1 minutes)", **ECS)[0] == "ValidationException"
    aas.put_scheduled_action(ScheduledActionName="nightly", ResourceId=service,
                             Schedule="cron(0 22 * * ? *)",
                             ScalableTargetAction={"MinCapacity": 1}, **ECS)
    aas.delete_scheduled_action(ScheduledActionName="nightly", ResourceId=service, **ECS)
    names = [a["ScheduledActionName"] for a in
             aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]]
    assert names == ["morning"]


def test_the_aws_cli_registers_a_target(endpoint, region, service):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION=region)

    def cli(*args):
        return subprocess.run(["aws", "--endpoint-url", endpoint, "application-autoscaling",
                               *args, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)

    done = cli("register-scalable-target", "--service-namespace", "ecs",
               "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", service,
               "--min-capacity", "2", "--max-capacity", "3")
    assert done.returncode == 0, done.stderr
    listed = json.loads(cli("describe-scalable-targets", "--service-namespace", "ecs").stdout)
    assert [t["ResourceId"] for t in listed["ScalableTargets"]] == [service]
