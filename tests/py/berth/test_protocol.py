"""The AWS JSON 1.1 wire protocol, spoken over raw HTTP: error envelopes and codes, request ids,
unknown operations, malformed bodies, body size limits, and that every ECS operation the model
lists is routed and answers a well-formed AWS error (never a 404, a hang or a crash)."""


import botocore.session
import pytest

from berth_helpers import ECS_TARGET_PREFIX, JSON_11, type_code, unique

ECS_MODEL = botocore.session.get_session().get_service_model("ecs")

# The operations the foundation issue implements.
IN_SCOPE = [
    "CreateCluster", "DescribeClusters", "ListClusters", "UpdateCluster", "UpdateClusterSettings",
    "DeleteCluster", "PutClusterCapacityProviders", "CreateCapacityProvider",
    "DescribeCapacityProviders", "UpdateCapacityProvider", "DeleteCapacityProvider",
    "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions",
    "ListTaskDefinitionFamilies", "DeregisterTaskDefinition", "DeleteTaskDefinitions",
    "TagResource", "UntagResource", "ListTagsForResource", "PutAccountSetting",
    "PutAccountSettingDefault", "ListAccountSettings", "DeleteAccountSetting", "PutAttributes",
    "ListAttributes", "DeleteAttributes",
]
LATER = sorted(set(ECS_MODEL.operation_names) - set(IN_SCOPE))


def assert_aws_error(resp, code=None, status=None):
    """A JSON 1.1 error: the status, a JSON body with `__type` and `message`, a request id."""
    if status is not None:
        assert resp.status == status, f"HTTP {resp.status}: {resp.body[:500]!r}"
    assert resp.status >= 400, f"expected an error, got HTTP {resp.status}: {resp.body[:500]!r}"
    try:
        body = resp.json()
    except ValueError:
        pytest.fail(f"error body is not JSON (HTTP {resp.status}): {resp.body[:500]!r}")
    assert isinstance(body, dict) and body.get("__type"), f"no __type in {body}"
    assert "message" in body or "Message" in body, f"no message in {body}"
    if code is not None:
        assert type_code(body["__type"]) == code, f"expected {code}, got {body}"
    assert resp.header("x-amzn-RequestId"), "missing x-amzn-RequestId"
    return body


# ---- errors --------------------------------------------------------------------------------

def test_malformed_json_is_a_serialization_exception(raw):
    for body in (b"{", b"{not json}", b'{"clusterName": "x"', b"\xff\xfe", b"[1, 2"):
        resp = raw.ecs("CreateCluster", body)
        assert_aws_error(resp, "SerializationException", 400)


def test_non_object_json_is_a_serialization_exception(raw):
    for body in (b"[]", b"5", b'"str"'):
        resp = raw.ecs("ListClusters", body)
        assert resp.status == 400, f"{body!r}: HTTP {resp.status} {resp.body[:300]!r}"
        assert_aws_error(resp, "SerializationException", 400)


def test_wrong_member_type_is_a_serialization_exception(raw):
    resp = raw.ecs("CreateCluster", {"clusterName": 5})
    assert_aws_error(resp, "SerializationException", 400)
    resp = raw.ecs("DescribeClusters", {"clusters": "not-a-list"})
    assert_aws_error(resp, "SerializationException", 400)
    resp = raw.ecs("ListClusters", {"maxResults": "ten"})
    assert_aws_error(resp, "SerializationException", 400)
    resp = raw.ecs("RegisterTaskDefinition",
                   {"family": "f", "containerDefinitions": [{"name": "a", "memory": "lots"}]})
    assert_aws_error(resp, "SerializationException", 400)


def test_json_arrays_are_not_structures(raw):
    # A JSON array is not an object, at the top level or nested (a serde-derived struct would
    # accept one positionally: ["x"] as {"clusterName": "x"}).
    name = unique("pos")
    resp = raw.ecs("CreateCluster", [name])
    assert_aws_error(resp, "SerializationException", 400)
    resp = raw.ecs("CreateCluster", {"clusterName": unique("c"),
                                     "configuration": [{"logging": "DEFAULT"}]})
    assert_aws_error(resp, "SerializationException", 400)
    resp = raw.ecs("RegisterTaskDefinition",
                   {"family": unique("f"), "containerDefinitions": [["web", "busybox"]]})
    assert_aws_error(resp, "SerializationException", 400)
    check = raw.ecs("DescribeClusters", {"clusters": [name]}).json()
    assert check["failures"] and check["failures"][0]["reason"] == "MISSING"


def _wrong_value(shape):
    t = shape.type_name
    if t == "string":
        return {"not": "a string"}
    if t in ("integer", "long", "float", "double"):
        return "not a number"
    if t == "boolean":
        return "not a boolean"
    if t == "timestamp":
        return {"not": "a timestamp"}
    if t == "blob":
        return {"not": "a blob"}
    if t == "list":
        return {"not": "a list"}
    if t in ("map", "structure"):
        return "not an object"
    return None


def _wrong_type_cases():
    for op in IN_SCOPE:
        shape = ECS_MODEL.operation_model(op).input_shape
        for member, mshape in (shape.members.items() if shape else []):
            value = _wrong_value(mshape)
            if value is not None:
                yield pytest.param(op, member, value, id=f"{op}.{member}")


@pytest.mark.parametrize("op,member,value", list(_wrong_type_cases()))
def test_every_member_type_is_checked(raw, op, member, value):
    resp = raw.ecs(op, {member: value})
    assert_aws_error(resp, "SerializationException", 400)


def test_unknown_operation(raw):
    resp = raw.ecs("NoSuchOperation", {})
    assert_aws_error(resp, "UnknownOperationException", 400)


