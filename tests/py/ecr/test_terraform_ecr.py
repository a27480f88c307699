"""Terraform's AWS provider applies ECR to berth: a repository with scanning and tags, its
lifecycle policy and its repository policy; a plan finds no drift; destroy removes it all."""

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
            ecr = "{endpoint}"
            sts = "{endpoint}"
          }}
        }}

        resource "aws_ecr_repository" "app" {{
          name                 = "{name}/app"
          image_tag_mutability = "IMMUTABLE"
          force_delete         = true
          image_scanning_configuration {{
            scan_on_push = true
          }}
          tags = {{ app = "{name}" }}
        }}

        resource "aws_ecr_lifecycle_policy" "app" {{
          repository = aws_ecr_repository.app.name
          policy = jsonencode({{
            rules = [{{
              rulePriority = 1
              description  = "keep ten"
              selection = {{
                tagStatus   = "any"
                countType   = "imageCountMoreThan"
                countNumber = 10
              }}
              action = {{ type = "expire" }}
            }}]
          }})
        }}

        resource "aws_ecr_repository_policy" "app" {{
          repository = aws_ecr_repository.app.name
          policy = jsonencode({{
            Version = "2012-10-17"
            Statement = [{{
              Sid       = "pull"
              Effect    = "Allow"
              Principal = "*"
              Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
            }}]
          }})
        }}

        output "url" {{
          value = aws_ecr_repository.app.repository_url
        }}
        """)


def test_a_repository_applies_without_drift_and_destroys(
        terraform, endpoint, aws_client, tmp_path):
    name = f"tf{uuid.uuid4().hex[:8]}"
    (tmp_path / "main.tf").write_text(config(endpoint, name))
    run(terraform, tmp_path, "init", "-input=false")
    run(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    ecr = aws_client("ecr")
    (repo,) = ecr.describe_repositories(repositoryNames=[f"{name}/app"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert ecr.get_lifecycle_policy(repositoryName=f"{name}/app")["lifecyclePolicyText"]
    out = run(terraform, tmp_path, "output", "-raw", "url").stdout.strip()
    assert out == f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{name}/app"

    plan = run(terraform, tmp_path, "plan", "-detailed-exitcode", "-input=false", check=False)
    assert plan.returncode == 0, f"drift after apply:\n{plan.stdout[-6000:]}"

    run(terraform, tmp_path, "destroy", "-auto-approve", "-input=false")
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=[f"{name}/app"])
    assert e.value.response["Error"]["Code"] == "RepositoryNotFoundException"
