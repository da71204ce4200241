"""The foundation's whole path, as a customer and a developer would use it: `whatsam dev`
started as a subprocess, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import boto3
import jwt
import pytest
import redis

from tests.e2e.conftest import DevProcess
from tests.support.waiting import wait_until
from whatsam import __version__
from whatsam.adapters.session_cache import status_channel
from whatsam.contracts.commands import decode_command

pytestmark = pytest.mark.e2e


def _email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


def _port_open(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def test_health_and_banner(dev_stack: DevProcess) -> None:
    assert {"API", "Dashboard", "AWS emulator", "Redis"} <= set(dev_stack.banner)
    assert dev_stack.banner["Dashboard"] == dev_stack.base_url + "/"
    assert dev_stack.request("GET", "/health")[:2] == (200, {"status": "ok"})
    status, body, _ = dev_stack.request("GET", "/health/ready")
    assert status == 200, body
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("POST", "/v2/messages"), ("GET", "/v1/me/x"),
                                             ("TRACE", "/health"), ("QUERY", "/v1/session")])
def test_an_unknown_route_is_a_404_in_the_apis_error_shape(dev_stack: DevProcess, method: str, path: str) -> None:
    status, body, headers = dev_stack.request(method, path, token="whatever")
    assert (status, body["error"]["code"]) == (404, "route_not_found")
    assert body["error"]["request_id"] == headers["x-request-id"]


def test_customer_walkthrough(dev_stack: DevProcess) -> None:
    email, password = _email(), "correct horse battery"
    status, body, headers = dev_stack.request("POST", "/v1/auth/register", {"email": email, "password": password})
    assert status == 201, body
    assert headers["x-request-id"]

    status, login, _ = dev_stack.request("POST", "/v1/auth/login", {"email": email, "password": password})
    assert status == 200, login
    token = login["access_token"]

    status, card, _ = dev_stack.request("POST", "/v1/sessions", {"name": "Sales line"}, token=token)
    assert status == 201, card
    assert card["status"] == "disconnected"
    first_key = card["api_key"]["key"]

    status, key, _ = dev_stack.request("POST", f"/v1/sessions/{card['id']}/api-keys", {"name": "crm"}, token=token)
    assert status == 201, key
    status, own, _ = dev_stack.request("GET", "/v1/session", api_key=key["key"])
    assert (status, own["id"]) == (200, card["id"])
    assert dev_stack.request("GET", "/v1/session", api_key=first_key)[0] == 200

    status, connecting, _ = dev_stack.request("POST", f"/v1/sessions/{card['id']}/connect", token=token)
    assert (status, connecting["status"]) == (202, "connecting")

    # The connect command landed on the connect queue of the emulator `whatsam dev` started,
    # in the shared schema the workers decode.
    sqs = boto3.client("sqs", endpoint_url=dev_stack.banner["AWS emulator"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    url = sqs.get_queue_url(QueueName="whatsam-dev-connect")["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    commands = [decode_command(m["Body"]) for m in received]
    assert [(c.session_id, c.tenant_id, c.status_version) for c in commands] == [
        (card["id"], login["user"]["id"], 1)]

    # Another tenant sees none of it.
    _, other, _ = dev_stack.request("POST", "/v1/auth/register", {"email": _email(), "password": password})
    for method, path in [("GET", f"/v1/sessions/{card['id']}"), ("POST", f"/v1/sessions/{card['id']}/connect"),
                         ("GET", f"/v1/sessions/{card['id']}/api-keys"), ("DELETE", f"/v1/sessions/{card['id']}")]:
        status, error, _ = dev_stack.request(method, path, token=other["access_token"])
        assert (status, error["error"]["code"]) == (404, "session_not_found"), (method, path)

    # Bad input: a clear 4xx with a code, never a 500.
    cases = [
        ("POST", "/v1/sessions", b"{not json", "application/json", 400, "invalid_json"),
        ("POST", "/v1/sessions", b'{"name": 42}', "application/json", 400, "validation_error"),
        ("POST", "/v1/sessions", b"{}", "application/json", 400, "validation_error"),
        ("POST", "/v1/sessions", b'{"name": "x"}', "text/plain", 415, "unsupported_media_type"),
        ("POST", "/v1/sessions", b'{"name": "' + b"x" * 70_000 + b'"}', "application/json", 413, "payload_too_large"),
    ]
    for method, path, raw, content_type, want_status, want_code in cases:
        status, error, _ = dev_stack.request(method, path, raw=raw, token=token, content_type=content_type)
        assert (status, error["error"]["code"]) == (want_status, want_code), (raw[:30], error)
    status, listing, _ = dev_stack.request("GET", "/v1/sessions", token=token)
    assert [c["id"] for c in listing["sessions"]] == [card["id"]]


def test_the_stacks_secrets_live_in_the_emulators_secrets_manager(dev_stack: DevProcess) -> None:
    """No secret is given to `whatsam dev` by value: it provisions them in the emulator and
    reads them from there, as the functions do in AWS."""
    assert not any(name in dev_stack.env for name in ("WHATSAM_JWT_SECRET", "WHATSAM_API_KEY_PEPPER",
                                                      "WHATSAM_WORKER_TOKEN", "WHATSAM_REFRESH_TOKEN_KEY"))
    secrets = boto3.client("secretsmanager", endpoint_url=dev_stack.banner["AWS emulator"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    signing_key = secrets.get_secret_value(SecretId="whatsam-dev/jwt-secret")["SecretString"]
    email, password = _email(), "correct horse battery"
    status, body, _ = dev_stack.request("POST", "/v1/auth/register", {"email": email, "password": password})
    assert status == 201, body
    claims = jwt.decode(body["access_token"], signing_key, algorithms=["HS256"], audience="whatsam-api")
    assert claims["sub"] == body["user"]["id"]
    worker_token = secrets.get_secret_value(SecretId="whatsam-dev/worker-token")["SecretString"]
    # Past the token check, an empty batch is bad input; another token is refused before that.
    status, error, _ = dev_stack.request("POST", "/v1/internal/events", {"events": []}, token=worker_token)
    assert (status, error["error"]["code"]) == (400, "validation_error"), error
    status, error, _ = dev_stack.request("POST", "/v1/internal/events", {"events": []}, token="x" * 64)
    assert (status, error["error"]["code"]) == (401, "invalid_worker_token")


def test_openapi_lists_every_route(dev_stack: DevProcess) -> None:
    status, document, _ = dev_stack.request("GET", "/v1/openapi.json")
    assert status == 200
    expected = {
        ("post", "/v1/auth/register"), ("post", "/v1/auth/login"), ("post", "/v1/auth/refresh"),
        ("post", "/v1/auth/logout"), ("get", "/v1/me"), ("post", "/v1/sessions"), ("get", "/v1/sessions"),
        ("get", "/v1/sessions/{session_id}"), ("patch", "/v1/sessions/{session_id}"),
        ("delete", "/v1/sessions/{session_id}"), ("post", "/v1/sessions/{session_id}/connect"),
        ("get", "/v1/sessions/{session_id}/api-keys"), ("post", "/v1/sessions/{session_id}/api-keys"),
        ("delete", "/v1/sessions/{session_id}/api-keys/{key_id}"), ("get", "/health"), ("get", "/health/ready"),
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert expected <= documented


def _whatsam(stack: DevProcess, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "whatsam.cli", *args], env=stack.env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_a_taken_port_is_named_and_nothing_starts(dev_stack: DevProcess) -> None:
    port = str(urlparse(dev_stack.base_url).port)
    second = _whatsam(dev_stack, "dev", "--port", port, "--workers", "0")
    assert second.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in second.stderr and "--port" in second.stderr, second.stderr
    assert "cannot join thread" not in second.stderr and "Traceback" not in second.stderr
    assert "AWS emulator" not in second.stdout, "it failed before starting any child"
    # The running stack's state file is still there for `whatsam dev scan` and friends.
    assert Path(dev_stack.env["WHATSAM_DEV_STATE"]).exists()
    assert dev_stack.request("GET", "/health")[0] == 200


def test_version_and_cli_errors_speak_one_language(dev_stack: DevProcess) -> None:
    version = _whatsam(dev_stack, "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"whatsam {__version__}")
    nobody = "ses_" + "0" * 25  # well formed, names no card
    scan = _whatsam(dev_stack, "dev", "scan", nobody)
    assert scan.returncode == 1 and scan.stdout == ""
    assert scan.stderr.strip() == "whatsam: No such session. (session_not_found)"
    inbound = _whatsam(dev_stack, "dev", "inbound", nobody, "--from", "12", "--text", "hi")
    assert inbound.returncode == 1
    assert inbound.stderr.startswith("whatsam: ") and "from:" in inbound.stderr and "(validation_error)" in \
        inbound.stderr, inbound.stderr


def test_a_client_that_goes_away_leaves_no_traceback(dev_stack: DevProcess) -> None:
    """A browser reloading the dashboard drops its status long-polls: their answers then meet a
    closed socket, which the dev log must not report as an error."""
    token = dev_stack.request("POST", "/v1/auth/register", {"email": _email(), "password": "correct horse battery"}
                              )[1]["access_token"]
    card = dev_stack.request("POST", "/v1/sessions", {"name": "reloaded"}, token=token)[1]
    redis_client = redis.Redis.from_url(dev_stack.banner["Redis"])
    listeners = lambda: redis_client.pubsub_numsub(status_channel(card["id"]))[0][1]  # noqa: E731
    logged = len(dev_stack.output)
    clients = [socket.create_connection(("127.0.0.1", urlparse(dev_stack.base_url).port)) for _ in range(2)]
    for client in clients:
        client.sendall(f"GET /v1/sessions/{card['id']}/status?wait=5&since={card['status_version']} HTTP/1.1\r\n"
                       f"Host: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    wait_until(lambda: listeners() == 2, timeout=30)  # both long-polls are waiting
    for client in clients:
        # Reset rather than close: each answer meets a dead socket at once.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    # Both have answered, into the void (the access log names each answer before writing it).
    wait_until(lambda: "".join(dev_stack.output[logged:]).count(f"/v1/sessions/{card['id']}/status") == 2,
               timeout=30)
    # The log's order: a request made now is logged after whatever those two printed.
    assert dev_stack.request("GET", "/health?after-the-resets")[0] == 200
    wait_until(lambda: any("/health?after-the-resets" in line for line in dev_stack.output[logged:]), timeout=30)
    log = "".join(dev_stack.output[logged:])
    assert "Traceback" not in log and "BrokenPipeError" not in log and "ConnectionResetError" not in log, log


def test_ctrl_c_stops_everything(dev_stack: DevProcess) -> None:
    """Runs last in this module: SIGINT stops the API and the children it started."""
    children = [dev_stack.banner["AWS emulator"], dev_stack.banner["Redis"].replace("redis://", "http://")]
    assert all(_port_open(url) for url in children)
    os.kill(dev_stack.process.pid, signal.SIGINT)
    try:
        assert dev_stack.process.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        pytest.fail("whatsam dev did not stop within 30 s of Ctrl-C")
    wait_until(lambda: not any(_port_open(url) for url in children), timeout=10, every=0.2,
               what="moto and redis stopped with whatsam dev")
    assert not _port_open(dev_stack.base_url)
