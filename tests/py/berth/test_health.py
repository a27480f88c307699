"""GET /_berth/health: berth's own readiness endpoint (not an AWS API)."""

import json
import re

from berth_helpers import REPO


def _crate_version() -> str:
    text = (REPO / "Cargo.toml").read_text()
    package = text.split("[package]", 1)[1]
    return re.search(r'^version\s*=\s*"([^"]+)"', package, re.M).group(1)


def _service_names(services) -> set:
    if isinstance(services, dict):
        return set(services)
    names = set()
    for item in services:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict):
            names.add(item.get("name") or item.get("service"))
    return names


def test_health_answers_json_with_version_and_services(raw):
    resp = raw.request("GET", "/_berth/health")
    assert resp.status == 200
    assert "json" in (resp.header("content-type") or "")
    body = json.loads(resp.body)
    assert isinstance(body, dict)
    assert body.get("version") == _crate_version() or _crate_version() in str(body.get("version"))
    services = body.get("services")
    assert isinstance(services, (dict, list)) and services, f"no services in {body}"
    names = _service_names(services)
    assert {"ecs", "sts"} <= names, f"health lists services {sorted(map(str, names))}"


def test_health_reports_each_service_state(raw):
    body = raw.request("GET", "/_berth/health").json()
    services = body["services"]
    if isinstance(services, dict):
        states = list(services.values())
    else:
        states = [s for s in services if isinstance(s, dict)]
    assert states, f"no per-service state in {body}"
    for state in states:
        assert state not in (None, "", {}), f"empty service state in {body}"


def test_health_is_repeatable(raw):
    for _ in range(3):
        assert raw.request("GET", "/_berth/health").status == 200


def test_health_lists_the_dns_servers_addresses(raw):
    dns = raw.request("GET", "/_berth/health").json()["dns"]
    host, _, port = dns["host"].rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0, dns
    # The fake executor runs no containers, so there is no resolver for tasks.
    assert "tasks" in dns

