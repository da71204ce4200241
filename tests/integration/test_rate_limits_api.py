"""Rate limits through the Chalice app, at production numbers: session operations per user,
failed logins per account, logins keyed by the caller's source address (through the Lambda
entry point, as API Gateway invokes it), the headers on success and on errors, and the
OpenAPI document."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

import pytest

from tests.support.ratelimit_headers import ratelimit_state

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def _login(api: Any, email: str, password: str) -> Any:
    return api.call("POST", "/v1/auth/login", json_body={"email": email, "password": password})


def test_sixty_session_operations_a_minute_then_429(api: Any) -> None:
    token = api.register()["access_token"]
    created = api.call("POST", "/v1/sessions", json_body={"name": "ops"}, token=token)
    assert created.status == 201
    assert created.headers["ratelimit-policy"] == '"session-ops";q=60;w=60, "api-user";q=1000;w=3600'
    started = time.monotonic()
    admitted = 1
    refused = None
    for _ in range(200):
        reply = api.call("POST", f"/v1/sessions/{created.body['id']}/disconnect", token=token)
        if reply.status == 429:
            refused = reply
            break
        assert reply.status == 202, reply.body
        admitted += 1
    elapsed = time.monotonic() - started
    assert refused is not None, "never limited"
    # One operation comes back every second: the burst of 60, plus what came back meanwhile.
    assert 60 <= admitted <= 60 + math.ceil(elapsed), (admitted, elapsed)
    assert refused.body["error"]["code"] == "rate_limited"
    assert refused.body["error"]["details"]["policies"] == ["session-ops"]
    assert refused.headers["retry-after"] == "1"
    assert ratelimit_state(refused.headers)["session-ops"]["r"] == 0
    # Reading is not a session operation: still answered, with the API-call limit only.
    listed = api.call("GET", "/v1/sessions", token=token)
    assert listed.status == 200
    assert listed.headers["ratelimit-policy"] == '"api-user";q=1000;w=3600'


def test_failed_logins_are_limited_per_account_successful_ones_are_not(api: Any) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=email, password=PASSWORD)
    for _ in range(3):
        ok = _login(api, email, PASSWORD)
        assert ok.status == 200
        assert ratelimit_state(ok.headers)["login-account"]["r"] == 5, "a successful login gives its unit back"
    assert ok.headers["ratelimit-policy"].startswith('"login-account";q=5;w=900, "login-ip";q=')

    left = []
    for _ in range(5):
        wrong = _login(api, email, "not the password")
        assert (wrong.status, wrong.body["error"]["code"]) == (401, "invalid_credentials")
        left.append(ratelimit_state(wrong.headers)["login-account"]["r"])
    assert left == [4, 3, 2, 1, 0]
    # Locked for now, even with the right password: guessing on cannot find it.
    locked = _login(api, email, PASSWORD)
    assert (locked.status, locked.body["error"]["code"]) == (429, "rate_limited")
    assert locked.body["error"]["details"]["policies"] == ["login-account"]
    assert 170 <= int(locked.headers["retry-after"]) <= 180, "one attempt comes back every 3 minutes"
    assert locked.headers["ratelimit-policy"].startswith('"login-account";q=5;w=900')
    # Other accounts, from the same address, are not affected.
    other = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=other, password=PASSWORD)
    assert _login(api, other, PASSWORD).status == 200
    # The account is keyed by its normalised address.
    assert _login(api, email.upper(), PASSWORD).status == 429


def _lambda_login(app: Any, source_ip: str, email: str) -> tuple[int, dict[str, str]]:
    """POST /v1/auth/login as API Gateway hands it to the Lambda function."""
    event = {
        "resource": "/v1/auth/login", "path": "/v1/auth/login", "httpMethod": "POST",
        "headers": {"content-type": "application/json"}, "multiValueHeaders": {},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/v1/auth/login", "httpMethod": "POST", "path": "/v1/auth/login",
                           "requestId": uuid.uuid4().hex, "stage": "api", "identity": {"sourceIp": source_ip}},
        "body": json.dumps({"email": email, "password": "wrong password"}),
    }
    response = app(event, None)
    return response["statusCode"], {k.lower(): v for k, v in response["headers"].items()}


def test_login_attempts_are_counted_per_source_address(chalice_app: Any) -> None:
    first, second = f"198.51.100.{uuid.uuid4().int % 250}", f"203.0.113.{uuid.uuid4().int % 250}"
    limit = None
    for expected_used in (1, 2):
        status, headers = _lambda_login(chalice_app, first, f"{uuid.uuid4().hex[:8]}@example.com")
        assert status == 401
        state = ratelimit_state(headers)["login-ip"]
        limit = limit or state["r"] + 1
        assert state["r"] == limit - expected_used
    status, headers = _lambda_login(chalice_app, second, f"{uuid.uuid4().hex[:8]}@example.com")
    assert status == 401 and ratelimit_state(headers)["login-ip"]["r"] == limit - 1, "another address has its own count"


def test_errors_of_limited_routes_carry_the_headers_unauthenticated_ones_none(api: Any) -> None:
    token = api.register()["access_token"]
    missing = api.call("GET", "/v1/sessions/ses_doesnotexist", token=token)
    assert missing.status == 404
    assert missing.headers["ratelimit-policy"] == '"api-user";q=1000;w=3600'
    assert ratelimit_state(missing.headers)["api-user"]["r"] < 1000
    invalid = api.call("GET", "/v1/sessions", token="not-a-token")
    assert invalid.status == 401 and "ratelimit" not in invalid.headers
    health = api.call("GET", "/health")
    assert health.status == 200 and "ratelimit" not in health.headers


def test_openapi_documents_429_and_the_headers_on_limited_routes(api: Any) -> None:
    document = api.call("GET", "/v1/openapi.json").body
    send = document["paths"]["/v1/messages"]["post"]["responses"]
    assert set(send["429"]["headers"]) == {"RateLimit-Policy", "RateLimit", "Retry-After"}
    assert set(send["202"]["headers"]) == {"RateLimit-Policy", "RateLimit"}
    assert "429" in document["paths"]["/v1/auth/login"]["post"]["responses"]
    assert "429" in document["paths"]["/v1/auth/register"]["post"]["responses"]
    assert "429" in document["paths"]["/v1/sessions/{session_id}/connect"]["post"]["responses"]
    assert "429" not in document["paths"]["/health"]["get"]["responses"]
    assert set(document["components"]["headers"]) == {"RateLimit-Policy", "RateLimit", "Retry-After"}