def test_unknown_target_prefix_is_a_client_error(raw):
    resp = raw.request("POST", "/", b"{}", {"Content-Type": JSON_11,
                                            "X-Amz-Target": "NoSuchService_20200101.DoThing"})
    assert 400 <= resp.status < 500, f"HTTP {resp.status}: {resp.body[:300]!r}"


def test_missing_target_is_a_client_error(raw):
    resp = raw.request("POST", "/", b"{}", {"Content-Type": JSON_11})
    assert 400 <= resp.status < 500, f"HTTP {resp.status}: {resp.body[:300]!r}"


def test_error_envelope_for_a_modelled_error(raw):
    resp = raw.ecs("DeleteCluster", {"cluster": unique("nope")})
    body = assert_aws_error(resp, "ClusterNotFoundException", 400)
    assert isinstance(body.get("message", body.get("Message")), str)
    assert (resp.header("content-type") or "").startswith(JSON_11)


def test_success_envelope(raw):
    resp = raw.ecs("ListClusters", {})
    assert resp.status == 200, resp.body[:300]
    assert (resp.header("content-type") or "").startswith(JSON_11)
    assert isinstance(resp.json().get("clusterArns"), list)
    assert resp.header("x-amzn-RequestId")


# ---- request ids ---------------------------------------------------------------------------

def test_every_response_has_a_request_id(raw):
    responses = [
        raw.ecs("ListClusters", {}),
        raw.ecs("CreateCluster", {"clusterName": unique("c")}),
        raw.ecs("DeleteCluster", {"cluster": unique("nope")}),
        raw.ecs("CreateCluster", b"{"),
        raw.ecs("NoSuchOperation", {}),
        raw.ecs("RunTask", {"taskDefinition": "x"}),
    ]
    ids = []
    for resp in responses:
        rid = resp.header("x-amzn-RequestId")
        assert rid, f"no x-amzn-RequestId on HTTP {resp.status}: {resp.headers}"
        ids.append(rid)
    assert len(set(ids)) == len(ids), f"request ids repeat: {ids}"


def test_sdk_sees_the_request_id(ecs):
    meta = ecs.list_clusters()["ResponseMetadata"]
    assert meta["RequestId"]
    assert meta["HTTPHeaders"].get("x-amzn-requestid") == meta["RequestId"]


# ---- body size -----------------------------------------------------------------------------

def test_body_over_the_limit_is_refused_cleanly(raw, ecs):
    headers = {"Content-Type": JSON_11, "X-Amz-Target": ECS_TARGET_PREFIX + "ListClusters"}
    status, data = raw.send_large(headers, 11 * 1024 * 1024)
    assert status is not None, f"no HTTP answer to an 11 MiB body; got {data[:300]!r}"
    assert 400 <= status < 500, f"expected 413 (a 4xx), got {data[:500]!r}"
    assert status == 413, f"expected 413 Payload Too Large, got {status}"
    # and berth is still there
    assert raw.request("GET", "/_berth/health").status == 200
    assert isinstance(ecs.list_clusters()["clusterArns"], list)


def test_body_limit_is_configurable(own_berth):
    with own_berth("--max-body-bytes", "4096") as server:
        client = server.raw()
        small = client.ecs("ListClusters", b'{"maxResults": 5}' + b" " * 1000)
        assert small.status == 200, small.body[:300]
        headers = {"Content-Type": JSON_11, "X-Amz-Target": ECS_TARGET_PREFIX + "ListClusters"}
        status, data = client.send_large(headers, 64 * 1024)
        assert status == 413, f"expected 413 over a 4096-byte limit, got {data[:300]!r}"
        assert client.request("GET", "/_berth/health").status == 200


def test_body_under_the_limit_is_accepted(raw):
    body = b'{"maxResults": 5}' + b" " * (1024 * 1024)
    resp = raw.ecs("ListClusters", body)
    assert resp.status == 200, resp.body[:300]


# ---- every operation is routed -------------------------------------------------------------

def test_run_task_answers_a_well_formed_error(raw):
    resp = raw.ecs("RunTask", {"taskDefinition": unique("nope")})
    assert resp.status != 404
    assert resp.status not in (500, 502, 503, 504), f"HTTP {resp.status}: {resp.body[:300]!r}"
    assert_aws_error(resp)


@pytest.mark.parametrize("op", LATER)
def test_operations_of_later_issues_answer_aws_errors(raw, fresh_region_shared, op):
    resp = raw.ecs(op, {}, region=fresh_region_shared)
    assert resp.status != 404, f"{op} is not routed"
    assert resp.status not in (500, 502, 503, 504), f"{op}: HTTP {resp.status} {resp.body[:300]!r}"
    assert resp.header("x-amzn-RequestId")
    if resp.status >= 400:
        assert_aws_error(resp)
    else:
        assert isinstance(resp.json(), dict)


@pytest.mark.parametrize("op", IN_SCOPE)
def test_in_scope_operations_never_answer_5xx_to_an_empty_request(raw, fresh_region_shared, op):
    resp = raw.ecs(op, {}, region=fresh_region_shared)
    assert resp.status < 500, f"{op}: HTTP {resp.status} {resp.body[:300]!r}"
    assert resp.header("x-amzn-RequestId")
    if resp.status >= 400:
        assert_aws_error(resp)
    else:
        assert isinstance(resp.json(), dict)


@pytest.fixture(scope="module")
def fresh_region_shared():
    # A region that only this module's sweeps touch (CreateCluster {} makes `default` there);
    # it is not among conftest's spare regions.
    return "me-central-1"
