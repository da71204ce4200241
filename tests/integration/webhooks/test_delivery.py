"""Deliveries end to end inside the process: ingestion → fan-out → webhooks queue → the real
SQS handler → a local receiver, every request verified with `standardwebhooks`; retries on
a compressed schedule, the delivery log, redeliver, recover, 410, Retry-After, redirects,
disabling, and the SSRF guard at delivery time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.integration.webhooks.helpers import Owner, all_done, create_endpoint, deliveries, new_owner, wait_deliveries
from tests.support.leases import TEST_WORKER
from tests.support.webhook_receiver import Answer, Receiver, always, fail_then_succeed
from whatsam.contracts.events import SessionQrEvent, make_seq
from whatsam.webhooks.ssrf import SsrfGuard

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("deliver")]


def _verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    return [request.verify(secret) for request in receiver.requests]


def test_every_event_of_a_session_arrives_signed(api: Any, services: Any, owner: Owner, receiver: Receiver,
                                                 settings: Any) -> None:
    endpoint = create_endpoint(api, owner, receiver.url, ["*"], session=True)
    events = [owner.status("connecting")]
    owner.seq += 1
    events.append(SessionQrEvent(session_id=owner.session_id, tenant_id=owner.user_id, seq=make_seq(1, owner.seq),
                                 qr="2@first-qr", expires_in=20, worker_id=TEST_WORKER))
    for event in events:
        assert services.ingestion.apply(event)
    # The same ingestion, over HTTPS with the worker token.
    connected = owner.status("connected", phone="15550001111")
    reply = api.call("POST", "/v1/internal/events", json_body={"events": [connected.model_dump(mode="json")]},
                     headers={"Authorization": f"Bearer {settings.worker_token}"})
    assert reply.status == 202, reply.body
    events.append(connected)

    receiver.wait_for(lambda seen: len(seen) >= 3)
    payloads = _verified(receiver, endpoint["secret"])
    assert sorted(p["data"]["event_id"] for p in payloads) == sorted(e.event_id for e in events)
    assert {p["type"] for p in payloads} == {"session.status", "session.qr"}
    for payload in payloads:
        assert payload["data"]["session_id"] == owner.session_id
        assert datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    qr = next(p for p in payloads if p["type"] == "session.qr")
    assert qr["data"]["qr"] == "2@first-qr"
    assert {p["data"]["status"] for p in payloads if p["type"] == "session.status"} == {"connecting", "connected"}

    log = wait_deliveries(api, owner, endpoint["id"], all_done(3))
    assert {d["status"] for d in log} == {"succeeded"}
    assert {d["id"] for d in log} == {r.headers["webhook-id"] for r in receiver.requests}
    for delivery in log:
        [attempt] = delivery["attempts"]
        assert (attempt["status_code"], attempt["error"], attempt["attempt"]) == (200, None, 1)
        assert attempt["latency_ms"] >= 0 and attempt["at"]
    # A redelivered event (the events queue is at-least-once) is not sent twice.
    assert not services.ingestion.apply(connected)
    assert len(deliveries(api, owner, endpoint["id"])) == 3
    assert len(receiver.requests) == 3


def test_tampered_or_wrong_secret_fails_verification(api: Any, services: Any, owner: Owner,
                                                     receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [request] = receiver.wait_for(lambda seen: len(seen) == 1)
    assert request.verify(endpoint["secret"])
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint["secret"]).verify(request.body.replace(b"connecting", b"connected!"), request.headers)
    other = create_endpoint(api, owner, receiver.url)
    with pytest.raises(Exception, match="signature"):
        request.verify(other["secret"])


def test_filters_and_tenants(api: Any, services: Any, owner: Owner) -> None:
    qr_only, everything, other_session = Receiver(), Receiver(), Receiver()
    try:
        create_endpoint(api, owner, qr_only.url, ["session.qr"])
        create_endpoint(api, owner, everything.url, ["session.*"])
        stranger = new_owner(api)
        create_endpoint(api, stranger, other_session.url, ["*"], session=True)
        services.ingestion.apply(owner.status("connecting"))
        owner.seq += 1
        services.ingestion.apply(SessionQrEvent(session_id=owner.session_id, tenant_id=owner.user_id,
                                                seq=make_seq(1, owner.seq), qr="2@q", expires_in=20,
                                                worker_id=TEST_WORKER))
        everything.wait_for(lambda seen: len(seen) == 2)
        qr_only.wait_for(lambda seen: len(seen) == 1)
        assert json.loads(qr_only.requests[0].body)["type"] == "session.qr"
        # A stranger's endpoint hears nothing of this tenant's session; its own session's events it does.
        services.ingestion.apply(stranger.status("connecting"))
        other_session.wait_for(lambda seen: len(seen) == 1)
        assert json.loads(other_session.requests[0].body)["data"]["session_id"] == stranger.session_id
        assert len(qr_only.requests) == 1 and len(everything.requests) == 2
    finally:
        for receiver in (qr_only, everything, other_session):
            receiver.close()


def test_fails_three_times_then_succeeds_with_the_same_id_and_body(api: Any, services: Any, owner: Owner,
                                                                   receiver: Receiver) -> None:
    receiver.script = fail_then_succeed(3, status=500)
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert delivery["status"] == "succeeded"
    assert [(a["attempt"], a["status_code"], a["error"]) for a in delivery["attempts"]] == [
        (1, 500, "http_5xx"), (2, 500, "http_5xx"), (3, 500, "http_5xx"), (4, 200, None)]
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["id"]}
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        assert request.verify(endpoint["secret"])
    health = api.call("GET", f"/v1/webhooks/{endpoint['id']}", token=owner.token).body
    assert (health["failing_since"], health["failed_deliveries"]) == (None, 0)
    assert health["last_success_at"] is not None


def test_always_failing_ends_failed_then_redeliver_works(api: Any, services: Any, owner: Owner,
                                                         receiver: Receiver) -> None:
    receiver.script = always(503)
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [503] * 4
    assert (delivery["last_status_code"], delivery["last_error"], delivery["next_attempt_at"]) == (503, "http_5xx",
                                                                                                  None)
    health = api.call("GET", f"/v1/webhooks/{endpoint['id']}", token=owner.token).body
    assert health["failed_deliveries"] == 1 and health["failing_since"] is not None
    assert health["status"] == "enabled"
    assert len(deliveries(api, owner, endpoint["id"], "?status=failed")) == 1
    assert deliveries(api, owner, endpoint["id"], "?status=succeeded") == []

    receiver.script = always(200)
    reply = api.call("POST", f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver",
                     token=owner.token)
    assert reply.status == 202 and reply.body["status"] == "pending" and reply.body["round"] == 2
    [again] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert again["status"] == "succeeded"
    assert [(a["round"], a["status_code"]) for a in again["attempts"]] == [(1, 503)] * 4 + [(2, 200)]
    assert len(receiver.requests) == 5
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["id"]}
    assert receiver.requests[-1].verify(endpoint["secret"])
    assert api.call("GET", f"/v1/webhooks/{endpoint['id']}", token=owner.token).body["failing_since"] is None


def test_redirects_are_failures_and_never_followed(api: Any, services: Any, owner: Owner,
                                                   receiver: Receiver) -> None:
    receiver.script = always(302, ("Location", f"http://127.0.0.1:{receiver.port}/elsewhere"))
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert delivery["status"] == "failed"
    assert {(a["status_code"], a["error"]) for a in delivery["attempts"]} == {(302, "redirect")}
    assert {r.path for r in receiver.requests} == {"/hooks"}


def test_the_response_body_is_never_recorded(api: Any, services: Any, owner: Owner, receiver: Receiver) -> None:
    receiver.script = lambda _n, _r: Answer(status=400, body=b"TOP-SECRET-RESPONSE " * 50)
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    from whatsam.adapters.webhook_models import WebhookDeliveryModel

    stored = json.dumps(WebhookDeliveryModel.get(delivery["id"]).serialize())
    assert "TOP-SECRET" not in stored and "TOP-SECRET" not in json.dumps(delivery)
    assert delivery["last_status_code"] == 400


def test_retry_after_is_honoured(api: Any, services: Any, owner: Owner, receiver: Receiver) -> None:
    receiver.script = lambda n, _r: Answer(status=429, headers=(("Retry-After", "3"),)) if n == 0 else Answer()
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert [a["status_code"] for a in delivery["attempts"]] == [429, 200]
    first, second = receiver.requests
    # The schedule says 1 s; the receiver asked for 3.
    assert second.at - first.at >= 3


def test_410_disables_the_endpoint_and_tells_the_owner(api: Any, services: Any, owner: Owner,
                                                       receiver: Receiver) -> None:
    receiver.script = always(410)
    notices = Receiver()
    try:
        gone = create_endpoint(api, owner, receiver.url, ["session.status"])
        watcher = create_endpoint(api, owner, notices.url, ["webhook.endpoint_disabled"])
        services.ingestion.apply(owner.status("connecting"))
        [delivery] = wait_deliveries(api, owner, gone["id"], all_done(1))
        assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(410, "gone")]
        state = api.call("GET", f"/v1/webhooks/{gone['id']}", token=owner.token).body
        assert (state["status"], state["enabled"]) == ("disabled", False)
        assert "410" in state["disabled_reason"] and state["disabled_at"]
        [notice] = notices.wait_for(lambda seen: len(seen) == 1)
        payload = notice.verify(watcher["secret"])
        assert payload["type"] == "webhook.endpoint_disabled"
        assert payload["data"]["endpoint_id"] == gone["id"] and "410" in payload["data"]["reason"]

        # While disabled: events are logged as skipped, nothing is sent; test and redeliver refuse.
        services.ingestion.apply(owner.status("disconnected"))
        log = wait_deliveries(api, owner, gone["id"], lambda seen: len(seen) == 2)
        assert {d["status"] for d in log} == {"failed", "skipped"}
        assert api.call("POST", f"/v1/webhooks/{gone['id']}/test", token=owner.token).status == 409
        assert len(receiver.requests) == 1

        # Enabled again and healthy: recover sends both.
        receiver.script = always(200)
        assert api.call("PATCH", f"/v1/webhooks/{gone['id']}", json_body={"enabled": True},
                        token=owner.token).status == 200
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        reply = api.call("POST", f"/v1/webhooks/{gone['id']}/recover", json_body={"since": since}, token=owner.token)
        assert reply.status == 202 and reply.body == {"recovered": 2, "complete": True, "next_since": None}
        log = wait_deliveries(api, owner, gone["id"], lambda seen: [d["status"] for d in seen] == ["succeeded"] * 2)
        assert len(receiver.requests) == 3
        for request in receiver.requests[1:]:
            assert request.verify(gone["secret"])
        # Nothing left to recover in the range.
        again = api.call("POST", f"/v1/webhooks/{gone['id']}/recover", json_body={"since": since}, token=owner.token)
        assert again.body["recovered"] == 0
    finally:
        notices.close()


def test_an_endpoint_failing_for_too_long_is_disabled(api: Any, services: Any, owner: Owner, receiver: Receiver,
                                                      monkeypatch: Any) -> None:
    monkeypatch.setattr(services.webhooks.deliverer, "disable_after", timedelta(0))
    receiver.script = always(500)
    endpoint = create_endpoint(api, owner, receiver.url)
    services.ingestion.apply(owner.status("connecting"))
    wait_deliveries(api, owner, endpoint["id"], all_done(1))
    state = api.call("GET", f"/v1/webhooks/{endpoint['id']}", token=owner.token).body
    assert state["status"] == "disabled" and state["disabled_reason"].startswith("no successful delivery since")


def test_test_ping(api: Any, owner: Owner, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url, ["session.qr"])
    reply = api.call("POST", f"/v1/webhooks/{endpoint['id']}/test", token=owner.token)
    assert reply.status == 202 and reply.body["event_type"] == "webhook.test"
    [request] = receiver.wait_for(lambda seen: len(seen) == 1)
    payload = request.verify(endpoint["secret"])
    assert payload["type"] == "webhook.test" and payload["data"]["endpoint_id"] == endpoint["id"]
    assert request.headers["webhook-id"] == reply.body["id"]


def test_rotation_signs_with_both_secrets_during_the_overlap(api: Any, services: Any, owner: Owner,
                                                             receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    rotated = api.call("POST", f"/v1/webhooks/{endpoint['id']}/rotate-secret", token=owner.token).body
    api.call("POST", f"/v1/webhooks/{endpoint['id']}/test", token=owner.token)
    [request] = receiver.wait_for(lambda seen: len(seen) == 1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verify(endpoint["secret"]) == request.verify(rotated["secret"])


def test_deliveries_page_newest_first(api: Any, services: Any, owner: Owner, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    for status in ("connecting", "disconnected", "connecting"):
        services.ingestion.apply(owner.status(status))
    wait_deliveries(api, owner, endpoint["id"], all_done(3))
    first = api.call("GET", f"/v1/webhooks/{endpoint['id']}/deliveries?limit=2", token=owner.token).body
    assert len(first["deliveries"]) == 2 and first["next_cursor"]
    rest = api.call("GET", f"/v1/webhooks/{endpoint['id']}/deliveries?limit=2&cursor={first['next_cursor']}",
                    token=owner.token).body
    ids = [d["id"] for d in first["deliveries"] + rest["deliveries"]]
    assert len(ids) == len(set(ids)) == 3
    created = [d["created_at"] for d in first["deliveries"] + rest["deliveries"]]
    assert created == sorted(created, reverse=True)
    other = create_endpoint(api, owner, receiver.url)
    reply = api.call("GET", f"/v1/webhooks/{other['id']}/deliveries?cursor={first['next_cursor']}", token=owner.token)
    assert reply.status == 400 and reply.body["error"]["code"] == "invalid_cursor"


def test_the_guard_runs_again_at_delivery_and_pins_the_checked_address(
        api: Any, services: Any, owner: Owner, receiver: Receiver, monkeypatch: Any) -> None:
    answers = {"rebind.test": ["127.0.0.1"]}
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[host]

    guard = SsrfGuard(allow_insecure=True, resolver=resolver)
    monkeypatch.setattr(services.webhooks.service, "_guard", guard)
    monkeypatch.setattr(services.webhooks.deliverer, "_guard", guard)
    endpoint = create_endpoint(api, owner, receiver.url_for("rebind.test"))
    # Pinned: the request reaches the checked address, still naming the host it was sent to.
    api.call("POST", f"/v1/webhooks/{endpoint['id']}/test", token=owner.token)
    [request] = receiver.wait_for(lambda seen: len(seen) == 1)
    assert request.headers["host"] == f"rebind.test:{receiver.port}"
    assert calls == ["rebind.test", "rebind.test"]

    # The name now points inside: the next delivery is refused before any connection.
    answers["rebind.test"] = ["10.0.0.7"]
    api.call("POST", f"/v1/webhooks/{endpoint['id']}/test", token=owner.token)
    log = wait_deliveries(api, owner, endpoint["id"],
                          lambda seen: any(d["status"] == "failed" for d in seen))
    failed = next(d for d in log if d["status"] == "failed")
    assert {a["error"] for a in failed["attempts"]} == {"address_not_allowed"}
    assert len(receiver.requests) == 1


def test_without_dev_mode_plain_http_is_refused_at_delivery(api: Any, services: Any, owner: Owner,
                                                           receiver: Receiver, monkeypatch: Any) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    monkeypatch.setattr(services.webhooks.deliverer, "_guard", SsrfGuard(allow_insecure=False))
    api.call("POST", f"/v1/webhooks/{endpoint['id']}/test", token=owner.token)
    [delivery] = wait_deliveries(api, owner, endpoint["id"], all_done(1))
    assert {a["error"] for a in delivery["attempts"]} == {"scheme_not_allowed"}
    assert receiver.requests == []
