"""CloudWatch Logs through boto3 and the AWS CLI: log groups and streams, PutLogEvents,
GetLogEvents paging in both directions (ending, as on AWS, when the token passed in comes back),
FilterLogEvents with CloudWatch's filter pattern syntax, retention that really hides old events,
tags on log group ARNs, and the errors AWS answers with."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import PaginationError
from botocore.paginate import Paginator

from berth_helpers import ACCOUNT, REGION, raises_code, unique

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FORWARD = re.compile(r"^f/\d{56}/s$")
BACKWARD = re.compile(r"^b/\d{56}/s$")
LOGS_TARGET = "Logs_20140328."
RETENTION_VALUES = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                    2192, 2557, 2922, 3288, 3653]


def now_ms() -> int:
    return int(time.time() * 1000)


def group_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"


@pytest.fixture(scope="module")
def logs(aws_client):
    return aws_client("logs")


@pytest.fixture(scope="module")
def unchecked(endpoint):
    """A client that skips botocore's own checks (min lengths), so berth's are what answers."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=REGION)
    return session.client("logs", endpoint_url=endpoint, config=Config(
        parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def cli(aws_cli):
    return lambda *args, **kw: aws_cli(*args, service="logs", **kw)


@pytest.fixture
def group(logs):
    name = f"/berth/test/{unique('lg')}"
    logs.create_log_group(logGroupName=name)
    return name


@pytest.fixture
def stream(logs, group):
    name = unique("stream")
    logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def put(logs, group, stream, events):
    """events: [(timestamp ms, message)] in chronological order."""
    return logs.put_log_events(logGroupName=group, logStreamName=stream,
                               logEvents=[{"timestamp": t, "message": m} for t, m in events])


def messages(events) -> list[str]:
    return [e["message"] for e in events]


def error_message(info) -> str:
    return info.value.response["Error"]["Message"]


# --------------------------------------------------------------------------------------------
# Log groups
# --------------------------------------------------------------------------------------------

def test_create_describe_delete_log_group(logs):
    name = f"/berth/test/{unique('lg')}"
    before = now_ms()
    logs.create_log_group(logGroupName=name)
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert len(groups) == 1
    g = groups[0]
    assert g["logGroupName"] == name
    assert g["arn"] == group_arn(name) + ":*"
    assert g["logGroupArn"] == group_arn(name)
    assert before - 1000 <= g["creationTime"] <= now_ms() + 1000
    assert g["metricFilterCount"] == 0
    assert g["storedBytes"] == 0
    assert g["logGroupClass"] == "STANDARD"
    assert "retentionInDays" not in g

    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    with raises_code("ResourceNotFoundException") as info:
        logs.delete_log_group(logGroupName=name)
    assert error_message(info) == "The specified log group does not exist."


def test_create_existing_log_group_fails(logs, group):
    with raises_code("ResourceAlreadyExistsException") as info:
        logs.create_log_group(logGroupName=group)
    assert error_message(info) == "The specified log group already exists"


@pytest.mark.parametrize("bad", ["has:colon", "has space", "star*", "x" * 513])
def test_log_group_names_are_validated(logs, bad):
    with raises_code("InvalidParameterException") as info:
        logs.create_log_group(logGroupName=bad)
    assert "logGroupName" in error_message(info)


def test_empty_and_reserved_log_group_names(unchecked):
    with raises_code("InvalidParameterException") as info:
        unchecked.create_log_group(logGroupName="")
    assert "Member must have length greater than or equal to 1" in error_message(info)
    with raises_code("InvalidParameterException"):
        unchecked.create_log_group(logGroupName=f"aws/{unique('x')}")


def test_log_group_class_kms_and_stored_bytes(logs, stream, group):
    name = f"/berth/test/{unique('ia')}"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    logs.create_log_group(logGroupName=name, logGroupClass="INFREQUENT_ACCESS", kmsKeyId=key)
    g = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert g["logGroupClass"] == "INFREQUENT_ACCESS"
    assert g["kmsKeyId"] == key
    only_ia = logs.describe_log_groups(logGroupNamePrefix="/berth/test/",
                                       logGroupClass="INFREQUENT_ACCESS")["logGroups"]
    assert name in [x["logGroupName"] for x in only_ia]
    assert group not in [x["logGroupName"] for x in only_ia]
    with raises_code("InvalidParameterException"):
        logs.create_log_group(logGroupName=unique("lg"), logGroupClass="COLD")

    put(logs, group, stream, [(now_ms(), "12345")])
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert g["storedBytes"] == 5


def test_describe_log_groups_pages_in_ascii_order(logs):
    prefix = f"/berth/page/{unique('p')}/"
    names = [prefix + s for s in ["b", "A", "a", "_z", "0"]]
    for n in names:
        logs.create_log_group(logGroupName=n)
    seen, token, calls = [], None, 0
    while True:
        kwargs = {"logGroupNamePrefix": prefix, "limit": 2}
        if token:
            kwargs["nextToken"] = token
        resp = logs.describe_log_groups(**kwargs)
        calls += 1
        assert len(resp["logGroups"]) <= 2
        seen += [g["logGroupName"] for g in resp["logGroups"]]
        token = resp.get("nextToken")
        if not token:
            break
    assert seen == sorted(names)  # ASCII: digits, upper case, `_`, lower case
    assert calls == 3
    # botocore's paginator gets the same.
    pages = logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2})
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == sorted(names)


