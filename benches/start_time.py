#!/usr/bin/env python3
"""Start and reset times, as ratios to a bare hyper server measured in the same run.

Start: from exec to the first answered HTTP request (GET /_berth/health, polled every
millisecond), median and best of N, for berth with the Docker executor, with the fake one, and
for `examples/bare_hyper.rs` (a hyper server answering `{}`). Reset: POST /_berth/reset with no
tasks, and with T running tasks (Docker executor, the busybox test image).

    cargo build --release --bin berth --example bare_hyper
    python3 benches/start_time.py [--runs 20] [--tasks 50] [--profile release]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/_berth/health")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


def start_time(cmd: list[str], port: int) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not answered(port):
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited with {proc.returncode}")
            if time.perf_counter() - began > 30:
                raise SystemExit(f"{cmd[0]} did not answer within 30 s")
            time.sleep(0.001)
        return time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def berth_cmd(binary: str, port: int, executor: str, *extra: str) -> list[str]:
    return [binary, "--bind", f"127.0.0.1:{port}", "--dns-bind", "127.0.0.1:0",
            "--executor", executor, *extra]


def request(port: int, method: str, path: str, body: dict | None = None, target: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113." + target
    conn.request(method, path, body=json.dumps(body or {}).encode(), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"{target or path}: {resp.status} {data[:300]!r}")
    return json.loads(data or b"{}")


def reset_times(binary: str, tasks: int, runs: int) -> tuple[float, float]:
    port = free_port()
    proc = subprocess.Popen(berth_cmd(binary, port, "docker"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while not answered(port):
            time.sleep(0.01)
        empty = []
        for _ in range(runs):
            began = time.perf_counter()
            request(port, "POST", "/_berth/reset")
            empty.append(time.perf_counter() - began)
        subprocess.run([str(REPO / "docker" / "build-test-images")], check=True,
                       stdout=subprocess.DEVNULL)
        request(port, "POST", "/", {"clusterName": "bench"}, "CreateCluster")
        request(port, "POST", "/", {"family": "idle", "containerDefinitions": [{
            "name": "app", "image": "berth-test/busybox:latest", "memory": 16,
            "command": ["sleep", "3600"]}]}, "RegisterTaskDefinition")
        request(port, "POST", "/", {"cluster": "bench", "serviceName": "idle",
                                    "taskDefinition": "idle", "desiredCount": tasks,
                                    "launchType": "EC2"}, "CreateService")
        deadline = time.monotonic() + 300
        while True:
            svc = request(port, "POST", "/", {"cluster": "bench", "services": ["idle"]},
                          "DescribeServices")["services"][0]
            if svc["runningCount"] == tasks:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {svc['runningCount']} of {tasks} tasks ran")
            time.sleep(0.5)
        began = time.perf_counter()
        request(port, "POST", "/_berth/reset")
        full = time.perf_counter() - began
        return statistics.median(empty), full
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--profile", default="release")
    args = ap.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / args.profile
    berth = os.environ.get("BERTH_BIN", str(target / "berth"))
    hyper = str(target / "examples" / "bare_hyper")

    results = {}
    cases = {
        "hyper": lambda p: [hyper, f"127.0.0.1:{p}"],
        "berth --executor fake": lambda p: berth_cmd(berth, p, "fake"),
        "berth --executor docker": lambda p: berth_cmd(berth, p, "docker"),
    }
    times = {name: [] for name in cases}
    # Interleaved, so that what else the machine does weighs on each case alike.
    for _ in range(args.runs):
        for name, cmd in cases.items():
            port = free_port()
            times[name].append(start_time(cmd(port), port))
    base = statistics.median(times["hyper"])
    base_best = min(times["hyper"])
    print(f"start time, {args.runs} runs each ({args.profile} build): median / best")
    for name, ts in times.items():
        med, best = statistics.median(ts), min(ts)
        results[name] = (med, best)
        print(f"  {name:26} {med * 1000:7.1f} ms / {best * 1000:6.1f} ms"
              f"   ×{med / base:.2f} / ×{best / base_best:.2f} of hyper")
    if args.tasks:
        empty, full = reset_times(berth, args.tasks, args.runs)
        print(f"reset (docker executor): no tasks {empty * 1000:.1f} ms (median of {args.runs}),"
              f" {args.tasks} running tasks {full * 1000:.0f} ms"
              f" (×{empty / base:.2f} and ×{full / base:.1f} of hyper's start)")


if __name__ == "__main__":
    sys.exit(main())
