from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from whatsam.dev.processes import free_port

pytestmark = pytest.mark.e2e


@dataclass
class DevProcess:
    """`whatsam dev` running as a subprocess, as a developer would run it."""

    process: subprocess.Popen
    base_url: str
    banner: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # Everything it printed after the banner, its log (stderr) included, read continuously so
    # its pipe never blocks.
    output: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _drain_stdout(self) -> None:
        for line in self.process.stdout or []:
            self.output.append(line)

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                api_key: str | None = None, raw: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-Api-Key"] = api_key
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, text, got = response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, text, got = error.code, error.read().decode(), dict(error.headers)
        return status, (json.loads(text) if text else None), {k.lower(): v for k, v in got.items()}


def worker_endpoints(stack: DevProcess) -> dict[str, str]:
    """Every worker the stack started, by id: those of the banner, and replacements (from their
    "online" log line), dead or alive."""
    endpoints = {key.removeprefix("Worker "): url for key, url in stack.banner.items() if key.startswith("Worker ")}
    for line in list(stack.output):
        if found := re.search(r"worker (\S+) online: .* http=(\S+)", line):
            endpoints[found.group(1)] = found.group(2)
    return endpoints


def _read_banner(process: subprocess.Popen, deadline: float) -> dict[str, str]:
    banner: dict[str, str] = {}
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"whatsam dev exited early with {process.wait()}")
        match = re.match(r"\s+(API|Dashboard|AWS emulator|Redis|Worker)\s+(\S+)", line)
        if match and match.group(1) == "Worker":  # "Worker  dev-worker-1 (simulated) http://…": its endpoint
            banner[f"Worker {match.group(2)}"] = line.split()[-1]
        elif match:
            banner[match.group(1)] = match.group(2)
        if "Press Ctrl-C" in line:
            return banner
    raise AssertionError("whatsam dev did not print its banner in time")


# Production cadences compressed so failover is observable in seconds: heartbeats every
# second, a worker stale after 4 s, leases of 6 s renewed every 2 s, the reaper's minute in 2 s.
FAST_FLEET = {
    "WHATSAM_WORKER_HEARTBEAT": "1",
    "WHATSAM_WORKER_STALE_SECONDS": "4",
    "WHATSAM_LEASE_TTL": "6",
    "WHATSAM_LEASE_RENEW_EVERY": "2",
    "WHATSAM_SIM_QR_INTERVAL": "5",
    "WHATSAM_SEND_MIN_GAP": "0.2",
    "WHATSAM_SEND_JITTER": "0.1",
}


def start_dev(tmp_dir: str, *extra: str, env_overrides: dict[str, str] | None = None) -> DevProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "AWS_ENDPOINT_URL"} and not k.startswith("WHATSAM_")}
    # Every test client is 127.0.0.1, so the per-IP login/register brakes are widened; a
    # module that tests them passes its own WHATSAM_RATE_LIMITS.
    env["WHATSAM_RATE_LIMITS"] = "login-ip=100000/864000,register-ip=100000/864000"
    env.update(env_overrides or {})
    env["WHATSAM_DEV_STATE"] = os.path.join(tmp_dir, "dev-stack.json")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "whatsam.cli", "dev", "--port", str(port), *extra], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        banner = _read_banner(process, time.monotonic() + 90)
    except BaseException:
        stop_dev(process)
        raise
    return DevProcess(process, f"http://127.0.0.1:{port}", banner, env)


def stop_dev(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def module_stack(name: str, *extra: str, env_overrides: dict[str, str] | None = None) -> Any:
    """A module-scoped fixture: `whatsam dev` started with these options, stopped after the module."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
        stack = start_dev(str(tmp_path_factory.mktemp(name)), *extra, env_overrides=env_overrides)
        try:
            yield stack
        finally:
            stop_dev(stack.process)

    return fixture


dev_stack = module_stack("dev", "--workers", "0")
# Two simulated workers and compressed fleet timings.
fleet_stack = module_stack("fleet", "--workers", "2", "--schedule-speedup", "30", env_overrides=FAST_FLEET)


def simulate(stack: DevProcess, line: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The simulated WhatsApp produces an event for the line's session (as its owner); its result."""
    status, reply, _ = stack.request("POST", f"/v1/dev/sessions/{line['session_id']}/simulate", body,
                                     token=line["token"])
    assert status == 200, reply
    result: dict[str, Any] = reply["result"]
    return result
