"""Fixtures for the black-box suite: one berth process per session, driven through boto3, the
AWS CLI and raw HTTP exactly as a user's tools would drive it.

Environment:
  BERTH_BIN       the berth binary (default <repo>/target/debug/berth)
  BERTH_ARGS      extra command-line arguments for berth (shell-quoted)
  BERTH_ENDPOINT  use an already running berth at this URL instead of starting one
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))

from berth_helpers import ECS_TARGET_PREFIX, JSON_11, REGION  # noqa: E402

from berth_helpers import REPO  # noqa: E402
HEALTH_PATH = "/_berth/health"
START_TIMEOUT = 30.0

# The suite must not pick up a developer's real AWS configuration or credentials.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS",
             "AWS_ENDPOINT_URL_STS"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

@dataclass
class BerthServer:
    url: str
    host: str
    port: int
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    log_offset: int = 0

    def log_text(self, start: int = 0) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0

    def raw(self) -> "RawClient":
        return RawClient(self.host, self.port, self.url)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
        return False


def _berth_binary() -> Path:
    binary = Path(os.environ.get("BERTH_BIN", REPO / "target" / "debug" / "berth"))
    if not binary.is_file():
        pytest.fail(f"berth binary not found at {binary}: run `cargo build` (or set BERTH_BIN)")
    return binary


@contextlib.contextmanager
def run_berth(log_dir: Path, *extra_args: str):
    """Start berth on a free loopback port, wait for its health endpoint, stop it afterwards."""
    binary = _berth_binary()
    port = _free_port()
    log_path = log_dir / f"berth-{port}.log"
    # The in-memory executor unless a test asks for Docker (tests/py/test_docker.py).
    executor = [] if "--executor" in extra_args else ["--executor", "fake"]
    args = [str(binary), "--bind", f"127.0.0.1:{port}", *executor, *extra_args]
    env = dict(os.environ, RUST_BACKTRACE="1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=REPO)
        server = BerthServer(url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port,
                             proc=proc, log_path=log_path)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"berth exited with code {proc.returncode} before answering "
                                f"{HEALTH_PATH}; {' '.join(args)}\n--- output ---\n"
                                f"{server.log_text()}")
                if _health_ok(server.url):
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"berth did not answer GET {HEALTH_PATH} with 200 within "
                                f"{START_TIMEOUT:.0f} s\n--- output ---\n{server.log_text()}")
                time.sleep(0.1)
            yield server
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def berth(tmp_path_factory) -> BerthServer:
    external = os.environ.get("BERTH_ENDPOINT")
    if external:
        parsed = urllib.parse.urlparse(external)
        server = BerthServer(url=external.rstrip("/"), host=parsed.hostname, port=parsed.port or 80)
        if not _health_ok(server.url):
            pytest.fail(f"BERTH_ENDPOINT={external} does not answer GET {HEALTH_PATH} with 200")
        yield server
        return
    extra = shlex.split(os.environ.get("BERTH_ARGS", ""))
    with run_berth(tmp_path_factory.mktemp("berth"), *extra) as server:
        yield server


@pytest.fixture
def own_berth(tmp_path):
    """`with own_berth("--max-body-bytes", "4096") as server:` a second, private berth process."""
    if os.environ.get("BERTH_ENDPOINT"):
        pytest.skip("needs to start berth itself (BERTH_ENDPOINT is set)")
    return lambda *args: run_berth(tmp_path, *args)


@pytest.fixture(scope="module")
def own_berth_module(tmp_path_factory):
    """Like own_berth, for a berth that a whole test module shares."""
    if os.environ.get("BERTH_ENDPOINT"):
        pytest.skip("needs to start berth itself (BERTH_ENDPOINT is set)")
    return lambda *args: run_berth(tmp_path_factory.mktemp("own"), *args)


@pytest.fixture(autouse=True)
def _server_stays_healthy(request, berth):
    """No client input may crash berth or panic a request task: check after every test."""
    start = berth.log_size()
    yield
    if berth.proc is not None and berth.proc.poll() is not None:
        pytest.fail(f"berth died during {request.node.nodeid} (exit code {berth.proc.returncode})"
                    f"\n--- output ---\n{berth.log_text()[-20000:]}")
    new_output = berth.log_text(start)
    if "panicked" in new_output:
        pytest.fail(f"berth panicked during {request.node.nodeid}:\n{new_output[-20000:]}")


@pytest.fixture(scope="session")
def endpoint(berth) -> str:
    return berth.url


# --------------------------------------------------------------------------------------------
# SDK clients
# --------------------------------------------------------------------------------------------

# One attempt: a retried 5xx would hide the failure and slow the suite down.
_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                        connect_timeout=5, read_timeout=60)


def _client(service: str, endpoint: str, region: str = REGION):
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=region)
    return session.client(service, endpoint_url=endpoint, config=_CLIENT_CONFIG)


# Real region names that only one test each uses, so tests that need an empty region (no
# `default` cluster, no account settings) get one on a shared server. us-east-1 is the shared
# region and eu-west-1 is kept for the explicit region-isolation tests.
_SPARE_REGIONS = [
    "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1",
    "me-south-1", "sa-east-1", "mx-central-1", "ap-southeast-5", "ap-southeast-7",
    "ap-east-2", "ap-southeast-6", "us-gov-west-1", "us-gov-east-1", "cn-north-1",
    "cn-northwest-1",
]
# After AWS's own names, made-up ones: berth (like botocore with an endpoint URL) takes any
# well-formed region name, and the suites outgrew the real list.
_region_iter = itertools.chain(_SPARE_REGIONS, (f"xx-spare-{n}" for n in itertools.count(1)))


@pytest.fixture
def fresh_region() -> str:
    """A region no other test touches (state in berth is per region, as in AWS)."""
    return next(_region_iter)


@pytest.fixture(scope="session")
def ecs(endpoint):
    """A boto3 ECS client for us-east-1 with dummy credentials."""
    return _client("ecs", endpoint)


@pytest.fixture(scope="session")
def ecs_in(endpoint):
    """`ecs_in("eu-west-1")`: an ECS client for another region (regions do not share state)."""
    cache: dict[str, object] = {}

    def make(region: str):
        if region not in cache:
            cache[region] = _client("ecs", endpoint, region)
        return cache[region]

    return make


@pytest.fixture(scope="session")
def aws_client(endpoint):
    """`aws_client("sts", "eu-west-1")`: any service's boto3 client for any region."""
    cache: dict[tuple, object] = {}

    def make(service: str, region: str = REGION):
        key = (service, region)
        if key not in cache:
            cache[key] = _client(service, endpoint, region)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def sts(endpoint):
    return _client("sts", endpoint)


