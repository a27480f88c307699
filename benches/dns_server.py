#!/usr/bin/env python3
"""DNS benchmark: berth's DNS server against unbound serving the same records, in one run.

    python3 benches/dns_server.py            (builds target/release/berth if BERTH_BIN is not set)

Prints, as `key=value` lines:
- queries per second from dnsperf at 1 and 16 concurrent clients, for berth and for unbound
  (a static local zone holding the same records), and their ratio;
- the time from a task's RUNNING (its `startedAt`) to its A record answering, over a number of
  tasks started one after another by an ECS service with a service registry (fake executor);
- berth's RSS before and after registering 1,000 Cloud Map services of 10 instances each.

Needs dnsperf and unbound (Debian's packages; installed with apt-get when missing and allowed:
BENCH_INSTALL=1) and boto3/dnspython (requirements-test.txt). Environment: BENCH_SECONDS
(seconds per dnsperf measurement, default 5), BENCH_TASKS (tasks for the latency, default 20).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import dns.message
import dns.query
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
TASKS = int(os.environ.get("BENCH_TASKS", "20"))
INSTANCES = 10
NAMES = [f"svc{i}" for i in range(20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path:
        return path
    if os.environ.get("BENCH_INSTALL") == "1":
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=True,
                       stdout=subprocess.DEVNULL)
        return need(tool, package)
    sys.exit(f"dns bench: {tool} is missing (apt-get install {package}, or BENCH_INSTALL=1)")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def berth_binary() -> str:
    if os.environ.get("BERTH_BIN"):
        return os.environ["BERTH_BIN"]
    subprocess.run(["cargo", "build", "--release", "--bin", "berth"], cwd=REPO, check=True)
    return str(REPO / "target" / "release" / "berth")


def start_berth(binary: str, api: int, dns_port: int) -> subprocess.Popen:
    proc = subprocess.Popen([binary, "--bind", f"127.0.0.1:{api}", "--executor", "fake",
                             "--dns-bind", f"127.0.0.1:{dns_port}", "--log", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", api), timeout=0.2).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("dns bench: berth did not start")
            time.sleep(0.05)


def clients(endpoint: str):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b",
              aws_secret_access_key="b", config=Config(retries={"total_max_attempts": 1}))
    return boto3.client("servicediscovery", **kw), boto3.client("ecs", **kw)


def namespace(sd, name: str) -> str:
    op = sd.create_private_dns_namespace(Name=name, Vpc="vpc-bench")["OperationId"]
    while (o := sd.get_operation(OperationId=op)["Operation"])["Status"] != "SUCCESS":
        time.sleep(0.05)
    return o["Targets"]["NAMESPACE"]


def dns_service(sd, ns: str, name: str) -> dict:
    return sd.create_service(Name=name, NamespaceId=ns, DnsConfig={
        "DnsRecords": [{"Type": "A", "TTL": 60}]})["Service"]


def records() -> list[tuple[str, str]]:
    return [(f"{n}.bench.local", f"10.{i}.0.{k + 1}") for i, n in enumerate(NAMES)
            for k in range(INSTANCES)]


def dnsperf(dnsperf_bin: str, port: int, concurrency: int, queries: Path, label: str) -> float:
    out = subprocess.run([dnsperf_bin, "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
                          "-c", str(concurrency), "-T", str(min(concurrency, 2)),
                          "-l", str(SECONDS), "-q", str(max(100, concurrency * 20))],
                         capture_output=True, text=True, timeout=SECONDS + 60).stdout
    m = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if not m:
        sys.exit(f"dns bench: no dnsperf figure:\n{out}")
    if lost and int(lost.group(1)) > 0:
        print(f"# dnsperf lost {lost.group(1)} queries to {label} at {concurrency} clients",
              file=sys.stderr)
    return float(m.group(1))


def start_unbound(unbound_bin: str, port: int, workdir: Path) -> subprocess.Popen:
    conf = workdir / "unbound.conf"
    lines = [
        "server:",
        f"  interface: 127.0.0.1@{port}",
        "  do-daemonize: no",
        "  use-syslog: no",
        "  chroot: \"\"",
        "  username: \"\"",
        "  directory: \"" + str(workdir) + "\"",
        "  pidfile: \"" + str(workdir / "unbound.pid") + "\"",
        "  num-threads: 2",
        "  so-reuseport: yes",
        "  access-control: 127.0.0.0/8 allow",
        "  do-ip6: no",
        "  local-zone: \"bench.local.\" static",
    ]
    lines += [f"  local-data: \"{name}. 60 IN A {ip}\"" for name, ip in records()]
    conf.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([unbound_bin, "-d", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            dns.query.udp(dns.message.make_query("svc0.bench.local", "A"), "127.0.0.1",
                          port=port, timeout=0.3)
            return proc
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("dns bench: unbound did not start")


def a_records(port: int, name: str) -> list[str]:
    r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=1)
    return [x.to_text() for rrset in r.answer for x in rrset]


def latency(sd, ecs, dns_port: int) -> list[float]:
    """RUNNING (the task's startedAt) to its record answering, in milliseconds, per task."""
    ns = namespace(sd, "lat.local")
    registry = sd.create_service(Name="api", NamespaceId=ns, DnsConfig={
        "DnsRecords": [{"Type": "A", "TTL": 5}]})["Service"]["Arn"]
    ecs.create_cluster(clusterName="lat")
    td = ecs.register_task_definition(
        family="lat", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "app", "image": "busybox"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="lat", serviceName="api", taskDefinition=td, desiredCount=0,
                       launchType="FARGATE", serviceRegistries=[{"registryArn": registry}],
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["s"]}})
    seen: set[str] = set()
    out = []
    for n in range(1, TASKS + 1):
        ecs.update_service(cluster="lat", service="api", desiredCount=n)
        while True:
            answered = set(a_records(dns_port, "api.lat.local"))
            new = answered - seen
            if new:
                at = time.time()
                break
            time.sleep(0.0005)
        (ip,) = new
        seen |= new
        arns = ecs.list_tasks(cluster="lat", serviceName="api")["taskArns"]
        tasks = ecs.describe_tasks(cluster="lat", tasks=arns)["tasks"]
        started = next(t["startedAt"].timestamp() for t in tasks
                       for a in t["attachments"] for d in a["details"] if d["value"] == ip)
        out.append((at - started) * 1000)
    return out


