"""STS GetCallerIdentity (Query protocol) answers berth's configured account."""

import re

from berth_helpers import ACCOUNT


def test_get_caller_identity(sts):
    resp = sts.get_caller_identity()
    assert resp["Account"] == ACCOUNT
    assert re.match(rf"^arn:aws:(iam|sts)::{ACCOUNT}:", resp["Arn"]), resp["Arn"]
    assert resp["UserId"]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_in_another_region(aws_client):
    resp = aws_client("sts", "eu-west-1").get_caller_identity()
    assert resp["Account"] == ACCOUNT


def test_get_caller_identity_via_cli(aws_cli):
    rc, out = aws_cli("get-caller-identity", service="sts")
    assert rc == 0, out
    assert out["Account"] == ACCOUNT
    assert out["Arn"].startswith("arn:aws:")
