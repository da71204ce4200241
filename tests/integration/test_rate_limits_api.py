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

from tests.integration.conftest import Reply
from tests.support.ratelimit_headers import ratelimit_state
from whatsam.http.rate_limits import account_subject
from whatsam.metering.policies import Policy
from whatsam.metering.ratelimit import Charge

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


def test_failed_logins_are_limited_per_account_and_address_successful_ones_are_not(api: Any) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=email, password=PASSWORD)
    for _ in range(3):
        ok = _login(api, email, PASSWORD)
        assert ok.status == 200
        state = ratelimit_state(ok.headers)
        assert state["login-pair"]["r"] == 5 and state["login-account"]["r"] == 100, \
            "a successful login gives its units back"
    assert ok.headers["ratelimit-policy"].startswith(
        '"login-pair";q=5;w=60, "login-pair-hour";q=20;w=3600, "login-pair-day";q=40;w=86400, '
        '"login-account";q=100;w=3600, "login-ip";q=')

    left = []
    for _ in range(5):
        wrong = _login(api, email, "not the password")
        assert (wrong.status, wrong.body["error"]["code"]) == (401, "invalid_credentials")
        left.append(ratelimit_state(wrong.headers)["login-pair"]["r"])
    assert left == [4, 3, 2, 1, 0]
    # This address waits now, even with the right password: guessing on cannot find it.
    held = _login(api, email, PASSWORD)
    assert (held.status, held.body["error"]["code"]) == (429, "rate_limited")
    assert held.body["error"]["details"]["policies"] == ["login-pair"]
    assert 1 <= int(held.headers["retry-after"]) <= 12, "one attempt comes back every 12 s"
    # Other accounts, from the same address, are not affected.
    other = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=other, password=PASSWORD)
    assert _login(api, other, PASSWORD).status == 200
    # The account is keyed by its normalised address.
    assert _login(api, email.upper(), PASSWORD).status == 429


def _lambda_login(app: Any, source_ip: str, email: str, password: str = "wrong password") -> Any:  # noqa: S107
    """POST /v1/auth/login as API Gateway hands it to the Lambda function, from `source_ip`."""
    event = {
        "resource": "/v1/auth/login", "path": "/v1/auth/login", "httpMethod": "POST",
        "headers": {"content-type": "application/json"}, "multiValueHeaders": {},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/v1/auth/login", "httpMethod": "POST", "path": "/v1/auth/login",
                           "requestId": uuid.uuid4().hex, "stage": "api", "identity": {"sourceIp": source_ip}},
        "body": json.dumps({"email": email, "password": password}),
    }
    response = app(event, None)
    return Reply(response["statusCode"], json.loads(response["body"]) if response["body"] else None,
                 {k.lower(): v for k, v in response["headers"].items()})


def _address() -> str:
    """A documentation address (RFC 5737) no other test uses."""
    return f"198.51.100.{uuid.uuid4().int % 250}" if uuid.uuid4().int % 2 else f"2001:db8::{uuid.uuid4().hex[:4]}"


def test_login_attempts_are_counted_per_source_address(chalice_app: Any) -> None:
    first, second = _address(), _address()
    limit = None
    for expected_used in (1, 2):
        reply = _lambda_login(chalice_app, first, f"{uuid.uuid4().hex[:8]}@example.com")
        assert reply.status == 401
        state = ratelimit_state(reply.headers)["login-ip"]
        limit = limit or state["r"] + 1
        assert state["r"] == limit - expected_used
    reply = _lambda_login(chalice_app, second, f"{uuid.uuid4().hex[:8]}@example.com")
    assert reply.status == 401 and ratelimit_state(reply.headers)["login-ip"]["r"] == limit - 1, \
        "another address has its own count"


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(api: Any, chalice_app: Any) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=email, password=PASSWORD)
    attacker, owner = _address(), _address()
    for _ in range(5):
        assert _lambda_login(chalice_app, attacker, email).status == 401
    held = _lambda_login(chalice_app, attacker, email, PASSWORD)
    assert (held.status, held.body["error"]["details"]["policies"]) == (429, ["login-pair"])
    assert 1 <= int(held.headers["retry-after"]) <= 12
    # The owner, from an address that did not fail, gets in at once.
    assert _lambda_login(chalice_app, owner, email, PASSWORD).status == 200


def _spend(services: Any, policy: Policy, subject: str, units: int) -> None:
    """Stand in for `units` failed attempts made a while ago (instead of waiting hours here)."""
    assert services.rate_limiter.apply([Charge(services.rate_policies.get(policy), subject, units)]).allowed


def test_an_address_that_fails_on_waits_longer_and_longer(api: Any, chalice_app: Any, services: Any) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=email, password=PASSWORD)
    waits = []
    for earlier_failures in (0, 10, 20):
        address = _address()
        pair = f"{account_subject(email)}:{address}"
        if earlier_failures:
            # Spread over the last hour or day: the minute's bucket is whole again, the hour's
            # holds at most its burst, the day's holds them all.
            _spend(services, Policy.LOGIN_PAIR_HOUR, pair, 5)
            _spend(services, Policy.LOGIN_PAIR_DAY, pair, earlier_failures - 5)
        for _ in range(5):
            assert _lambda_login(chalice_app, address, email).status == 401
        held = _lambda_login(chalice_app, address, email)
        assert held.status == 429, held.body
        waits.append(int(held.headers["retry-after"]))
    assert waits[0] <= 12 < 150 <= waits[1] <= 180 < 2000 <= waits[2] <= 2160, waits


def test_the_account_ceiling_stops_failing_addresses_never_a_fresh_one(
        api: Any, chalice_app: Any, services: Any) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    api.register(email=email, password=PASSWORD)
    # A hundred failures from a hundred addresses: the account's ceiling is reached.
    _spend(services, Policy.LOGIN_ACCOUNT, account_subject(email), 100)
    guesser = _address()
    assert _lambda_login(chalice_app, guesser, email).status == 401, "a new address gets one try"
    refused = _lambda_login(chalice_app, guesser, email, PASSWORD)
    assert (refused.status, refused.body["error"]["details"]["policies"]) == (429, ["login-account"])
    assert 1 <= int(refused.headers["retry-after"]) <= 36
    # The owner, from an address with no failure on this account, is let in with the right password.
    owner = _lambda_login(chalice_app, _address(), email, PASSWORD)
    assert owner.status == 200, owner.body


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
