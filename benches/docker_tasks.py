#!/usr/bin/env python3
"""Real-task benchmark: berth's Docker executor against plain `docker run`, in the same run.

  1. RunTask -> RUNNING (seen through DescribeTasks) vs `docker run -d` of the same image and
     command; median of N. Target: ratio <= 1.2.
  2. A 50-task service to steady state (runningCount 50) vs 50 parallel `docker run -d`.
     Target: ratio <= 1.5.
  3. berth's CPU while those 50 tasks idle, over 10 s (percent of one core).

Usage: benches/docker_tasks.py [--berth target/release/berth] [--n 10] [--tasks 50]
Needs a Docker engine and the test image (docker/build-test-images).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "berth-test/busybox:latest"
CMD = ["sleep", "3600"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "target", "release", "berth"))
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=50)
    args = ap.parse_args()
    subprocess.run([os.path.join(REPO, "docker", "build-test-images")], check=True)

    port = free_port()
    proc = subprocess.Popen([args.berth, "--bind", f"127.0.0.1:{port}", "--executor", "docker",
                             "--log", "warn"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    ecs = boto3.client("ecs", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="t", aws_secret_access_key="t",
                       config=Config(retries={"total_max_attempts": 1}))
    for _ in range(100):
        try:
            ecs.list_clusters()
            break
        except Exception:
            time.sleep(0.05)
    label = f"berth-bench={uuid.uuid4().hex[:8]}"
    try:
        ecs.create_cluster(clusterName="bench")
        td = ecs.register_task_definition(family="bench", containerDefinitions=[{
            "name": "app", "image": IMAGE, "command": CMD, "memory": 16, "stopTimeout": 1,
        }])["taskDefinition"]["taskDefinitionArn"]

        # 1. one task at a time
        berth_lat, docker_lat = [], []
        for _ in range(args.n):
            t0 = time.perf_counter()
            arn = ecs.run_task(cluster="bench", taskDefinition=td, launchType="EC2")["tasks"][0]["taskArn"]
            while ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
                time.sleep(0.005)
            berth_lat.append(time.perf_counter() - t0)
            ecs.stop_task(cluster="bench", task=arn)

            t0 = time.perf_counter()
            docker("run", "-d", "--label", label, "-m", "16m", IMAGE, *CMD)
            docker_lat.append(time.perf_counter() - t0)
        docker("rm", "-f", *docker("ps", "-aq", "--filter", f"label={label}").split())
        b, d = statistics.median(berth_lat), statistics.median(docker_lat)
        r1 = b / d
        print(f"RunTask -> RUNNING: berth median {b*1000:.0f} ms, docker run -d {d*1000:.0f} ms, "
              f"ratio {r1:.2f} (target <= 1.2: {'PASS' if r1 <= 1.2 else 'FAIL'})")

        # 2. a service of N to steady state vs N parallel docker runs
        t0 = time.perf_counter()
        ecs.create_service(cluster="bench", serviceName="svc", taskDefinition=td,
                           desiredCount=args.tasks, launchType="EC2")
        while True:
            s = ecs.describe_services(cluster="bench", services=["svc"])["services"][0]
            if s["runningCount"] == args.tasks:
                break
            time.sleep(0.02)
        b = time.perf_counter() - t0

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.tasks) as pool:
            list(pool.map(lambda _: docker("run", "-d", "--label", label, "-m", "16m", IMAGE, *CMD),
                          range(args.tasks)))
        d = time.perf_counter() - t0
        r2 = b / d
        print(f"{args.tasks}-task service to steady state: berth {b:.2f} s, "
              f"{args.tasks} parallel docker run -d {d:.2f} s, ratio {r2:.2f} "
              f"(target <= 1.5: {'PASS' if r2 <= 1.5 else 'FAIL'})")
        docker("rm", "-f", *docker("ps", "-aq", "--filter", f"label={label}").split())

        # 3. idle CPU with the service's tasks running
        hz = os.sysconf("SC_CLK_TCK")
        c0, t0 = cpu_ticks(proc.pid), time.perf_counter()
        time.sleep(10)
        c1, t1 = cpu_ticks(proc.pid), time.perf_counter()
        pct = (c1 - c0) / hz / (t1 - t0) * 100
        print(f"berth CPU while {args.tasks} tasks idle: {pct:.2f}% of one core over {t1-t0:.0f} s")
        ecs.delete_service(cluster="bench", service="svc", force=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        leftover = docker("ps", "-aq", "--filter", f"label={label}").split()
        if leftover:
            docker("rm", "-f", *leftover)
    return 0


if __name__ == "__main__":
    sys.exit(main())
