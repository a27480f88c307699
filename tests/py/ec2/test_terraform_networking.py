"""Terraform's AWS provider applies the network of an ECS stack to berth: the zones as a data
source, a VPC with DNS hostnames, two subnets in two zones, a security group with ingress and
egress rules, and an awsvpc ECS service in those subnets; a plan finds no drift; destroy
removes it all."""

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
            ec2 = "{endpoint}"
            ecs = "{endpoint}"
            sts = "{endpoint}"
          }}
        }}

        data "aws_availability_zones" "here" {{
          state = "available"
        }}

        resource "aws_vpc" "main" {{
          cidr_block           = "10.20.0.0/16"
          enable_dns_hostnames = true
          tags = {{ Name = "{name}" }}
        }}

        resource "aws_subnet" "private" {{
          count             = 2
          vpc_id            = aws_vpc.main.id
          cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)
          availability_zone = data.aws_availability_zones.here.names[count.index]
          tags = {{ Name = "{name}-${{count.index}}" }}
        }}

        resource "aws_security_group" "app" {{
          name        = "{name}-app"
          description = "the app"
          vpc_id      = aws_vpc.main.id
          ingress {{
            from_port   = 8080
            to_port     = 8080
            protocol    = "tcp"
            cidr_blocks = [aws_vpc.main.cidr_block]
          }}
          egress {{
            from_port   = 0
            to_port     = 0
            protocol    = "-1"
            cidr_blocks = ["0.0.0.0/0"]
          }}
        }}

        resource "aws_ecs_cluster" "this" {{
          name = "{name}"
        }}

        resource "aws_ecs_task_definition" "app" {{
          family                   = "{name}"
          requires_compatibilities = ["FARGATE"]
          network_mode             = "awsvpc"
          cpu                      = "256"
          memory                   = "512"
          container_definitions = jsonencode([{{
            name = "app", image = "busybox", essential = true,
            portMappings = [{{ containerPort = 8080, protocol = "tcp" }}]
          }}])
        }}

        resource "aws_ecs_service" "app" {{
          name            = "app"
          cluster         = aws_ecs_cluster.this.id
          task_definition = aws_ecs_task_definition.app.arn
          desired_count   = 0
          launch_type     = "FARGATE"
          network_configuration {{
            subnets         = aws_subnet.private[*].id
            security_groups = [aws_security_group.app.id]
          }}
        }}
        """)


def test_a_network_applies_without_drift_and_destroys(
        terraform, endpoint, ecs, aws_client, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    ec2 = aws_client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted((s["CidrBlock"], s["AvailabilityZone"]) for s in subnets) == [
        ("10.20.0.0/24", "us-east-1a"), ("10.20.1.0/24", "us-east-1b")]
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{name}-app"]}])["SecurityGroups"]
    assert [(p["IpProtocol"], p["FromPort"]) for p in group["IpPermissions"]] == [("tcp", 8080)]
    service = ecs.describe_services(cluster=name, services=["app"])["services"][0]
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(awsvpc["subnets"]) == sorted(s["SubnetId"] for s in subnets)
    assert awsvpc["securityGroups"] == [group["GroupId"]]

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    with pytest.raises(ClientError) as e:
        ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])
    assert e.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
