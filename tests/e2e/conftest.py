from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
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
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 (loopback)
                status, text, got = response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, text, got = error.code, error.read().decode(), dict(error.headers)
        return status, (json.loads(text) if text else None), {k.lower(): v for k, v in got.items()}


def _read_banner(process: subprocess.Popen, deadline: float) -> dict[str, str]:
    banner: dict[str, str] = {}
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"whatsam dev exited early with {process.wait()}")
        match = re.match(r"\s+(API|AWS emulator|Redis)\s+(\S+)", line)
        if match:
            banner[match.group(1)] = match.group(2)
        if "Press Ctrl-C" in line:
            return banner
    raise AssertionError("whatsam dev did not print its banner in time")


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[DevProcess]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "AWS_ENDPOINT_URL"} and not k.startswith("WHATSAM_")}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "whatsam.cli", "dev", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        banner = _read_banner(process, time.monotonic() + 60)
        yield DevProcess(process, f"http://127.0.0.1:{port}", banner)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