def test_describe_log_groups_pattern_and_identifiers(logs):
    marker = unique("Pat")
    inside = f"/berth/x/{marker}/one"
    other = f"/berth/y/{marker.lower()}/two"
    logs.create_log_group(logGroupName=inside)
    logs.create_log_group(logGroupName=other)
    found = logs.describe_log_groups(logGroupNamePattern=marker)["logGroups"]
    # A case-sensitive substring search; only arn, creationTime and logGroupName come back.
    assert [g["logGroupName"] for g in found] == [inside]
    assert set(found[0]) == {"arn", "creationTime", "logGroupName"}

    with raises_code("InvalidParameterException"):
        logs.describe_log_groups(logGroupNamePattern=marker, logGroupNamePrefix="/berth")
    with raises_code("InvalidParameterException"):
        logs.describe_log_groups(limit=51)

    by_id = logs.describe_log_groups(
        logGroupIdentifiers=[group_arn(other), inside, "/berth/none/" + unique("n")])
    assert sorted(g["logGroupName"] for g in by_id["logGroups"]) == sorted([inside, other])


def test_list_log_groups(logs):
    marker = unique("List")
    name = f"/berth/list/{marker}"
    logs.create_log_group(logGroupName=name)
    found = logs.list_log_groups(logGroupNamePattern=marker)["logGroups"]
    assert found == [{"logGroupName": name, "logGroupArn": group_arn(name),
                      "logGroupClass": "STANDARD"}]


def test_deletion_protection(logs):
    name = f"/berth/test/{unique('prot')}"
    logs.create_log_group(logGroupName=name, deletionProtectionEnabled=True)
    g = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert g["deletionProtectionEnabled"] is True
    with raises_code("ValidationException"):
        logs.delete_log_group(logGroupName=name)
    logs.put_log_group_deletion_protection(logGroupIdentifier=group_arn(name),
                                           deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)


def test_log_groups_are_per_region(aws_client, fresh_region, logs):
    name = f"/berth/region/{unique('r')}"
    other = aws_client("logs", fresh_region)
    other.create_log_group(logGroupName=name)
    assert other.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["logGroupArn"] \
        == group_arn(name, fresh_region)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    # An ARN of another region names no group here.
    with raises_code("ResourceNotFoundException"):
        logs.list_tags_for_resource(resourceArn=group_arn(name, fresh_region))


# --------------------------------------------------------------------------------------------
# Log streams
# --------------------------------------------------------------------------------------------

def test_create_describe_delete_log_stream(logs, group):
    before = now_ms()
    logs.create_log_stream(logGroupName=group, logStreamName="web/1")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1
    s = streams[0]
    assert s["logStreamName"] == "web/1"
    assert s["arn"] == f"{group_arn(group)}:log-stream:web/1"
    assert before - 1000 <= s["creationTime"] <= now_ms() + 1000
    assert s["storedBytes"] == 0
    assert "uploadSequenceToken" in s
    # No events yet: no event times.
    assert "firstEventTimestamp" not in s and "lastEventTimestamp" not in s

    with raises_code("ResourceAlreadyExistsException") as info:
        logs.create_log_stream(logGroupName=group, logStreamName="web/1")
    assert error_message(info) == "The specified log stream already exists"

    logs.delete_log_stream(logGroupName=group, logStreamName="web/1")
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    with raises_code("ResourceNotFoundException") as info:
        logs.delete_log_stream(logGroupName=group, logStreamName="web/1")
    assert error_message(info) == "The specified log stream does not exist."


