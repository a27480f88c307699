"""Terraform's AWS provider against berth, as a team applies an ECS stack to a local endpoint:
a cluster, a log group, a task definition and an EC2 service that must reach a steady state;
then a change that rolls out a new revision, a plan that finds no drift, and a destroy.

Needs terraform and the AWS provider 5.100 from the filesystem mirror (/opt/tf-plugins, or
BERTH_TF_PLUGINS). In CI (CI=true) a missing one fails these tests; elsewhere they skip loudly.
"""

from __future__ import annotations

import textwrap
import uuid

import pytest

from tf_helpers import run


def config(endpoint: str, cluster: str, message: str) -> str:
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
            ecs  = "{endpoint}"
            logs = "{endpoint}"
            sts  = "{endpoint}"
          }}
        }}

        resource "aws_ecs_cluster" "this" {{
          name = "{cluster}"
        }}

        resource "aws_cloudwatch_log_group" "app" {{
          name              = "/ecs/{cluster}"
          retention_in_days = 7
        }}

        resource "aws_ecs_task_definition" "app" {{
          family                   = "{cluster}-app"
          requires_compatibilities = ["EC2"]
          network_mode             = "bridge"
          container_definitions = jsonencode([{{
            name      = "app"
            image     = "busybox"
            memory    = 64
            essential = true
            command   = ["sh", "-c", "echo {message}; sleep 3600"]
            portMappings = [{{ containerPort = 8080, hostPort = 0, protocol = "tcp" }}]
            logConfiguration = {{
              logDriver = "awslogs"
              options = {{
                awslogs-group         = aws_cloudwatch_log_group.app.name
                awslogs-region        = "us-east-1"
                awslogs-stream-prefix = "app"
              }}
            }}
          }}])
        }}

        resource "aws_ecs_service" "app" {{
          name                  = "app"
          cluster               = aws_ecs_cluster.this.id
          task_definition       = aws_ecs_task_definition.app.arn
          desired_count         = 2
          launch_type           = "EC2"
          wait_for_steady_state = true

          deployment_circuit_breaker {{
            enable   = true
            rollback = true
          }}
        }}

        output "service_task_definition" {{
          value = aws_ecs_service.app.task_definition
        }}
        """)


def test_an_ecs_stack_applies_rolls_out_a_change_and_destroys(terraform, endpoint, ecs, tmp_path):
    cluster = f"tf-{uuid.uuid4().hex[:8]}"
    main = tmp_path / "main.tf"
    main.write_text(config(endpoint, cluster, "first"))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    # wait_for_steady_state returned: the service runs its two tasks.
    svc = ecs.describe_services(cluster=cluster, services=["app"])["services"][0]
    assert svc["status"] == "ACTIVE" and svc["runningCount"] == 2, svc
    assert svc["taskDefinition"].endswith(f":task-definition/{cluster}-app:1")
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True, "rollback": True}

    # Nothing to change right after an apply: berth answers what Terraform sent.
    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    # A new command: a new revision, rolled out before apply returns.
    main.write_text(config(endpoint, cluster, "second"))
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")
    svc = ecs.describe_services(cluster=cluster, services=["app"])["services"][0]
    assert svc["taskDefinition"].endswith(f":task-definition/{cluster}-app:2"), svc
    assert svc["runningCount"] == 2 and len(svc["deployments"]) == 1, svc["deployments"]
    arns = ecs.list_tasks(cluster=cluster, serviceName="app")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    assert {t["taskDefinitionArn"] for t in tasks} == {svc["taskDefinition"]}
    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after the update:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    # The service was deleted before its cluster, which is gone with it.
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.describe_services(cluster=cluster, services=["app"])
    clusters = ecs.describe_clusters(clusters=[cluster])
    assert all(c["status"] == "INACTIVE" for c in clusters["clusters"]), clusters
