"""GET /metrics (Prometheus/OpenMetrics text, parsed here with the Prometheus project's own
Python parser) and --log-format json."""

from __future__ import annotations

import json
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from berth_helpers import REGION, container, unique

_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(server, service, region=REGION):
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=region).client(service, endpoint_url=server.url,
                                                            config=_CONFIG)


def scrape(server) -> dict:
    """{(sample name, frozenset of labels): value}"""
    resp = server.raw().request("GET", "/metrics")
    assert resp.status == 200, resp.body
    assert resp.header("content-type").startswith("application/openmetrics-text")
    samples = {}
    for family in text_string_to_metric_families(resp.body.decode()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_service_operation_and_code(berth, ecs, raw):
    before = scrape(berth)
    for _ in range(3):
        ecs.list_clusters()
    try:
        ecs.describe_services(cluster=unique("none"), services=["x"])
    except ClientError:
        pass
    raw.ecs("NoSuchOperation", {})
    after = scrape(berth)
    ok = dict(service="ecs", operation="ListClusters", code="200")
    assert value(after, "berth_requests_total", **ok) - value(before, "berth_requests_total", **ok) == 3
    failed = dict(service="ecs", operation="DescribeServices", code="400")
    assert value(after, "berth_requests_total", **failed) > value(before, "berth_requests_total", **failed)
    # A made-up operation is counted, but cannot add a series of its own name.
    made_up = dict(service="ecs", operation="unknown", code="400")
    assert value(after, "berth_requests_total", **made_up) == value(before, "berth_requests_total", **made_up) + 1
    assert not any("NoSuchOperation" in str(k) for k in after)
    hist = dict(service="ecs", operation="ListClusters")
    count = value(after, "berth_request_duration_seconds_count", **hist)
    assert count - value(before, "berth_request_duration_seconds_count", **hist) == 3
    assert value(after, "berth_request_duration_seconds_bucket", le="+Inf", **hist) == count
    assert value(after, "berth_request_duration_seconds_sum", **hist) > 0


def test_tasks_services_executor_and_scheduler_are_measured(own_berth):
    with own_berth() as server:
        ecs = client(server, "ecs")
        ecs.create_cluster(clusterName="m")
        ecs.register_task_definition(family="m", containerDefinitions=[container()])
        ecs.create_service(cluster="m", serviceName="m", taskDefinition="m", desiredCount=2,
                           launchType="EC2")
        ecs.register_task_definition(family="once", containerDefinitions=[
            container(environment=[{"name": "BERTH_FAKE", "value": "pull=fail"}])])
        ecs.run_task(cluster="m", taskDefinition="once", launchType="EC2")
        deadline = time.monotonic() + 30
        while True:
            samples = scrape(server)
            running = value(samples, "berth_ecs_tasks", region=REGION, last_status="RUNNING")
            completed = value(samples, "berth_ecs_services", region=REGION, rollout_state="COMPLETED")
            if running == 2 and completed == 1:
                break
            assert time.monotonic() < deadline, (running, completed)
            time.sleep(0.2)
        assert value(samples, "berth_ecs_tasks", region=REGION, last_status="STOPPED") == 1
        assert value(samples, "berth_executor_reports_total", phase="RUNNING") >= 2
        assert value(samples, "berth_executor_start_failures_total") == 1
        assert value(samples, "berth_scheduler_pass_duration_seconds_count", scope="api") >= 1

        ecs.update_service(cluster="m", service="m", desiredCount=0)
        ecs.delete_service(cluster="m", service="m")
        deadline = time.monotonic() + 30
        while value(scrape(server), "berth_ecs_tasks", region=REGION, last_status="RUNNING"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert value(scrape(server), "berth_ecs_services", region=REGION, rollout_state="COMPLETED") == 0


def test_metrics_can_be_turned_off(own_berth):
    with own_berth("--no-metrics") as server:
        assert server.raw().request("GET", "/metrics").status == 404


def test_json_logs_are_one_object_a_line(own_berth):
    with own_berth("--log-format", "json") as server:
        client(server, "ecs").create_cluster(clusterName="j")
        lines = [l for l in server.log_text().splitlines() if l.strip()]
        assert lines, "berth logged nothing"
        records = [json.loads(l) for l in lines]
        assert all("level" in r and "timestamp" in r for r in records), records[:3]
        assert any("listening on" in r.get("fields", {}).get("message", "") for r in records)