def test_log_stream_errors(logs, group):
    missing = f"/berth/none/{unique('g')}"
    with raises_code("ResourceNotFoundException") as info:
        logs.create_log_stream(logGroupName=missing, logStreamName="s")
    assert error_message(info) == "The specified log group does not exist."
    with raises_code("ResourceNotFoundException") as info:
        logs.describe_log_streams(logGroupName=missing)
    assert error_message(info) == "The specified log group does not exist."
    for bad in ["a:b", "a*b", "x" * 513]:
        with raises_code("InvalidParameterException"):
            logs.create_log_stream(logGroupName=group, logStreamName=bad)
    with raises_code("InvalidParameterException"):
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                  logStreamNamePrefix="a")
    with raises_code("InvalidParameterException"):
        logs.describe_log_streams(logGroupName=group, logGroupIdentifier=group_arn(group))


def test_describe_log_streams_order_prefix_and_paging(logs, group):
    names = ["b-2", "a-1", "c-3", "a-2", "b-1"]
    for n in names:
        logs.create_log_stream(logGroupName=group, logStreamName=n)
    t = now_ms()
    # Last event times: c-3 oldest, then a-1, b-2 newest.
    for i, n in enumerate(["c-3", "a-1", "b-2"]):
        put(logs, group, n, [(t - 10_000 + i * 1000, n)])

    def all_names(**kwargs):
        out, token = [], None
        while True:
            resp = logs.describe_log_streams(logGroupName=group, limit=2,
                                             **kwargs, **({"nextToken": token} if token else {}))
            out += [s["logStreamName"] for s in resp["logStreams"]]
            token = resp.get("nextToken")
            if not token:
                return out

    assert all_names() == sorted(names)
    assert all_names(descending=True) == sorted(names, reverse=True)
    assert all_names(logStreamNamePrefix="a-") == ["a-1", "a-2"]
    by_time = all_names(orderBy="LastEventTime", descending=True)
    assert by_time[:3] == ["b-2", "a-1", "c-3"]

    s = {x["logStreamName"]: x for x in
         logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="b-2")["logStreams"]}
    b2 = s["b-2"]
    assert b2["firstEventTimestamp"] == b2["lastEventTimestamp"] == t - 8000
    assert abs(b2["lastIngestionTime"] - now_ms()) < 60_000
    assert b2["storedBytes"] == 0
    # logGroupIdentifier takes the ARN (with or without `:*`).
    by_arn = logs.describe_log_streams(logGroupIdentifier=group_arn(group) + ":*")
    assert len(by_arn["logStreams"]) == 5


# --------------------------------------------------------------------------------------------
# PutLogEvents
# --------------------------------------------------------------------------------------------

def test_put_log_events_and_sequence_tokens(logs, group, stream):
    t = now_ms()
    first = put(logs, group, stream, [(t - 2, "one"), (t - 1, "two")])
    assert re.fullmatch(r"\d{56}", first["nextSequenceToken"])
    assert "rejectedLogEventsInfo" not in first
    # The sequence token is ignored (any value is accepted), and each put returns a new one.
    second = logs.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": t, "message": "three"}],
                                 sequenceToken="whatever")
    assert second["nextSequenceToken"] != first["nextSequenceToken"]
    s = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert s["uploadSequenceToken"] == second["nextSequenceToken"]
    assert s["firstEventTimestamp"] == t - 2 and s["lastEventTimestamp"] == t
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(got["events"]) == ["one", "two", "three"]
    for e in got["events"]:
        assert abs(e["ingestionTime"] - now_ms()) < 60_000


