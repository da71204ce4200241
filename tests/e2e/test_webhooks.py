"""Webhooks through `whatsam dev` over HTTP, with a local receiver on loopback (dev mode
allows http and loopback): every event of a session arrives, each verified with the
third-party `standardwebhooks`; a flaky receiver gets the same `webhook-id` again until it
succeeds; a dead one ends `failed` after the (compressed) schedule, and redeliver works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _account, _card, _cli, _connect_and_scan, _wait_until
from tests.support.waiting import wait_for_value
from tests.support.webhook_receiver import Receiver, always, fail_then_succeed

pytestmark = pytest.mark.e2e

# Three retries a second apart: four attempts, then `failed`.
FAST_WEBHOOKS = {"WHATSAM_WEBHOOK_RETRY_SCHEDULE": "1,1,1", "WHATSAM_WEBHOOK_RETRY_JITTER": "0"}


stack = module_stack("webhooks", "--workers", "1", "--schedule-speedup", "30",
                     env_overrides={**FAST_FLEET, **FAST_WEBHOOKS})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _endpoint(stack: DevProcess, token: str, url: str, **extra: Any) -> dict[str, Any]:
    status, body, _ = stack.request("POST", "/v1/webhooks", {"url": url, "events": ["*"], **extra}, token=token)
    assert status == 201, body
    return dict(body)


def _log(stack: DevProcess, token: str, endpoint_id: str) -> list[dict[str, Any]]:
    status, body, _ = stack.request("GET", f"/v1/webhooks/{endpoint_id}/deliveries?limit=100", token=token)
    assert status == 200, body
    return list(body["deliveries"])


def _settled(stack: DevProcess, token: str, endpoint_id: str, count: int, timeout: float = 60) -> list[dict]:
    return wait_for_value(lambda: _log(stack, token, endpoint_id),
                          lambda log: len(log) == count and all(d["status"] != "pending" for d in log),
                          timeout, every=0.3, what="every delivery settled")


def _journal(stack: DevProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    status, body, _ = stack.request("GET", f"/v1/sessions/{session_id}/events?limit=500", token=token)
    assert status == 200, body
    return list(body["events"])


def test_a_receiver_gets_every_event_of_a_session_each_verified(stack: DevProcess, receiver: Receiver) -> None:
    token = _account(stack)
    session_id = _card(stack, token)
    endpoint = _endpoint(stack, token, receiver.url, session_id=session_id)

    _connect_and_scan(stack, token, session_id)
    inbound = _cli(stack, "inbound", session_id, "--from", "+447911123456", "--text", "hello hooks")
    assert inbound.returncode == 0, inbound.stderr
    receiver.wait_for(lambda seen: any(b'"message.received"' in r.body for r in seen))
    status, _, _ = stack.request("POST", f"/v1/sessions/{session_id}/disconnect", token=token)
    assert status == 202
    # The card reads `disconnected` at once; its worker's own report (journaled) clears the worker.
    _wait_until(stack, token, session_id, lambda c: c["status"] == "disconnected" and c["worker_id"] is None)

    journal = _journal(stack, token, session_id)
    expected = {e["event_id"] for e in journal}
    assert {"session.status", "session.qr", "message.received"} <= {e["type"] for e in journal}
    seen = receiver.wait_for(lambda got: {json.loads(r.body)["data"]["event_id"] for r in got} >= expected)

    payloads = [request.verify(endpoint["secret"]) for request in seen]
    assert {p["data"]["event_id"] for p in payloads} == expected
    assert len(payloads) == len(expected)
    by_id = {e["event_id"]: e for e in journal}
    for payload in payloads:
        event = by_id[payload["data"]["event_id"]]
        assert payload["type"] == event["type"]
        assert payload["data"]["session_id"] == session_id
        assert payload["data"]["seq"] == event["seq"]
    received = next(p for p in payloads if p["type"] == "message.received")
    assert received["data"]["text"] == "hello hooks"
    assert {p["data"]["status"] for p in payloads if p["type"] == "session.status"} >= {"connected", "disconnected"}

    log = _settled(stack, token, endpoint["id"], len(expected))
    assert {d["status"] for d in log} == {"succeeded"}
    assert {d["id"] for d in log} == {r.headers["webhook-id"] for r in seen}


def test_a_receiver_failing_three_times_gets_the_same_webhook_id_again(stack: DevProcess,
                                                                       receiver: Receiver) -> None:
    receiver.script = fail_then_succeed(3)
    token = _account(stack)
    endpoint = _endpoint(stack, token, receiver.url)
    status, test, _ = stack.request("POST", f"/v1/webhooks/{endpoint['id']}/test", token=token)
    assert status == 202, test

    [delivery] = _settled(stack, token, endpoint["id"], 1)
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {test["id"]}
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        assert request.verify(endpoint["secret"])["type"] == "webhook.test"


def test_a_receiver_that_always_fails_ends_failed_and_redeliver_works(stack: DevProcess,
                                                                      receiver: Receiver) -> None:
    receiver.script = always(500)
    token = _account(stack)
    endpoint = _endpoint(stack, token, receiver.url)
    stack.request("POST", f"/v1/webhooks/{endpoint['id']}/test", token=token)

    [delivery] = _settled(stack, token, endpoint["id"], 1)
    assert delivery["status"] == "failed"
    assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(500, "http_5xx")] * 4
    status, health, _ = stack.request("GET", f"/v1/webhooks/{endpoint['id']}", token=token)
    assert status == 200 and health["failed_deliveries"] == 1

    receiver.script = always(204)
    status, body, _ = stack.request("POST", f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver",
                                    token=token)
    assert status == 202, body
    [again] = _settled(stack, token, endpoint["id"], 1)
    assert again["status"] == "succeeded" and again["attempts"][-1]["status_code"] == 204
    assert len(receiver.requests) == 5
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["id"]}
    assert receiver.requests[-1].verify(endpoint["secret"])


def test_registration_refuses_metadata_and_private_addresses(stack: DevProcess) -> None:
    token = _account(stack)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials",
                "https://10.0.0.1/", "https://[::ffff:192.168.0.1]/"):
        status, body, _ = stack.request("POST", "/v1/webhooks", {"url": url, "events": ["*"]}, token=token)
        assert (status, body["error"]["code"]) == (422, "webhook_url_not_allowed"), (url, body)