@pytest.fixture(scope="module")
def terraform() -> str:
    """terraform with the AWS provider from the mirror (see tf_helpers)."""
    from tf_helpers import find_terraform
    return find_terraform()


# --------------------------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def aws_cli(endpoint):
    """`aws_cli("create-cluster", "--cluster-name", "x")` runs `aws … ecs create-cluster …`.

    Returns (exit code, parsed JSON output) on success and (exit code, stderr) on failure.
    Pass service="sts" for another service, region= for another region, env= for more
    environment."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    })

    def run(*args: str, service: str = "ecs", region: str = REGION, timeout: float = 60,
            env: dict | None = None):
        cmd = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--region", region,
               "--output", "json", service, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**base_env, **(env or {})},
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            out = proc.stdout.strip()
            return 0, (json.loads(out) if out else {})
        return proc.returncode, proc.stderr

    return run


# --------------------------------------------------------------------------------------------
# Raw HTTP, for protocol-level tests
# --------------------------------------------------------------------------------------------

@dataclass
class RawResponse:
    status: int
    headers: dict  # lower-cased names
    body: bytes
    _json: object = field(default=None, repr=False)

    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class RawClient:
    def __init__(self, host: str, port: int, url: str):
        self.host, self.port, self.url = host, port, url

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float = 30) -> RawResponse:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return RawResponse(resp.status, hdrs, data)
        finally:
            conn.close()

    def signed_headers(self, body: bytes, headers: dict, service: str, region: str) -> dict:
        """SigV4-sign like an SDK would, so the server sees the region in the credential scope."""
        req = AWSRequest(method="POST", url=self.url + "/", data=body, headers=headers)
        SigV4Auth(Credentials("test", "test"), service, region).add_auth(req)
        return dict(req.headers.items())

    def ecs(self, operation: str, body, region: str = REGION, sign: bool = True,
            content_type: str = JSON_11, extra_headers: dict | None = None) -> RawResponse:
        """POST an ECS JSON 1.1 request. `body` may be a dict (encoded) or raw bytes/str."""
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = body
        headers = {"Content-Type": content_type, "X-Amz-Target": ECS_TARGET_PREFIX + operation}
        headers.update(extra_headers or {})
        if sign:
            headers = self.signed_headers(payload, headers, "ecs", region)
        return self.request("POST", "/", payload, headers)

    def send_large(self, headers: dict, size: int, timeout: float = 30) -> tuple[int | None, bytes]:
        """POST `size` bytes over a raw socket while a reader thread collects whatever the server
        answers, so an early reply (413 before the body is read) is captured even if the server
        then closes the connection. Returns (status or None, raw response bytes)."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        received = bytearray()
        done = threading.Event()

        def reader():
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received.extend(chunk)
            except OSError:
                pass
            finally:
                done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        head = "POST / HTTP/1.1\r\n" + f"Host: {self.host}:{self.port}\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
        try:
            sock.sendall(head.encode())
            chunk = b"{" + b" " * (1024 * 1024 - 1)
            sent = 0
            while sent < size and not done.is_set():
                n = min(len(chunk), size - sent)
                sock.sendall(chunk[:n])
                sent += n
        except OSError:
            pass  # the server refused the rest of the body: fine, its answer is what counts
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            if b"\r\n\r\n" in received:
                done.wait(0.5)  # the head is in; give the body a moment, then stop waiting
                break
            time.sleep(0.05)
        try:
            sock.close()
        except OSError:
            pass
        status = None
        if received.startswith(b"HTTP/1."):
            try:
                status = int(received.split(b" ", 2)[1])
            except (IndexError, ValueError):
                status = None
        return status, bytes(received)


@pytest.fixture(scope="session")
def raw(berth) -> RawClient:
    return berth.raw()
