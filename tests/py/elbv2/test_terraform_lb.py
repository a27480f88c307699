"""Terraform's AWS provider applies a load-balanced ECS stack to berth: aws_lb,
aws_lb_target_group, aws_lb_listener, aws_lb_listener_rule and an aws_ecs_service with a
load_balancer block, whose tasks become the target group's targets; a plan finds no drift;
destroy removes it all."""

from __future__ import annotations

import textwrap
import time
import uuid

from tf_helpers import run


def config(endpoint: str, name: str, port: int) -> str:
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
            ecs   = "{endpoint}"
            elbv2 = "{endpoint}"
            sts   = "{endpoint}"
          }}
        }}

        resource "aws_lb" "web" {{
          name               = "{name}"
          load_balancer_type = "application"
          subnets            = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
          idle_timeout       = 30
          tags = {{ team = "berth" }}
        }}

        resource "aws_lb_target_group" "app" {{
          name        = "{name}-app"
          port        = 8080
          protocol    = "HTTP"
          target_type = "ip"
          vpc_id      = "vpc-0123456789abcdef0"
          deregistration_delay = 5
          health_check {{
            path                = "/health"
            interval            = 300
            timeout             = 5
            healthy_threshold   = 2
            unhealthy_threshold = 2
            matcher             = "200-299"
          }}
        }}

        resource "aws_lb_listener" "http" {{
          load_balancer_arn = aws_lb.web.arn
          port              = {port}
          protocol          = "HTTP"
          default_action {{
            type = "fixed-response"
            fixed_response {{
              content_type = "text/plain"
              message_body = "nothing here"
              status_code  = "404"
            }}
          }}
        }}

        resource "aws_lb_listener_rule" "app" {{
          listener_arn = aws_lb_listener.http.arn
          priority     = 10
          action {{
            type             = "forward"
            target_group_arn = aws_lb_target_group.app.arn
          }}
          condition {{
            path_pattern {{
              values = ["/app/*"]
            }}
          }}
          condition {{
            host_header {{
              values = ["app.example.com"]
            }}
          }}
        }}

        resource "aws_ecs_cluster" "this" {{
          name = "{name}"
        }}

        resource "aws_ecs_task_definition" "app" {{
          family                   = "{name}-app"
          requires_compatibilities = ["FARGATE"]
          network_mode             = "awsvpc"
          cpu                      = "256"
          memory                   = "512"
          container_definitions = jsonencode([{{
            name         = "app"
            image        = "busybox"
            essential    = true
            portMappings = [{{ containerPort = 8080, protocol = "tcp" }}]
          }}])
        }}

        resource "aws_ecs_service" "app" {{
          name            = "app"
          cluster         = aws_ecs_cluster.this.id
          task_definition = aws_ecs_task_definition.app.arn
          desired_count   = 2
          launch_type     = "FARGATE"
          network_configuration {{
            subnets = ["subnet-0123456789abcdef0"]
          }}
          load_balancer {{
            target_group_arn = aws_lb_target_group.app.arn
            container_name   = "app"
            container_port   = 8080
          }}
          depends_on = [aws_lb_listener_rule.app]
        }}
        """)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_load_balanced_ecs_stack_applies_plans_clean_and_destroys(
        terraform, endpoint, ecs, aws_client, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name, free_port()))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    elb = aws_client("elbv2")
    (lb,) = elb.describe_load_balancers(Names=[name])["LoadBalancers"]
    attrs = {a["Key"]: a["Value"] for a in
             elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "30"
    (tg,) = elb.describe_target_groups(Names=[f"{name}-app"])["TargetGroups"]
    assert tg["LoadBalancerArns"] == [lb["LoadBalancerArn"]]
    assert tg["Matcher"] == {"HttpCode": "200-299"}
    arns = ecs.list_tasks(cluster=name, serviceName="app")["taskArns"]
    tasks = ecs.describe_tasks(cluster=name, tasks=arns)["tasks"]
    ips = sorted(d["value"] for t in tasks for d in t["attachments"][0]["details"]
                 if d["name"] == "privateIPv4Address")
    deadline = time.monotonic() + 10
    while True:
        targets = sorted(h["Target"]["Id"] for h in elb.describe_target_health(
            TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
            if h["TargetHealth"]["State"] != "draining")
        if targets == ips and len(ips) == 2:
            break
        assert time.monotonic() < deadline, (targets, ips)
        time.sleep(0.2)

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    assert not [l for l in elb.describe_load_balancers()["LoadBalancers"]
                if l["LoadBalancerName"] == name]
