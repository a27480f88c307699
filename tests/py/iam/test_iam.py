"""IAM through boto3 and the AWS CLI: roles with trust policies, inline and attached policies,
customer managed policies and their versions, AWS managed policies, instance profiles,
service-linked roles, paging, and IAM's errors. IAM is global: every region sees one account's
roles, so each test names its own entities."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
ALLOW_LOGS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}],
}
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


@pytest.fixture(scope="module")
def iam(aws_client):
    return aws_client("iam")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def test_a_role_is_created_read_in_any_case_and_global(iam, aws_client):
    name = unique("Exec")
    created = iam.create_role(RoleName=name, Path="/ecs/", Description="d",
                              AssumeRolePolicyDocument=json.dumps(TRUST),
                              Tags=[{"Key": "team", "Value": "a"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::000000000000:role/ecs/{name}"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    # botocore decodes the URL-encoded document IAM returns into a dict.
    assert created["AssumeRolePolicyDocument"] == TRUST

    got = aws_client("iam", "eu-west-1").get_role(RoleName=name.lower())["Role"]
    assert got["RoleName"] == name and got["Path"] == "/ecs/"
    assert got["MaxSessionDuration"] == 3600 and got["Description"] == "d"
    assert got["Tags"] == [{"Key": "team", "Value": "a"}]

    code, status, message = error(iam.create_role, RoleName=name.upper(),
                                  AssumeRolePolicyDocument=json.dumps(TRUST))
    assert (code, status) == ("EntityAlreadyExists", 409)
    assert message == f"Role with name {name.upper()} already exists."


def test_bad_roles_get_iams_errors(iam):
    code, status, message = error(iam.get_role, RoleName="no-such-role-here")
    assert (code, status) == ("NoSuchEntity", 404)
    assert message == "The role with name no-such-role-here cannot be found."
    code, status, _ = error(iam.create_role, RoleName="bad name",
                            AssumeRolePolicyDocument=json.dumps(TRUST))
    assert (code, status) == ("ValidationError", 400)
    code, status, message = error(iam.create_role, RoleName=unique("r"),
                                  AssumeRolePolicyDocument="{not json")
    assert (code, status, message) == ("MalformedPolicyDocument", 400,
                                       "This policy contains invalid Json")
    code, _, _ = error(iam.create_role, RoleName=unique("r"), Path="no-slash",
                       AssumeRolePolicyDocument=json.dumps(TRUST))
    assert code == "ValidationError"


def test_policies_attach_and_block_deletion_until_detached(iam):
    role = unique("svc")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)
    iam.attach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)  # idempotent
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonECSTaskExecutionRolePolicy",
                         "PolicyArn": EXECUTION_POLICY}]

    managed = iam.get_policy(PolicyArn=EXECUTION_POLICY)["Policy"]
    assert managed["Path"] == "/service-role/" and managed["AttachmentCount"] >= 1
    document = iam.get_policy_version(PolicyArn=EXECUTION_POLICY,
                                      VersionId=managed["DefaultVersionId"])["PolicyVersion"]
    actions = document["Document"]["Statement"][0]["Action"]
    assert "ecr:GetAuthorizationToken" in actions and "logs:PutLogEvents" in actions

    iam.put_role_policy(RoleName=role, PolicyName="logs", PolicyDocument=json.dumps(ALLOW_LOGS))
    inline = iam.get_role_policy(RoleName=role, PolicyName="logs")
    assert inline["PolicyDocument"] == ALLOW_LOGS
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["logs"]

    code, status, message = error(iam.delete_role, RoleName=role)
    assert (code, status) == ("DeleteConflict", 409)
    assert message == "Cannot delete entity, must detach all policies first."
    iam.detach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)
    code, _, message = error(iam.delete_role, RoleName=role)
    assert message == "Cannot delete entity, must delete policies first."
    iam.delete_role_policy(RoleName=role, PolicyName="logs")
    iam.delete_role(RoleName=role)
    assert error(iam.get_role, RoleName=role)[0] == "NoSuchEntity"

    code, status, _ = error(iam.attach_role_policy, RoleName=unique("nobody"),
                            PolicyArn=EXECUTION_POLICY)
    assert (code, status) == ("NoSuchEntity", 404)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    code, _, message = error(iam.attach_role_policy, RoleName=role,
                             PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAtAll")
    assert code == "NoSuchEntity" and "does not exist or is not attachable" in message


def test_customer_managed_policies_keep_five_versions(iam):
    name = unique("app-policy")
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(ALLOW_LOGS),
                               Description="for the app")["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::000000000000:policy/{name}"
    assert policy["DefaultVersionId"] == "v1" and policy["PolicyId"].startswith("ANPA")
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_LOGS))
    code, status, _ = error(iam.create_policy_version, PolicyArn=arn,
                            PolicyDocument=json.dumps(ALLOW_LOGS))
    assert (code, status) == ("LimitExceeded", 409)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    assert error(iam.delete_policy_version, PolicyArn=arn, VersionId="v3")[0] == "DeleteConflict"
    assert error(iam.delete_policy, PolicyArn=arn)[0] == "DeleteConflict"
    for v in ("v1", "v2", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    assert error(iam.create_policy, PolicyName=name,
                 PolicyDocument=json.dumps(ALLOW_LOGS))[0] == "EntityAlreadyExists"
    local = iam.list_policies(Scope="Local")["Policies"]
    assert arn in [p["Arn"] for p in local]
    iam.delete_policy(PolicyArn=arn)
    assert error(iam.get_policy, PolicyArn=arn)[:2] == ("NoSuchEntity", 404)


def test_lists_page_with_marker_and_max_items(iam):
    prefix = f"/page{uuid.uuid4().hex[:6]}/"
    names = sorted(unique("p") for _ in range(5))
    for n in names:
        iam.create_role(RoleName=n, Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST))
    seen, marker = [], None
    while True:
        kwargs = {"PathPrefix": prefix, "MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = iam.list_roles(**kwargs)
        seen += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == names
    # The paginator of boto3 follows the same markers.
    aws = iam.get_paginator("list_policies").paginate(Scope="AWS", PaginationConfig={"PageSize": 500})
    arns = [p["Arn"] for page in aws for p in page["Policies"]]
    assert len(arns) == len(set(arns)) > 1000 and EXECUTION_POLICY in arns
    assert error(iam.list_roles, Marker="not-a-marker")[:2] == ("ValidationError", 400)


def test_instance_profiles_hold_one_role(iam):
    role, profile = unique("ec2"), unique("profile")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    created = iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    code, status, _ = error(iam.add_role_to_instance_profile, InstanceProfileName=profile,
                            RoleName=role)
    assert (code, status) == ("LimitExceeded", 409)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    assert error(iam.delete_role, RoleName=role)[0] == "DeleteConflict"
    assert error(iam.delete_instance_profile, InstanceProfileName=profile)[0] == "DeleteConflict"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)


def test_service_linked_roles(iam):
    try:
        role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
    except ClientError as e:  # another test of this run made it first
        assert e.response["Error"]["Code"] == "InvalidInput"
        role = iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]
    assert role["Arn"].endswith(":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")
    attached = iam.list_attached_role_policies(RoleName="AWSServiceRoleForECS")
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["AmazonECSServiceRolePolicy"]
    assert error(iam.create_service_linked_role,
                 AWSServiceName="ecs.amazonaws.com")[0] == "InvalidInput"
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")["DeletionTaskId"]
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED"
    assert error(iam.get_role, RoleName="AWSServiceRoleForECS")[0] == "NoSuchEntity"


def test_the_aws_cli_creates_and_reads_a_role(endpoint, tmp_path):
    name = unique("cli")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(TRUST))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1")

    def cli(*args):
        return subprocess.run(["aws", "--endpoint-url", endpoint, "iam", *args, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)

    made = cli("create-role", "--role-name", name, "--assume-role-policy-document",
               f"file://{trust}")
    assert made.returncode == 0, made.stderr
    got = cli("get-role", "--role-name", name)
    assert json.loads(got.stdout)["Role"]["AssumeRolePolicyDocument"] == TRUST
    missing = cli("get-role", "--role-name", name + "-missing")
    assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr
