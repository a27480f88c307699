"""Terraform's AWS provider applies service discovery to berth: a private DNS namespace, a Cloud
Map service, and an ECS service registered in it, whose tasks then answer in berth's DNS; a plan
finds no drift; destroy removes it all."""

from __future__ import annotations

import textwrap
import time
import uuid

import pytest

from test_cloudmap import answers, query
from tf_helpers import run


@pytest.fixture(scope="module")
def dns_addr(raw):
    host, _, port = raw.request("GET", "/_berth/health").json()["dns"]["host"].rpartition(":")
    return host, int(port)


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
            ecs              = "{endpoint}"
            servicediscovery = "{endpoint}"
            sts              = "{endpoint}"
          }}
        }}

        resource "aws_service_discovery_private_dns_namespace" "ns" {{
          name        = "{name}.local"
          description = "berth test"
          vpc         = "vpc-0123456789abcdef0"
        }}

        resource "aws_service_discovery_service" "backend" {{
          name = "backend"
          dns_config {{
            namespace_id   = aws_service_discovery_private_dns_namespace.ns.id
            routing_policy = "MULTIVALUE"
            dns_records {{
              ttl  = 10
              type = "A"
            }}
          }}
          health_check_custom_config {{
            failure_threshold = 1
          }}
        }}

        resource "aws_ecs_cluster" "this" {{
          name = "{name}"
        }}

        resource "aws_ecs_task_definition" "backend" {{
          family                   = "{name}-backend"
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

        resource "aws_ecs_service" "backend" {{
          name                  = "backend"
          cluster               = aws_ecs_cluster.this.id
          task_definition       = aws_ecs_task_definition.backend.arn
          desired_count         = 2
          launch_type           = "FARGATE"
          wait_for_steady_state = true
          network_configuration {{
            subnets = ["subnet-0123456789abcdef0"]
          }}
          service_registries {{
            registry_arn = aws_service_discovery_service.backend.arn
          }}
        }}
        """)


def test_a_discovered_ecs_service_applies_answers_in_dns_and_destroys(
        terraform, endpoint, ecs, aws_client, dns_addr, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    sd = aws_client("servicediscovery")
    namespaces = sd.list_namespaces(Filters=[{"Name": "NAME", "Values": [f"{name}.local"]}])
    (ns,) = namespaces["Namespaces"]
    assert ns["Type"] == "DNS_PRIVATE" and ns["Description"] == "berth test"
    arns = ecs.list_tasks(cluster=name, serviceName="backend")["taskArns"]
    tasks = ecs.describe_tasks(cluster=name, tasks=arns)["tasks"]
    ips = sorted(d["value"] for t in tasks for d in t["attachments"][0]["details"]
                 if d["name"] == "privateIPv4Address")
    assert len(ips) == 2
    deadline = time.monotonic() + 5
    while answers(query(dns_addr, f"backend.{name}.local")) != ips:
        assert time.monotonic() < deadline, answers(query(dns_addr, f"backend.{name}.local"))
        time.sleep(0.05)

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    assert not sd.list_namespaces(
        Filters=[{"Name": "NAME", "Values": [f"{name}.local"]}])["Namespaces"]
