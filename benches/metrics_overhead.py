#!/usr/bin/env python3
"""Requests/s with GET /metrics enabled against disabled (--no-metrics), same binary, same run.

wrk (Debian's package) drives ListClusters / DescribeClusters / ListTaskDefinitions over
keep-alive connections against a berth with the fake executor; the two configurations
alternate for R rounds, so that what else the machine does weighs on both alike. Prints the
median requests/s of each and the ratio (target: metrics cost under 3%).

    cargo build --release --bin berth
    python3 benches/metrics_overhead.py [--rounds 5] [--seconds 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LUA = r"""
local targets = {"ListClusters", "DescribeClusters", "ListTaskDefinitions"}
local bodies = {"{}", '{"clusters":["bench"]}', "{}"}
local n = 0
request = function()
  n = n + 1
  local i = n % 3 + 1
  wrk.headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113." .. targets[i]
  wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
  return wrk.format("POST", "/", nil, bodies[i])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, target: str, body: dict) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", json.dumps(body), {
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113." + target,
        "Content-Type": "application/x-amz-json-1.1"})
    assert conn.getresponse().status == 200
    conn.close()


def measure(binary: str, metrics: bool, seconds: int, connections: int, script: str) -> float:
    port = free_port()
    args = [binary, "--executor", "fake", "--bind", f"127.0.0.1:{port}", "--dns-bind",
            "127.0.0.1:0", "--log", "warn"] + ([] if metrics else ["--no-metrics"])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                call(port, "CreateCluster", {"clusterName": "bench"})
                break
            except OSError:
                assert time.monotonic() < deadline, "berth did not start"
                time.sleep(0.02)
        for i in range(20):
            call(port, "RegisterTaskDefinition", {"family": f"f{i}", "containerDefinitions": [
                {"name": "app", "image": "busybox", "memory": 128}]})
        out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
                              "-s", script, f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, check=True).stdout
        if "Non-2xx" in out:
            raise SystemExit(f"errors during the run:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = os.environ.get("BERTH_BIN", str(target / "release" / "berth"))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    on, off = [], []
    for _ in range(args.rounds):
        on.append(measure(binary, True, args.seconds, args.connections, script))
        off.append(measure(binary, False, args.seconds, args.connections, script))
    os.unlink(script)
    m_on, m_off = statistics.median(on), statistics.median(off)
    print(f"requests/s, median of {args.rounds} × {args.seconds} s, {args.connections} connections:")
    print(f"  metrics on  {m_on:9.0f}   (runs: {', '.join(f'{x:.0f}' for x in on)})")
    print(f"  metrics off {m_off:9.0f}   (runs: {', '.join(f'{x:.0f}' for x in off)})")
    print(f"  on/off = {m_on / m_off:.3f} ({(1 - m_on / m_off) * 100:+.1f}% cost)")


if __name__ == "__main__":
    main()
