"""The worker fleet through `whatsam dev` over HTTP, as a customer sees it: connect, QR,
scan, connected; a worker killed outright, and the session back on another worker without
a new scan; disconnect and logout; pairing by phone number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import DevProcess, worker_endpoints

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


def _account(stack: DevProcess) -> str:
    status, body, _ = stack.request("POST", "/v1/auth/register",
                                    {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD})
    assert status == 201, body
    # Each test gets its own PRO-sized account so cards do not run into BASIC's single session.
    return str(body["access_token"])


def _card(stack: DevProcess, token: str) -> str:
    status, body, _ = stack.request("POST", "/v1/sessions", {"name": "line"}, token=token)
    assert status == 201, body
    return str(body["id"])


def _status(stack: DevProcess, token: str, session_id: str, *, since: int | None = None,
            wait: int = 0) -> dict[str, Any]:
    query = f"?wait={wait}&since={since}" if since is not None else ""
    status, body, _ = stack.request("GET", f"/v1/sessions/{session_id}/status{query}", token=token)
    assert status == 200, body
    return dict(body)


def _wait_until(stack: DevProcess, token: str, session_id: str, predicate: Any, timeout: float = 60) -> dict:
    card = _status(stack, token, session_id)
    deadline = time.monotonic() + timeout
    while not predicate(card):
        if time.monotonic() > deadline:
            pytest.fail(f"session never reached the expected state; last seen {card}")
        card = _status(stack, token, session_id, since=card["status_version"], wait=5)
    return card


def _cli(stack: DevProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whatsam.cli", "dev", *args], env=stack.env, capture_output=True,
                          text=True, timeout=60, check=False)


def _connect_and_scan(stack: DevProcess, token: str, session_id: str) -> dict:
    status, body, _ = stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    assert (status, body["status"]) == (202, "connecting")
    _wait_until(stack, token, session_id, lambda c: c["status"] == "qr")
    scanned = _cli(stack, "scan", session_id)
    assert scanned.returncode == 0, scanned.stderr
    return _wait_until(stack, token, session_id, lambda c: c["status"] == "connected")


def test_connect_qr_scan_connected(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    assert fleet_stack.request("GET", f"/v1/sessions/{session_id}/qr", token=token)[0] == 404

    fleet_stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    card = _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "qr")
    assert card["worker_id"].startswith("dev-worker-")

    status, qr, _ = fleet_stack.request("GET", f"/v1/sessions/{session_id}/qr", token=token)
    assert status == 200, qr
    assert qr["qr"].startswith("2@") and qr["expires_at"] > time.time()
    assert qr["png"].startswith("data:image/png;base64,")
    req_status, png, headers = _raw_png(fleet_stack, token, session_id)
    assert req_status == 200 and headers["content-type"] == "image/png" and png.startswith(b"\x89PNG")

    printed = "".join(fleet_stack.output)
    assert f"QR code for session {session_id}" in printed and "█" in printed, "the terminal shows the QR too"

    # The QR rotates (every 5 s here) while nobody scans.
    rotated = _wait_for_qr_change(fleet_stack, token, session_id, qr["qr"])
    assert rotated != qr["qr"]

    scanned = _cli(fleet_stack, "scan", session_id)
    assert scanned.returncode == 0, scanned.stderr
    card = _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "connected")
    assert card["phone"] and card["phone"].isdigit()
    assert fleet_stack.request("GET", f"/v1/sessions/{session_id}/qr", token=token)[0] == 404
    again = fleet_stack.request("POST", f"/v1/dev/sessions/{session_id}/scan", token=token)
    assert (again[0], again[1]["error"]["code"]) == (409, "session_not_awaiting_scan")


def test_killed_worker_session_comes_back_without_a_scan(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    card = _connect_and_scan(fleet_stack, token, session_id)
    holder, phone = card["worker_id"], card["phone"]
    journal_before = _journal(fleet_stack, token, session_id, after=0)

    pid = _worker_pid(fleet_stack, holder)
    os.kill(pid, signal.SIGKILL)

    # Back on whichever worker takes it first: the survivor, or the replacement of the killed one.
    # The deadline covers the slow path: a connect the dead worker's open long poll swallowed
    # comes back after the connect queue's visibility timeout.
    back = _wait_until(fleet_stack, token, session_id,
                       lambda c: c["status"] == "connected" and c["worker_id"] not in (None, holder), timeout=180)
    assert back["phone"] == phone, "same linked device: restored from the encrypted snapshot"
    since_kill = _journal(fleet_stack, token, session_id, after=max(e["seq"] for e in journal_before))
    assert "session.qr" not in {e["type"] for e in since_kill}, "no new QR: nobody had to scan"
    assert fleet_stack.request("GET", f"/v1/sessions/{session_id}/qr", token=token)[0] == 404
    # Never two owners: of all the stack's workers, only the card's holder hosts the session.
    healths = [_health_at(url) for url in set(worker_endpoints(fleet_stack).values())]
    hosts = [health["worker_id"] for health in healths if health and session_id in health["hosted"]]
    assert hosts == [back["worker_id"]], hosts


def _journal(stack: DevProcess, token: str, session_id: str, *, after: int) -> list[dict[str, Any]]:
    status, body, _ = stack.request("GET", f"/v1/sessions/{session_id}/events?after={after}&limit=500", token=token)
    assert status == 200, body
    return list(body["events"])


def _health_at(worker_url: str) -> dict[str, Any] | None:
    """A worker's /health (its id, the sessions it hosts), or None for a worker that is gone."""
    try:
        with urllib.request.urlopen(f"{worker_url}/health", timeout=10) as response:
            return dict(json.loads(response.read()))
    except OSError:
        return None