def main() -> None:
    dnsperf_bin = need("dnsperf", "dnsperf")
    unbound_bin = need("unbound", "unbound")
    binary = berth_binary()
    api, berth_dns, unbound_port = free_port(), free_port(), free_port()
    berth = start_berth(binary, api, berth_dns)
    work = Path(tempfile.mkdtemp(prefix="berth-dns-bench-"))
    try:
        sd, ecs = clients(f"http://127.0.0.1:{api}")
        ns = namespace(sd, "bench.local")
        for i, name in enumerate(NAMES):
            svc = dns_service(sd, ns, name)
            for k in range(INSTANCES):
                sd.register_instance(ServiceId=svc["Id"], InstanceId=f"i{k}",
                                     Attributes={"AWS_INSTANCE_IPV4": f"10.{i}.0.{k + 1}"})
        while len(a_records(berth_dns, f"{NAMES[-1]}.bench.local")) < 8:
            time.sleep(0.01)
        queries = work / "queries"
        queries.write_text("".join(f"{n}.bench.local A\n" for n in NAMES))
        unbound = start_unbound(unbound_bin, unbound_port, work)
        try:
            for c in (1, 16):
                # Alternate, so that a slow moment of the machine hits both.
                ub = dnsperf(dnsperf_bin, unbound_port, c, queries, "unbound")
                be = dnsperf(dnsperf_bin, berth_dns, c, queries, "berth")
                print(f"dns_qps_unbound_{c}={ub:.0f}")
                print(f"dns_qps_berth_{c}={be:.0f}")
                print(f"dns_qps_ratio_{c}={be / ub:.2f}")
        finally:
            unbound.terminate()
            unbound.wait(timeout=10)
        lat = latency(sd, ecs, berth_dns)
        print(f"running_to_dns_ms_median={statistics.median(lat):.1f}")
        print(f"running_to_dns_ms_max={max(lat):.1f}")
        before = rss_kib(berth.pid)
        for n in range(5):
            ns_big = namespace(sd, f"big{n}.local")
            for s in range(200):
                svc = dns_service(sd, ns_big, f"s{s}")["Id"]
                for k in range(INSTANCES):
                    sd.register_instance(ServiceId=svc, InstanceId=f"i{k}",
                                         Attributes={"AWS_INSTANCE_IPV4": f"10.{n}.{s}.{k + 1}"})
        time.sleep(1)
        after = rss_kib(berth.pid)
        print(f"rss_kib_before={before}")
        print(f"rss_kib_1000x10={after}")
    finally:
        berth.terminate()
        berth.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