def test_put_log_events_errors(logs, unchecked, group, stream):
    t = now_ms()
    with raises_code("InvalidParameterException") as info:
        put(logs, group, stream, [(t, "later"), (t - 1, "earlier")])
    assert "chronological order" in error_message(info)
    with raises_code("InvalidParameterException") as info:
        put(logs, group, stream, [(t - 25 * HOUR_MS, "a"), (t, "b")])
    assert "24 hours" in error_message(info)
    with raises_code("ResourceNotFoundException") as info:
        put(logs, group, "no-such-stream", [(t, "x")])
    assert error_message(info) == "The specified log stream does not exist."
    with raises_code("ResourceNotFoundException") as info:
        put(logs, f"/berth/none/{unique('g')}", stream, [(t, "x")])
    assert error_message(info) == "The specified log group does not exist."
    with raises_code("InvalidParameterException"):
        unchecked.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[])
    with raises_code("InvalidParameterException"):
        unchecked.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": t, "message": ""}])
    with raises_code("InvalidParameterException") as info:
        put(logs, group, stream, [(t, "x" * 600_000), (t, "y" * 600_000)])
    assert error_message(info).startswith("Upload too large")
    # Nothing of the failed batches was stored.
    assert logs.get_log_events(logGroupName=group, logStreamName=stream)["events"] == []


def test_put_log_events_rejects_too_old_and_too_new_events(logs, group, stream):
    t = now_ms()
    resp = put(logs, group, stream, [(t - 15 * DAY_MS, "too old"), (t - 1000, "ok one"),
                                     (t, "ok two"), (t + 3 * HOUR_MS, "too new")])
    assert resp["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0,
                                             "tooNewLogEventStartIndex": 3}
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(got["events"]) == ["ok one", "ok two"]


# --------------------------------------------------------------------------------------------
# GetLogEvents
# --------------------------------------------------------------------------------------------

@pytest.fixture
def stream_of_25(logs, group, stream):
    t = now_ms() - 100_000
    events = [(t + i * 100, f"event {i:02d}") for i in range(25)]
    put(logs, group, stream, events)
    return group, stream, [m for _, m in events]


def test_get_log_events_forward_until_the_token_repeats(logs, stream_of_25):
    """The SDKs' GetLogEvents paginators (Java, Go, JS) feed nextForwardToken back as nextToken
    and stop when the same token comes back; a partial page does not mean the end."""
    group, stream, expected = stream_of_25
    seen, token, calls = [], None, 0
    while True:
        kwargs = {"logGroupName": group, "logStreamName": stream, "limit": 10,
                  "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        resp = logs.get_log_events(**kwargs)
        calls += 1
        assert FORWARD.match(resp["nextForwardToken"]), resp["nextForwardToken"]
        assert BACKWARD.match(resp["nextBackwardToken"]), resp["nextBackwardToken"]
        seen += messages(resp["events"])
        if resp["nextForwardToken"] == token:
            assert resp["events"] == []
            break
        token = resp["nextForwardToken"]
        assert calls < 10, "paging never ends"
    assert seen == expected
    assert calls == 4  # 10 + 10 + 5, then an empty page with the same token


def test_botocore_style_paginator_sees_the_repeated_token(logs, stream_of_25):
    """botocore ships no GetLogEvents paginator because AWS never ends with a null token: its
    generic paginator, configured like the other SDKs', collects every event and then reports
    the repeated token (which the Java/Go paginators treat as the end)."""
    assert not logs.can_paginate("get_log_events")
    group, stream, expected = stream_of_25
    paginator = Paginator(logs.get_log_events,
                          {"input_token": "nextToken", "output_token": "nextForwardToken",
                           "limit_key": "limit", "result_key": "events"},
                          logs.meta.service_model.operation_model("GetLogEvents"))
    seen = []
    with pytest.raises(PaginationError, match="same next token was received twice"):
        for page in paginator.paginate(logGroupName=group, logStreamName=stream,
                                       startFromHead=True, PaginationConfig={"PageSize": 10}):
            seen += messages(page["events"])
    assert seen == expected


def test_get_log_events_backward_from_the_tail(logs, stream_of_25):
    group, stream, expected = stream_of_25
    # Without a token and startFromHead=false (the default): the latest events, oldest first.
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert messages(resp["events"]) == expected[15:]
    pages = [messages(resp["events"])]
    token = resp["nextBackwardToken"]
    while True:
        resp = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                                   nextToken=token)
        if resp["nextBackwardToken"] == token:
            assert resp["events"] == []
            break
        pages.append(messages(resp["events"]))
        token = resp["nextBackwardToken"]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [m for p in reversed(pages) for m in p] == expected
    # And forward again from the oldest page's forward token.
    first_page_forward = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5,
                                             startFromHead=True)["nextForwardToken"]
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5,
                               nextToken=first_page_forward, startFromHead=True)
    assert messages(resp["events"]) == expected[5:10]


def test_get_log_events_default_page_is_the_latest(logs, stream_of_25):
    group, stream, expected = stream_of_25
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream)
    assert messages(resp["events"]) == expected
    head = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3,
                               startFromHead=True)
    assert messages(head["events"]) == expected[:3]


def test_get_log_events_time_range(logs, group, stream):
    t = now_ms() - 10_000
    put(logs, group, stream, [(t, "a"), (t + 1000, "b"), (t + 2000, "c"), (t + 3000, "d")])
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                               startTime=t + 1000, endTime=t + 3000)
    # startTime inclusive, endTime exclusive.
    assert messages(resp["events"]) == ["b", "c"]


def test_get_log_events_tailing_sees_new_events(logs, group, stream):
    t = now_ms()
    empty = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert empty["events"] == []
    token = empty["nextForwardToken"]
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                nextToken=token)
    assert again["nextForwardToken"] == token and again["events"] == []
    put(logs, group, stream, [(t, "first")])
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                               nextToken=token)
    assert messages(resp["events"]) == ["first"]
    token = resp["nextForwardToken"]
    put(logs, group, stream, [(t + 1, "second")])
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                               nextToken=token)
    assert messages(resp["events"]) == ["second"]


def test_get_log_events_errors(logs, group, stream):
    with raises_code("ResourceNotFoundException") as info:
        logs.get_log_events(logGroupName=group, logStreamName="nope")
    assert error_message(info) == "The specified log stream does not exist."
    with raises_code("ResourceNotFoundException") as info:
        logs.get_log_events(logGroupName=f"/berth/none/{unique('g')}", logStreamName=stream)
    assert error_message(info) == "The specified log group does not exist."
    with raises_code("InvalidParameterException"):
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="garbage")
    with raises_code("InvalidParameterException"):
        logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10_001)
    with raises_code("InvalidParameterException"):
        logs.get_log_events(logGroupName=group, logGroupIdentifier=group, logStreamName=stream)
    with raises_code("InvalidParameterException"):
        logs.get_log_events(logStreamName=stream)
    # By identifier: the name or the ARN.
    assert logs.get_log_events(logGroupIdentifier=group_arn(group),
                               logStreamName=stream)["events"] == []


# --------------------------------------------------------------------------------------------
# FilterLogEvents
# --------------------------------------------------------------------------------------------

@pytest.fixture
def app_logs(logs, group):
    t = now_ms() - 60_000
    logs.create_log_stream(logGroupName=group, logStreamName="web/1")
    logs.create_log_stream(logGroupName=group, logStreamName="web/2")
    logs.create_log_stream(logGroupName=group, logStreamName="worker")
    put(logs, group, "web/1", [(t + 0, "[ERROR 400] BAD REQUEST"),
                               (t + 3000, "[INFO] GET /index.html 200"),
                               (t + 6000, "[ERROR 500] INTERNAL SERVER ERROR")])
    put(logs, group, "web/2", [(t + 1000, "[ERROR 419] MISSING ARGUMENTS"),
                               (t + 4000, "[WARN] slow request"),
                               (t + 7000, '{"level": "error", "latency": 120, "user": {"id": 7}}')])
    put(logs, group, "worker", [(t + 2000, "[ERROR 420] INVALID ARGUMENTS"),
                                (t + 5000, '{"level": "info", "latency": 30, "user": {"id": 8}}')])
    return group, t


def filtered(logs, group, **kwargs):
    return messages(logs.filter_log_events(logGroupName=group, **kwargs)["events"])


def test_filter_interleaves_streams_by_time(logs, app_logs):
    group, t = app_logs
    resp = logs.filter_log_events(logGroupName=group)
    assert [e["timestamp"] - t for e in resp["events"]] == [i * 1000 for i in range(8)]
    assert [e["logStreamName"] for e in resp["events"]][:3] == ["web/1", "web/2", "worker"]
    assert all(re.fullmatch(r"\d{56}", e["eventId"]) for e in resp["events"])
    assert "nextToken" not in resp
    assert sorted(s["logStreamName"] for s in resp["searchedLogStreams"]) == \
        ["web/1", "web/2", "worker"]
    assert all(s["searchedCompletely"] for s in resp["searchedLogStreams"])


