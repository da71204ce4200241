"""Rate limits over real HTTP against `whatsam dev`, with small limits set the way an operator
would (WHATSAM_RATE_LIMITS): parallel clients in several OS processes against one API key,
sign-ups per address, and failed logins per account and per address. Every client here is
127.0.0.1, which is what makes the per-address limits observable."""

from __future__ import annotations

import math
import time
import uuid

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _connect_and_scan
from tests.support.ratelimit_clients import ClientPlan, run_clients
from tests.support.ratelimit_headers import ratelimit_state

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
TO = "+14155552671"
LIMITS = "login-ip=4/600,login-account=3/900,register-ip=3/86400,messages-key=25/3600"


stack = module_stack("limits", "--workers", "1", env_overrides={**FAST_FLEET, "WHATSAM_RATE_LIMITS": LIMITS})


@pytest.fixture(scope="module")
def line(stack: DevProcess) -> dict[str, str]:
    """A connected session and its API key; its account is the first sign-up from 127.0.0.1."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    status, account, _ = stack.request("POST", "/v1/auth/register", {"email": email, "password": PASSWORD})
    assert status == 201, account
    token = account["access_token"]
    status, card, _ = stack.request("POST", "/v1/sessions", {"name": "limited"}, token=token)
    assert status == 201, card
    _connect_and_scan(stack, token, card["id"])
    return {"email": email, "token": token, "session_id": card["id"], "key": card["api_key"]["key"]}


def test_parallel_clients_against_one_key_never_get_more_than_the_burst_through(stack: DevProcess,
                                                                               line: dict[str, str]) -> None:
    limit = burst = 25  # one message comes back every 144 s
    request = {"method": "POST", "headers": {"X-Api-Key": line["key"]},
               "body": {"type": "text", "to": TO, "text": "parallel"}}
    outcomes, elapsed = run_clients(stack.base_url + "/v1/messages",
                                    [ClientPlan(f"p{i}", request=request) for i in range(4)], threads=6, attempts=4)
    assert len(outcomes) == 96
    accepted = [o for o in outcomes if o.status == 202]
    refused = [o for o in outcomes if o.status == 429]
    assert len(accepted) + len(refused) == 96, {o.status for o in outcomes}
    assert len(accepted) <= limit + burst, "the issue's bound"
    assert burst <= len(accepted) <= burst + math.ceil(elapsed / 144), (len(accepted), elapsed)
    for outcome in refused:
        assert 1 <= outcome.retry_after <= 144
        assert outcome.headers["ratelimit-policy"].startswith('"messages-key";q=25;w=3600, "messages-user";q=100;')
        assert outcome.headers["ratelimit"].startswith('"messages-key";r=0;t=')
    for outcome in accepted:
        assert "ratelimit" in outcome.headers and "retry-after" not in outcome.headers
    status, history, _ = stack.request("GET", "/v1/messages?limit=200", api_key=line["key"])
    assert status == 200 and len(history["messages"]) == len(accepted), "every 202 was recorded, no 429 was"


def test_sign_ups_are_limited_per_address(stack: DevProcess, line: dict[str, str]) -> None:
    for _ in range(2):  # the line's account took the first of three
        status, body, headers = stack.request("POST", "/v1/auth/register",
                                              {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD})
        assert status == 201, body
        assert headers["ratelimit-policy"] == '"register-ip";q=3;w=86400'
    status, body, headers = stack.request("POST", "/v1/auth/register",
                                          {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD})
    assert (status, body["error"]["code"], body["error"]["details"]["policies"]) == (429, "rate_limited",
                                                                                      ["register-ip"])
    assert 28_000 < int(headers["retry-after"]) <= 28_800, "one sign-up comes back every 8 hours"
    assert headers["ratelimit"].startswith('"register-ip";r=0;t=')


def test_failed_logins_are_limited_per_account_and_per_address(stack: DevProcess, line: dict[str, str]) -> None:
    def login(email: str, password: str) -> tuple[int, dict, dict[str, str]]:
        return stack.request("POST", "/v1/auth/login", {"email": email, "password": password})

    started = time.monotonic()

    def taken() -> int:
        """Seconds this test has run: on a busy machine the logins take a while, and the buckets
        refill meanwhile."""
        return math.ceil(time.monotonic() - started)

    for _ in range(2):
        status, _, headers = login(line["email"], PASSWORD)
        assert status == 200
        assert ratelimit_state(headers)["login-account"]["r"] == 3 and ratelimit_state(headers)["login-ip"]["r"] == 4, \
            "successful logins give their units back"
    for expected in (2, 1, 0):
        status, body, headers = login(line["email"], "wrong password")
        assert (status, body["error"]["code"]) == (401, "invalid_credentials")
        assert ratelimit_state(headers)["login-account"]["r"] == expected
    # The account's ceiling holds against this address, which failed on it.
    status, body, headers = login(line["email"], PASSWORD)
    assert (status, body["error"]["details"]["policies"]) == (429, ["login-account"])
    assert 290 - taken() < int(headers["retry-after"]) <= 300
    # One failure left for this address (three went to the account above), on any account.
    status, _, headers = login(f"{uuid.uuid4().hex[:10]}@example.com", "wrong password")
    assert status == 401 and ratelimit_state(headers)["login-ip"]["r"] == 0
    status, body, headers = login(f"{uuid.uuid4().hex[:10]}@example.com", "wrong password")
    assert (status, body["error"]["details"]["policies"]) == (429, ["login-ip"])
    assert 140 - taken() < int(headers["retry-after"]) <= 150
    assert headers["ratelimit-policy"] == ('"login-pair";q=5;w=60, "login-pair-hour";q=20;w=3600, '
                                           '"login-pair-day";q=40;w=86400, "login-account";q=3;w=900, '
                                           '"login-ip";q=4;w=600')
