"""ECR's control plane through boto3 and the AWS CLI: repositories (settings, policies, tags,
force delete), images put by manifest with their real digests and sizes, tags that move or are
immutable, BatchGetImage / BatchDeleteImage / DescribeImages / ListImages, lifecycle policies
that expire images, authorization tokens, and ECR's errors. Each test has a region of its own."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ecr(aws_client, fresh_region):
    return aws_client("ecr", fresh_region)


def manifest(layer_size: int, salt: str = "") -> str:
    """A Docker v2 schema 2 manifest with one layer; `salt` makes its digest differ."""
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 100, "digest": "sha256:" + hashlib.sha256(salt.encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": layer_size, "digest": "sha256:" + "a" * 64}],
    })


def error(call, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def test_repositories(ecr):
    region = ecr.meta.region_name
    repo = ecr.create_repository(repositoryName="team/app", imageTagMutability="IMMUTABLE",
                                 imageScanningConfiguration={"scanOnPush": True},
                                 tags=[{"Key": "team", "Value": "a"}])["repository"]
    assert repo["repositoryUri"] == f"000000000000.dkr.ecr.{region}.amazonaws.com/team/app"
    assert repo["repositoryArn"] == f"arn:aws:ecr:{region}:000000000000:repository/team/app"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    code, status, message = error(ecr.create_repository, repositoryName="team/app")
    assert (code, status) == ("RepositoryAlreadyExistsException", 400)
    assert error(ecr.create_repository, repositoryName="Bad_Name")[0] == \
        "InvalidParameterException"
    code, _, message = error(ecr.describe_repositories, repositoryNames=["nope"])
    assert code == "RepositoryNotFoundException"
    assert message == ("The repository with name 'nope' does not exist in the registry with "
                       "id '000000000000'")

    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
        {"Key": "team", "Value": "a"}]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]})
    ecr.set_repository_policy(repositoryName="team/app", policyText=policy)
    assert ecr.get_repository_policy(repositoryName="team/app")["policyText"] == policy
    ecr.delete_repository_policy(repositoryName="team/app")
    assert error(ecr.get_repository_policy, repositoryName="team/app")[0] == \
        "RepositoryPolicyNotFoundException"
    ecr.put_image_tag_mutability(repositoryName="team/app", imageTagMutability="MUTABLE")
    (got,) = ecr.describe_repositories(repositoryNames=["team/app"])["repositories"]
    assert got["imageTagMutability"] == "MUTABLE"
    assert got["imageScanningConfiguration"] == {"scanOnPush": True}


def test_images_by_manifest(ecr):
    ecr.create_repository(repositoryName="app")
    body = manifest(5000)
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    image = ecr.put_image(repositoryName="app", imageManifest=body, imageTag="v1")["image"]
    assert image["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    code, _, _ = error(ecr.put_image, repositoryName="app", imageManifest=body, imageTag="v1")
    assert code == "ImageAlreadyExistsException"
    ecr.put_image(repositoryName="app", imageManifest=body, imageTag="latest")

    (detail,) = ecr.describe_images(repositoryName="app")["imageDetails"]
    assert detail["imageDigest"] == digest and detail["imageSizeInBytes"] == 5100
    assert sorted(detail["imageTags"]) == ["latest", "v1"]
    assert detail["imageManifestMediaType"] == \
        "application/vnd.docker.distribution.manifest.v2+json"

    # A mutable tag moves to the newer image.
    other = manifest(10, "other")
    ecr.put_image(repositoryName="app", imageManifest=other, imageTag="latest")
    got = ecr.batch_get_image(repositoryName="app", imageIds=[
        {"imageTag": "latest"}, {"imageTag": "missing"}])
    assert got["images"][0]["imageManifest"] == other
    assert got["failures"][0]["failureCode"] == "ImageNotFound"
    listed = ecr.list_images(repositoryName="app")["imageIds"]
    assert sorted(i["imageTag"] for i in listed) == ["latest", "v1"]

    deleted = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    assert deleted["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert ecr.describe_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"})[
        "imageDetails"] == []
    code, _, _ = error(ecr.describe_images, repositoryName="app",
                       imageIds=[{"imageTag": "v1"}])
    assert code == "ImageNotFoundException"
    assert error(ecr.put_image, repositoryName="app", imageManifest="not json")[0] == \
        "InvalidParameterException"
    assert error(ecr.put_image, repositoryName="app", imageManifest=manifest(1, "x"),
                 imageDigest="sha256:" + "0" * 64)[0] == "ImageDigestDoesNotMatchException"

    assert error(ecr.delete_repository, repositoryName="app")[0] == \
        "RepositoryNotEmptyException"
    ecr.delete_repository(repositoryName="app", force=True)
    assert error(ecr.list_images, repositoryName="app")[0] == "RepositoryNotFoundException"


def test_immutable_tags_cannot_move(ecr):
    ecr.create_repository(repositoryName="fixed", imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName="fixed", imageManifest=manifest(1, "a"), imageTag="v1")
    code, _, message = error(ecr.put_image, repositoryName="fixed",
                             imageManifest=manifest(1, "b"), imageTag="v1")
    assert code == "ImageTagAlreadyExistsException"
    assert "cannot be overwritten because the repository is immutable" in message


def test_a_lifecycle_policy_expires_images(ecr):
    ecr.create_repository(repositoryName="busy")
    for i in range(4):
        ecr.put_image(repositoryName="busy", imageManifest=manifest(1, f"build{i}"),
                      imageTag=f"build-{i}")
    for i in range(2):
        ecr.put_image(repositoryName="busy", imageManifest=manifest(1, f"untagged{i}"))
    policy = json.dumps({"rules": [
        {"rulePriority": 1, "description": "drop untagged",
         "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan",
                       "countNumber": 1}, "action": {"type": "expire"}},
        {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["build-"],
                                          "countType": "imageCountMoreThan", "countNumber": 2},
         "action": {"type": "expire"}},
    ]})
    ecr.put_lifecycle_policy(repositoryName="busy", lifecyclePolicyText=policy)
    tags = sorted(t for d in ecr.describe_images(repositoryName="busy")["imageDetails"]
                  for t in d.get("imageTags", []))
    assert tags == ["build-2", "build-3"]
    untagged = ecr.describe_images(repositoryName="busy",
                                   filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    assert len(untagged) == 1
    got = ecr.get_lifecycle_policy(repositoryName="busy")
    assert got["lifecyclePolicyText"] == policy and "lastEvaluatedAt" in got
    bad = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]})
    code, _, message = error(ecr.put_lifecycle_policy, repositoryName="busy",
                             lifecyclePolicyText=bad)
    assert code == "InvalidParameterException" and "Lifecycle policy validation failure" in message
    ecr.delete_lifecycle_policy(repositoryName="busy")
    assert error(ecr.get_lifecycle_policy, repositoryName="busy")[0] == \
        "LifecyclePolicyNotFoundException"


def test_authorization_token_and_the_cli(ecr, endpoint):
    (data,) = ecr.get_authorization_token()["authorizationData"]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and len(password) >= 16
    assert data["proxyEndpoint"] == \
        f"https://000000000000.dkr.ecr.{ecr.meta.region_name}.amazonaws.com"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION=ecr.meta.region_name)
    done = subprocess.run(["aws", "--endpoint-url", endpoint, "ecr", "get-login-password"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and len(done.stdout.strip()) >= 16, done.stderr