def test_filter_patterns_terms(logs, app_logs):
    group, _ = app_logs
    assert filtered(logs, group, filterPattern="ERROR") == [
        "[ERROR 400] BAD REQUEST", "[ERROR 419] MISSING ARGUMENTS",
        "[ERROR 420] INVALID ARGUMENTS", "[ERROR 500] INTERNAL SERVER ERROR"]
    # Plain terms are AND-ed.
    assert filtered(logs, group, filterPattern="ERROR ARGUMENTS") == [
        "[ERROR 419] MISSING ARGUMENTS", "[ERROR 420] INVALID ARGUMENTS"]
    # `?term`: any of them.
    assert filtered(logs, group, filterPattern="?WARN ?INFO") == [
        "[INFO] GET /index.html 200", "[WARN] slow request"]
    # `-term`: not that one.
    assert filtered(logs, group, filterPattern="ERROR -ARGUMENTS") == [
        "[ERROR 400] BAD REQUEST", "[ERROR 500] INTERNAL SERVER ERROR"]
    # A quoted phrase is matched as a whole.
    assert filtered(logs, group, filterPattern='"INTERNAL SERVER ERROR"') == [
        "[ERROR 500] INTERNAL SERVER ERROR"]
    # Case-sensitive, and terms match whole terms; %regex% matches anywhere.
    assert filtered(logs, group, filterPattern="error") == [
        '{"level": "error", "latency": 120, "user": {"id": 7}}']
    assert filtered(logs, group, filterPattern="ERR") == []
    assert len(filtered(logs, group, filterPattern="%ERR%")) == 4
    assert filtered(logs, group, filterPattern="") == filtered(logs, group)


def test_filter_patterns_json(logs, app_logs):
    group, _ = app_logs
    assert filtered(logs, group, filterPattern='{ $.level = "error" }') == [
        '{"level": "error", "latency": 120, "user": {"id": 7}}']
    assert len(filtered(logs, group, filterPattern="{ $.latency > 10 }")) == 2
    assert filtered(logs, group, filterPattern="{ $.latency < 100 && $.user.id = 8 }") == [
        '{"level": "info", "latency": 30, "user": {"id": 8}}']
    with raises_code("InvalidParameterException"):
        logs.filter_log_events(logGroupName=group, filterPattern="{ $.level = ")


def test_filter_by_streams_and_time(logs, app_logs):
    group, t = app_logs
    assert filtered(logs, group, logStreamNames=["worker"]) == [
        "[ERROR 420] INVALID ARGUMENTS", '{"level": "info", "latency": 30, "user": {"id": 8}}']
    assert len(filtered(logs, group, logStreamNamePrefix="web/")) == 6
    assert filtered(logs, group, logStreamNames=["no-such-stream"]) == []
    with raises_code("InvalidParameterException"):
        logs.filter_log_events(logGroupName=group, logStreamNames=["worker"],
                               logStreamNamePrefix="web")
    # Both ends inclusive.
    assert len(filtered(logs, group, startTime=t + 2000, endTime=t + 4000)) == 3
    by_arn = logs.filter_log_events(logGroupIdentifier=group_arn(group), filterPattern="WARN")
    assert messages(by_arn["events"]) == ["[WARN] slow request"]
    with raises_code("ResourceNotFoundException") as info:
        logs.filter_log_events(logGroupName=f"/berth/none/{unique('g')}")
    assert error_message(info) == "The specified log group does not exist."


def test_filter_pages_with_next_token(logs, app_logs):
    group, _ = app_logs
    everything = filtered(logs, group)
    seen, token, calls = [], None, 0
    while True:
        resp = logs.filter_log_events(logGroupName=group, limit=3,
                                      **({"nextToken": token} if token else {}))
        calls += 1
        assert len(resp["events"]) <= 3
        seen += messages(resp["events"])
        token = resp.get("nextToken")
        if not token:
            break
    assert seen == everything and calls == 3
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="ERROR", PaginationConfig={"PageSize": 1})
    assert [m for p in pages for m in messages(p["events"])] == \
        filtered(logs, group, filterPattern="ERROR")
    with raises_code("InvalidParameterException"):
        logs.filter_log_events(logGroupName=group, nextToken="not-a-token")


# --------------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------------