def test_disconnect_keeps_the_link_logout_forgets_it(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    phone = _connect_and_scan(fleet_stack, token, session_id)["phone"]

    status, _, _ = fleet_stack.request("POST", f"/v1/sessions/{session_id}/disconnect", token=token)
    assert status == 202
    _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "disconnected" and c["worker_id"] is None)

    fleet_stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    again = _wait_until(fleet_stack, token, session_id, lambda c: c["status"] in ("connected", "qr"))
    assert again["status"] == "connected" and again["phone"] == phone, "reconnected from its credentials"

    assert fleet_stack.request("POST", f"/v1/sessions/{session_id}/logout", token=token)[0] == 202
    gone = _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "logged_out")
    assert gone["phone"] is None

    fleet_stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "qr")  # a new link is needed


def test_deleting_a_connected_session_stops_it_and_leaves_no_credentials(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    holder = _connect_and_scan(fleet_stack, token, session_id)["worker_id"]
    assert session_id in _health(fleet_stack, holder)["hosted"]
    assert _credentials(fleet_stack, session_id), "the pairing was snapshotted"

    assert fleet_stack.request("DELETE", f"/v1/sessions/{session_id}", token=token)[0] == 204

    deadline = time.monotonic() + 30
    while session_id in _health(fleet_stack, holder)["hosted"] or _credentials(fleet_stack, session_id):
        if time.monotonic() > deadline:
            pytest.fail(f"30 s after the delete: hosted {_health(fleet_stack, holder)['hosted']}, "
                        f"stored {_credentials(fleet_stack, session_id)}")
        time.sleep(0.5)
    # The drain every deploy runs snapshots each session its worker holds: nothing comes back.
    os.kill(_worker_pid(fleet_stack, holder), signal.SIGTERM)
    _wait_for_worker_status(fleet_stack, holder, "offline")
    assert _credentials(fleet_stack, session_id) == []
    assert fleet_stack.request("GET", f"/v1/sessions/{session_id}", token=token)[0] == 404


def test_pairing_code_links_the_given_number(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    bad = fleet_stack.request("POST", f"/v1/sessions/{session_id}/pairing-code", {"phone": "+44 7911 123456"},
                              token=token)
    assert (bad[0], bad[1]["error"]["code"]) == (409, "session_not_connecting")

    fleet_stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "qr")
    invalid = fleet_stack.request("POST", f"/v1/sessions/{session_id}/pairing-code", {"phone": "12"}, token=token)
    assert invalid[0] == 400

    status, body, _ = fleet_stack.request("POST", f"/v1/sessions/{session_id}/pairing-code",
                                          {"phone": "+44 7911 123456"}, token=token)
    assert status == 200, body
    assert len(body["code"]) == 8 and body["phone"] == "447911123456"
    assert _cli(fleet_stack, "scan", session_id).returncode == 0
    card = _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "connected")
    assert card["phone"] == "447911123456"


def _raw_png(stack: DevProcess, token: str, session_id: str) -> tuple[int, bytes, dict[str, str]]:
    import urllib.request

    request = urllib.request.Request(f"{stack.base_url}/v1/sessions/{session_id}/qr?format=png",
                                     headers={"Authorization": f"Bearer {token}", "Accept": "image/png"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}


def _wait_for_qr_change(stack: DevProcess, token: str, session_id: str, first: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, qr, _ = stack.request("GET", f"/v1/sessions/{session_id}/qr", token=token)
        if status == 200 and qr["qr"] != first:
            return str(qr["qr"])
        time.sleep(0.5)
    pytest.fail("the QR code never rotated")


def _aws(stack: DevProcess, service: str) -> Any:
    return boto3.client(service, endpoint_url=stack.banner["AWS emulator"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _worker_record(stack: DevProcess, worker_id: str) -> dict[str, Any]:
    item = _aws(stack, "dynamodb").get_item(TableName="whatsam-dev-workers", Key={"worker_id": {"S": worker_id}},
                                            ConsistentRead=True)["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def _health(stack: DevProcess, worker_id: str) -> dict[str, Any]:
    health = _health_at(_worker_record(stack, worker_id)["endpoint"])
    assert health is not None, f"{worker_id} does not answer"
    return health


def _wait_for_worker_status(stack: DevProcess, worker_id: str, status: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while _worker_record(stack, worker_id)["status"] != status:
        if time.monotonic() > deadline:
            pytest.fail(f"{worker_id} never became {status}")
        time.sleep(0.5)


def _credentials(stack: DevProcess, session_id: str) -> list[str]:
    """Every stored version of the session's auth-state snapshots (keys are tenant/session/...)."""
    listed = _aws(stack, "s3").list_object_versions(Bucket="whatsam-dev-auth-state")
    return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
            if v["Key"].split("/")[1:2] == [session_id]]


def _worker_pid(stack: DevProcess, worker_id: str) -> int:
    # This stack's own child: another `whatsam dev` on the machine has workers of the same name.
    found = subprocess.run(["pgrep", "-P", str(stack.process.pid), "-f", f"worker_fleet.main --worker-id {worker_id} "],
                           capture_output=True, text=True, check=False).stdout.split()
    assert len(found) == 1, f"expected one process for {worker_id}, found {found}"
    return int(found[0])
