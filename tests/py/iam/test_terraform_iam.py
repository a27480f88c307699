"""Terraform's AWS provider applies the IAM an ECS stack declares to berth: a task execution role
with AWS's managed policy attached, a task role with an inline policy and a customer managed
policy, an instance profile, and a task definition that names both roles; a plan finds no drift;
destroy removes it all."""

from __future__ import annotations

import textwrap
import uuid

import pytest
from botocore.exceptions import ClientError

from tf_helpers import run


def config(endpoint: str, name: str) -> str:
    return textwrap.dedent(f"""
        terraform {{
          required_providers {{
            aws = {{
              source  = "hashicorp/aws"
              version = "5.100.0"
            }}
          }}
        }}

        provider "aws" {{
          region                      = "us-east-1"
          access_key                  = "test"
          secret_key                  = "test"
          skip_credentials_validation = true
          skip_requesting_account_id  = true
          skip_metadata_api_check     = true
          endpoints {{
            ecs = "{endpoint}"
            iam = "{endpoint}"
            sts = "{endpoint}"
          }}
        }}

        data "aws_iam_policy_document" "ecs_tasks" {{
          statement {{
            actions = ["sts:AssumeRole"]
            principals {{
              type        = "Service"
              identifiers = ["ecs-tasks.amazonaws.com"]
            }}
          }}
        }}

        resource "aws_iam_role" "execution" {{
          name               = "{name}-execution"
          assume_role_policy = data.aws_iam_policy_document.ecs_tasks.json
          tags = {{ app = "{name}" }}
        }}

        resource "aws_iam_role_policy_attachment" "execution" {{
          role       = aws_iam_role.execution.name
          policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
        }}

        resource "aws_iam_role" "task" {{
          name               = "{name}-task"
          path               = "/app/"
          assume_role_policy = data.aws_iam_policy_document.ecs_tasks.json
        }}

        resource "aws_iam_role_policy" "task_logs" {{
          name = "logs"
          role = aws_iam_role.task.id
          policy = jsonencode({{
            Version   = "2012-10-17"
            Statement = [{{ Effect = "Allow", Action = ["logs:PutLogEvents"], Resource = "*" }}]
          }})
        }}

        resource "aws_iam_policy" "bucket" {{
          name        = "{name}-bucket"
          description = "read the app's bucket"
          policy = jsonencode({{
            Version   = "2012-10-17"
            Statement = [{{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }}]
          }})
        }}

        resource "aws_iam_role_policy_attachment" "task_bucket" {{
          role       = aws_iam_role.task.name
          policy_arn = aws_iam_policy.bucket.arn
        }}

        resource "aws_iam_instance_profile" "hosts" {{
          name = "{name}-hosts"
          role = aws_iam_role.execution.name
        }}

        resource "aws_ecs_task_definition" "app" {{
          family             = "{name}"
          execution_role_arn = aws_iam_role.execution.arn
          task_role_arn      = aws_iam_role.task.arn
          container_definitions = jsonencode([{{
            name = "app", image = "busybox", essential = true, memory = 64
          }}])
        }}
        """)


def test_an_ecs_stacks_iam_applies_without_drift_and_destroys(
        terraform, endpoint, ecs, aws_client, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    iam = aws_client("iam")
    task_role = iam.get_role(RoleName=f"{name}-task")["Role"]
    assert task_role["Arn"] == f"arn:aws:iam::000000000000:role/app/{name}-task"
    assert task_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"}
    attached = iam.list_attached_role_policies(RoleName=f"{name}-execution")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonECSTaskExecutionRolePolicy"]
    assert iam.list_role_policies(RoleName=f"{name}-task")["PolicyNames"] == ["logs"]
    profile = iam.get_instance_profile(InstanceProfileName=f"{name}-hosts")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [f"{name}-execution"]
    td = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]
    assert td["taskRoleArn"] == task_role["Arn"]

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    for role in (f"{name}-task", f"{name}-execution"):
        with pytest.raises(ClientError) as e:
            iam.get_role(RoleName=role)
        assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    local = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert f"{name}-bucket" not in local