def test_retention_policy_values(logs, group):
    for days in (1, 3653):
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
        assert logs.describe_log_groups(
            logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == days
    for bad in (0, 2, 4, 10, 3654):
        with raises_code("InvalidParameterException") as info:
            logs.put_retention_policy(logGroupName=group, retentionInDays=bad)
        assert "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30" in error_message(info)
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(
        logGroupNamePrefix=group)["logGroups"][0]
    missing = f"/berth/none/{unique('g')}"
    with raises_code("ResourceNotFoundException"):
        logs.put_retention_policy(logGroupName=missing, retentionInDays=1)
    with raises_code("ResourceNotFoundException"):
        logs.delete_retention_policy(logGroupName=missing)


def test_all_documented_retention_values_are_accepted(logs, group):
    for days in RETENTION_VALUES:
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)


def test_retention_hides_events_older_than_it(logs, group, stream):
    t = now_ms()
    # Three days old is within PutLogEvents' 14-day window, so it is stored …
    put(logs, group, stream, [(t - 3 * DAY_MS, "three days old")])
    put(logs, group, stream, [(t - 1000, "fresh")])
    head = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(head["events"]) == ["three days old", "fresh"]
    assert len(filtered(logs, group)) == 2

    # … until a one-day retention expires it: it disappears from every read.
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    head = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(head["events"]) == ["fresh"]
    assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]) \
        == ["fresh"]
    assert filtered(logs, group) == ["fresh"]
    assert filtered(logs, group, startTime=0, endTime=t) == ["fresh"]

    # New events older than the retention are rejected as expired.
    resp = put(logs, group, stream, [(t - 2 * DAY_MS, "expired"), (t, "kept")])
    assert resp["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    assert filtered(logs, group) == ["fresh", "kept"]

    # Removing the policy does not bring deleted events back.
    logs.delete_retention_policy(logGroupName=group)
    assert filtered(logs, group) == ["fresh", "kept"]


# --------------------------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------------------------

def test_tags_on_log_group_arns(logs):
    name = f"/berth/test/{unique('tags')}"
    logs.create_log_group(logGroupName=name, tags={"team": "a", "env": "dev"})
    arn = group_arn(name)
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "a", "env": "dev"}
    # DescribeLogGroups' `arn` (with `:*`) names the same group.
    assert logs.list_tags_for_resource(resourceArn=arn + ":*")["tags"]["team"] == "a"
    logs.tag_resource(resourceArn=arn, tags={"team": "b", "cost": "1"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == \
        {"team": "b", "env": "dev", "cost": "1"}
    logs.untag_resource(resourceArn=arn, tagKeys=["env", "not-there"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "b", "cost": "1"}

    # The older name-based calls see the same tags.
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "b", "cost": "1"}
    logs.tag_log_group(logGroupName=name, tags={"x": "y"})
    logs.untag_log_group(logGroupName=name, tags=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"cost": "1", "x": "y"}


def test_tag_errors(logs, group):
    arn = group_arn(group)
    missing = group_arn(f"/berth/none/{unique('g')}")
    with raises_code("ResourceNotFoundException"):
        logs.tag_resource(resourceArn=missing, tags={"a": "b"})
    with raises_code("ResourceNotFoundException"):
        logs.list_tags_for_resource(resourceArn=missing)
    with raises_code("ResourceNotFoundException"):
        logs.list_tags_log_group(logGroupName=f"/berth/none/{unique('g')}")
    with raises_code("InvalidParameterException"):
        logs.list_tags_for_resource(resourceArn="arn:aws:ecs:us-east-1:000000000000:cluster/x")
    with raises_code("InvalidParameterException"):
        logs.tag_resource(resourceArn=arn, tags={"bad!key": "v"})
    with raises_code("InvalidParameterException"):
        logs.tag_resource(resourceArn=arn, tags={"k": "v" * 257})
    logs.tag_resource(resourceArn=arn, tags={f"k{i:02d}": "v" for i in range(50)})
    # Overwriting keeps the count at 50; one more is too many.
    logs.tag_resource(resourceArn=arn, tags={"k00": "w"})
    with raises_code("TooManyTagsException"):
        logs.tag_resource(resourceArn=arn, tags={"one-more": "v"})
    assert len(logs.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_terraform_log_group_lifecycle(logs):
    """What aws_cloudwatch_log_group does on apply, refresh and destroy."""
    name = f"/ecs/{unique('tf')}"
    logs.create_log_group(logGroupName=name, tags={"Name": name})
    logs.put_retention_policy(logGroupName=name, retentionInDays=7)
    found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
             if g["logGroupName"] == name]
    assert found and found[0]["retentionInDays"] == 7
    arn = found[0]["arn"].removesuffix(":*")
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"Name": name}
    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


# --------------------------------------------------------------------------------------------
# Wire level
# --------------------------------------------------------------------------------------------

def test_json_11_wire_format(raw):
    name = f"/berth/raw/{unique('g')}"
    body = json.dumps({"logGroupName": name}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": LOGS_TARGET + "CreateLogGroup"}
    headers = raw.signed_headers(body, headers, "logs", REGION)
    resp = raw.request("POST", "/", body, headers)
    assert resp.status == 200, resp.body
    resp = raw.request("POST", "/", body, raw.signed_headers(body, {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": LOGS_TARGET + "CreateLogGroup"}, "logs", REGION))
    assert resp.status == 400
    assert resp.json()["__type"].split("#")[-1] == "ResourceAlreadyExistsException"
    assert resp.json()["message"] == "The specified log group already exists"


# --------------------------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------------------------

def test_cli_log_group_stream_and_events(cli):
    group = f"/berth/cli/{unique('g')}"
    assert cli("create-log-group", "--log-group-name", group,
               "--tags", "team=cli")[0] == 0
    assert cli("put-retention-policy", "--log-group-name", group,
               "--retention-in-days", "14")[0] == 0
    rc, out = cli("describe-log-groups", "--log-group-name-prefix", group)
    assert rc == 0, out
    assert out["logGroups"][0]["retentionInDays"] == 14
    assert cli("create-log-stream", "--log-group-name", group, "--log-stream-name", "s")[0] == 0
    t = now_ms()
    events = json.dumps([{"timestamp": t - 3 + i, "message": f"line {i}"} for i in range(3)])
    rc, out = cli("put-log-events", "--log-group-name", group, "--log-stream-name", "s",
                  "--log-events", events)
    assert rc == 0, out
    assert "nextSequenceToken" in out

    rc, out = cli("get-log-events", "--log-group-name", group, "--log-stream-name", "s",
                  "--start-from-head", "--limit", "2")
    assert rc == 0, out
    assert messages(out["events"]) == ["line 0", "line 1"]
    rc, out2 = cli("get-log-events", "--log-group-name", group, "--log-stream-name", "s",
                   "--start-from-head", "--next-token", out["nextForwardToken"])
    assert rc == 0, out2
    assert messages(out2["events"]) == ["line 2"]
    rc, out3 = cli("get-log-events", "--log-group-name", group, "--log-stream-name", "s",
                   "--start-from-head", "--next-token", out2["nextForwardToken"])
    assert rc == 0, out3
    assert out3["events"] == [] and out3["nextForwardToken"] == out2["nextForwardToken"]

    # filter-log-events: the CLI follows nextToken itself.
    rc, out = cli("filter-log-events", "--log-group-name", group, "--filter-pattern", "line",
                  "--page-size", "1")
    assert rc == 0, out
    assert messages(out["events"]) == ["line 0", "line 1", "line 2"]

    rc, out = cli("list-tags-for-resource", "--resource-arn", group_arn(group))
    assert rc == 0 and out["tags"] == {"team": "cli"}
    assert cli("delete-log-group", "--log-group-name", group)[0] == 0


def test_cli_errors(cli):
    rc, err = cli("delete-log-group", "--log-group-name", f"/berth/none/{unique('g')}")
    assert rc in (254, 255)
    assert "ResourceNotFoundException" in err
    assert "The specified log group does not exist." in err
    rc, err = cli("put-retention-policy", "--log-group-name", "/x", "--retention-in-days", "2")
    assert rc in (254, 255) and "InvalidParameterException" in err


def test_cli_logs_tail(endpoint, logs, group, stream):
    """`aws logs tail` is a CLI v2 command (it calls FilterLogEvents); CLI v1 has no `tail`."""
    put(logs, group, stream, [(now_ms(), "tail me")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_PAGER": ""})
    proc = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", endpoint,
                           "--region", REGION, "logs", "tail", group, "--since", "1h"],
                          capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0 and "invalid choice" in proc.stderr.lower():
        pytest.skip("the installed AWS CLI (v1) has no `logs tail`")
    assert proc.returncode == 0, proc.stderr
    assert "tail me" in proc.stdout
