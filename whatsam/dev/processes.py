"""Child services `whatsam dev` (and the test suite) start when none is given: a moto
server as the AWS emulator, and a private redis-server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any


def _as_dependent_child() -> None:
    """preexec_fn of every child `whatsam dev` starts: its own session, so a terminal's Ctrl-C
    reaches only `whatsam dev` (which stops the children in order: workers drain while the
    emulator still runs), and on Linux a parent-death signal, so nothing outlives a killed parent."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn_child(args: list[str], **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen(args, preexec_fn=_as_dependent_child, **kwargs)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(probe: Callable[[], bool], what: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} during start-up")
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


@dataclass
class ChildService:
    name: str
    url: str
    process: subprocess.Popen
    workdir: str | None = field(default=None)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_moto_server(port: int | None = None) -> ChildService:
    port = port or free_port()
    process = spawn_child([sys.executable, "-m", "whatsam.dev.moto_server", "-H", "127.0.0.1", "-p", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def probe() -> bool:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:  # noqa: S310 (loopback only)
            return bool(response.status == 200)

    _wait_for(probe, "moto server", process)
    return ChildService("moto", url, process)


def start_redis_server(port: int | None = None) -> ChildService:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: `apt-get install redis-server`, or set REDIS_URL")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="whatsam-redis-")
    process = spawn_child([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                           "--dir", workdir, "--protected-mode", "yes"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def probe() -> bool:
        with closing(socket.create_connection(("127.0.0.1", port), timeout=1)) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    _wait_for(probe, "redis-server", process)
    return ChildService("redis", f"redis://127.0.0.1:{port}/0", process, workdir)


def aws_test_credentials() -> dict[str, str]:
    """Credentials an emulator accepts; never real ones, so a misrouted call fails at AWS."""
    return {
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
