"""The ECS conformance runner (conformance/run.py) against the suite's berth: every operation of
the ECS model, answers checked against the model. It fails when fewer operations are conformant
than MIN_CONFORMANT, i.e. on a regression; raise MIN_CONFORMANT as operations land."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from berth_helpers import REPO

RUNNER = REPO / "conformance" / "run.py"

# Operations conformant today (`N/M operations conformant`). Only ever raise it.
MIN_CONFORMANT = 77

SUMMARY = re.compile(r"^(\d+)/(\d+) operations conformant$", re.M)


def test_conformance_runner(endpoint, fresh_region, tmp_path):
    report = tmp_path / "conformance.json"
    # A region of its own: the runner changes account settings and creates clusters, services
    # and capacity providers, which the other tests sharing this server must not see.
    cmd = [sys.executable, str(RUNNER), "--endpoint-url", endpoint, "--region", fresh_region,
           "--json", str(report), "--min", str(MIN_CONFORMANT)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=REPO)
    output = f"$ {' '.join(cmd)}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"

    match = SUMMARY.search(proc.stdout)
    assert match, f"no `N/M operations conformant` summary line\n{output}"
    conformant, total = int(match.group(1)), int(match.group(2))
    assert total > 0
    assert proc.returncode == 0, (
        f"{conformant}/{total} operations conformant, expected at least {MIN_CONFORMANT}\n{output}")
    assert conformant >= MIN_CONFORMANT

    # One verdict line per operation of the model.
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("OK ", "FAIL "))]
    assert len(lines) == total, output
    data = json.loads(report.read_text())
    assert data["conformant"] == conformant and data["total"] == total
