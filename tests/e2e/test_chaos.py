"""Worker failure as a non-event, through `whatsam dev` over HTTP: the short form of
`benchmarks/chaos.py` (sends while workers are SIGKILLed; nothing lost, nothing sent twice,
order kept, every status journaled and delivered, every session back on another worker with
no QR, a QR that still comes under a burst of sends), and a connect asked for right after a
disconnect. Seconds are measured and printed, never asserted: only waits have deadlines."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.chaos import Chaos, ChaosOptions, chaos_stack
from tests.e2e.conftest import DevProcess
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# Where a connect ends up: on, asking for a scan, or given up.
_SETTLED = ("connected", "qr", "failed")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevProcess, Path]]:
    with chaos_stack(3, str(tmp_path_factory.mktemp("chaos"))) as running:
        yield running


# About a minute on a quiet 2-core machine; a busy one may need several (only waits are bounded).
@pytest.mark.timeout(900)
def test_killed_workers_lose_nothing_and_their_sessions_come_back(stack: tuple[DevProcess, Path]) -> None:
    dev, wire_log = stack
    receiver = Receiver()
    try:
        report = Chaos(dev, wire_log, receiver, ChaosOptions(
            sends=120, sessions=3, workers=3, kill_every=6, min_kills=2, max_kills=2, burst=150, send_rate=8,
            settle_timeout=240), log=print).run()
    finally:
        receiver.close()
    print(report.table())
    assert len(report.kills) == 2
    assert report.accepted == 120 and report.qr_latency is not None, "the QR came under the burst"
    assert report.problems(timed=False) == []


def test_a_connect_right_after_a_disconnect_happens(stack: tuple[DevProcess, Path]) -> None:
    dev, _ = stack
    token = _account(dev)
    status, card, _ = dev.request("POST", "/v1/sessions", {"name": "flip"}, token=token)
    assert status == 201, card
    session_id = card["id"]
    dev.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    _wait(dev, token, session_id, lambda c: c["status"] == "qr")
    assert dev.request("POST", f"/v1/dev/sessions/{session_id}/scan", token=token)[0] == 202
    phone = _wait(dev, token, session_id, lambda c: c["status"] == "connected")["phone"]

    for _ in range(3):
        status, gone, _ = dev.request("POST", f"/v1/sessions/{session_id}/disconnect", token=token)
        assert (status, gone["status"]) == (202, "disconnected"), "the answer shows the status it moved to"
        status, back, _ = dev.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
        assert (status, back["status"]) == (202, "connecting"), back
        card = _wait(dev, token, session_id, lambda c, since=back["status_version"]: c["status"] in _SETTLED
                     and c["status_version"] > since)
        assert (card["status"], card["phone"]) == ("connected", phone), "reconnected from its credentials"


def _account(dev: DevProcess) -> str:
    import subprocess
    import sys

    email = f"flip-{uuid.uuid4().hex[:8]}@example.com"
    created = subprocess.run([sys.executable, "-m", "whatsam.cli", "admin", "create-user", "--email", email,
                              "--tier", "PRO", "--password-stdin"], env=dev.env, input=PASSWORD,
                             capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0, created.stderr
    status, login, _ = dev.request("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, login
    return str(login["access_token"])


def _wait(dev: DevProcess, token: str, session_id: str, predicate: Any, timeout: float = 90) -> dict[str, Any]:
    status, card, _ = dev.request("GET", f"/v1/sessions/{session_id}/status", token=token)
    deadline = time.monotonic() + timeout
    while not predicate(card):
        if time.monotonic() > deadline:
            pytest.fail(f"session never got there; last seen {card}")
        status, card, _ = dev.request("GET", f"/v1/sessions/{session_id}/status?wait=5&since={card['status_version']}",
                                      token=token)
        assert status == 200, card
    return dict(card)
