"""Terraform's AWS provider applies an ECS service's auto scaling to berth (the step that hangs
against moto): a scalable target, a target tracking policy and a scheduled action; the target's
minimum moves the service's desired count; a plan finds no drift; destroy removes it all."""

from __future__ import annotations

import textwrap
import uuid

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
            applicationautoscaling = "{endpoint}"
            ecs                    = "{endpoint}"
            sts                    = "{endpoint}"
          }}
        }}

        resource "aws_ecs_cluster" "this" {{
          name = "{name}"
        }}

        resource "aws_ecs_task_definition" "app" {{
          family = "{name}"
          container_definitions = jsonencode([{{
            name = "app", image = "busybox", essential = true, memory = 32
          }}])
        }}

        resource "aws_ecs_service" "app" {{
          name            = "app"
          cluster         = aws_ecs_cluster.this.id
          task_definition = aws_ecs_task_definition.app.arn
          desired_count   = 1
          lifecycle {{
            ignore_changes = [desired_count]
          }}
        }}

        resource "aws_appautoscaling_target" "app" {{
          service_namespace  = "ecs"
          scalable_dimension = "ecs:service:DesiredCount"
          resource_id        = "service/${{aws_ecs_cluster.this.name}}/${{aws_ecs_service.app.name}}"
          min_capacity       = 2
          max_capacity       = 5
          tags = {{ app = "{name}" }}
        }}

        resource "aws_appautoscaling_policy" "cpu" {{
          name               = "cpu"
          policy_type        = "TargetTrackingScaling"
          service_namespace  = aws_appautoscaling_target.app.service_namespace
          scalable_dimension = aws_appautoscaling_target.app.scalable_dimension
          resource_id        = aws_appautoscaling_target.app.resource_id
          target_tracking_scaling_policy_configuration {{
            target_value       = 60
            scale_in_cooldown  = 60
            scale_out_cooldown = 30
            predefined_metric_specification {{
              predefined_metric_type = "ECSServiceAverageCPUUtilization"
            }}
          }}
        }}

        resource "aws_appautoscaling_scheduled_action" "night" {{
          name               = "night"
          service_namespace  = aws_appautoscaling_target.app.service_namespace
          scalable_dimension = aws_appautoscaling_target.app.scalable_dimension
          resource_id        = aws_appautoscaling_target.app.resource_id
          schedule           = "cron(0 22 * * ? *)"
          scalable_target_action {{
            min_capacity = 2
            max_capacity = 3
          }}
        }}
        """)


def test_an_ecs_services_scaling_applies_without_drift_and_destroys(
        terraform, endpoint, ecs, aws_client, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    aas = aws_client("application-autoscaling")
    resource = f"service/{name}/app"
    (target,) = aas.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 5)
    (policy,) = aas.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling" and len(policy["Alarms"]) == 2
    assert ecs.describe_services(cluster=name, services=["app"])["services"][0][
        "desiredCount"] == 2

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    assert aas.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"] == []
