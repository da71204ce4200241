"""Endpoint filters, deterministic delivery ids, and the payload: Standard Webhooks' shape,
the same bytes every time it is built."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from whatsam.contracts.events import SessionQrEvent, SessionStatusEvent
from whatsam.webhooks.models import (
    Endpoint,
    Notification,
    delivery_id_for,
    filter_matches,
    known_event_types,
    valid_filter,
)


def _endpoint(events: tuple[str, ...], session_id: str | None = None) -> Endpoint:
    return Endpoint(endpoint_id="whk_1", tenant_id="usr_1", url="https://x.example/", event_types=events,
                    secret_sealed="sealed", session_id=session_id)


@pytest.mark.parametrize(("filters", "event_type", "expected"), [
    (("*",), "message.received", True),
    (("*",), "webhook.endpoint_disabled", True),
    (("message.*",), "message.read", True),
    (("message.*",), "session.status", False),
    (("session.status",), "session.status", True),
    (("session.status",), "session.qr", False),
    (("session.qr", "message.sent"), "message.sent", True),
    (("messages.*",), "message.sent", False),
])
def test_filters(filters: tuple[str, ...], event_type: str, expected: bool) -> None:
    assert filter_matches(filters, event_type) is expected


def test_session_bound_endpoints_hear_only_their_session() -> None:
    bound = _endpoint(("*",), session_id="ses_a")
    assert bound.wants("session.status", "ses_a")
    assert not bound.wants("session.status", "ses_b")
    assert not bound.wants("webhook.endpoint_disabled", None)
    assert _endpoint(("*",)).wants("session.status", "ses_b")


def test_known_types_cover_the_spec_and_the_event_schema() -> None:
    types = known_event_types()
    for expected in ("session.status", "session.qr", "message.received", "message.sent", "message.delivered",
                     "message.read", "message.failed", "message.revoked", "webhook.test"):
        assert expected in types
    assert valid_filter("*") and valid_filter("message.*") and valid_filter("session.qr")
    assert not valid_filter("nonsense") and not valid_filter("nothing.*") and not valid_filter("")


def test_delivery_ids_are_deterministic_per_endpoint_and_event() -> None:
    first = delivery_id_for("whk_1", "evt_1")
    assert first == delivery_id_for("whk_1", "evt_1")
    assert first.startswith("msg_") and len(first) == 30
    assert len({first, delivery_id_for("whk_2", "evt_1"), delivery_id_for("whk_1", "evt_2")}) == 3


def test_payload_shape_and_stable_bytes() -> None:
    event = SessionStatusEvent(session_id="ses_1", tenant_id="usr_1", seq=7, status="connected", phone="15550001111",
                               worker_id="w-1", occurred_at=datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC))
    body = Notification.from_event(event).body()
    assert body == Notification.from_event(event).body()
    payload = json.loads(body)
    assert payload["type"] == "session.status"
    assert payload["timestamp"] == "2024-05-01T10:00:00.123000Z"
    data = payload["data"]
    assert data["session_id"] == "ses_1" and data["status"] == "connected" and data["phone"] == "15550001111"
    assert data["event_id"] == event.event_id and data["seq"] == 7
    # Plumbing stays inside.
    assert not {"tenant_id", "worker_id", "type", "occurred_at"} & set(data)


def test_qr_payload_carries_the_code() -> None:
    event = SessionQrEvent(session_id="ses_1", tenant_id="usr_1", seq=1, qr="2@abc", expires_in=20)
    data = json.loads(Notification.from_event(event).body())["data"]
    assert (data["qr"], data["expires_in"], data["session_id"]) == ("2@abc", 20, "ses_1")
