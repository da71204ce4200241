"""How webhook endpoints and deliveries look on the wire. Never a secret (except the one
just created, once) and never anything a receiver answered beyond its status code."""

from __future__ import annotations

from typing import Any

from whatsam.http.presenters import iso
from whatsam.webhooks.models import Delivery, Endpoint


def endpoint_view(endpoint: Endpoint, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": endpoint.endpoint_id, "url": endpoint.url, "events": list(endpoint.event_types),
        "session_id": endpoint.session_id, "description": endpoint.description,
        "status": "enabled" if endpoint.enabled else "disabled", "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason, "disabled_at": iso(endpoint.disabled_at),
        "failing_since": iso(endpoint.failing_since), "last_success_at": iso(endpoint.last_success_at),
        "last_failure_at": iso(endpoint.last_failure_at), "failed_deliveries": endpoint.failed_deliveries,
        "previous_secret_expires_at": iso(endpoint.previous_secret_expires_at),
        "created_at": iso(endpoint.created_at), "updated_at": iso(endpoint.updated_at),
    }
    if secret is not None:
        view["secret"] = secret
    return view


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.delivery_id, "endpoint_id": delivery.endpoint_id, "event_id": delivery.event_id,
        "event_type": delivery.event_type, "session_id": delivery.session_id, "status": delivery.status.value,
        "attempt_count": delivery.attempt_count, "round": delivery.round,
        "next_attempt_at": iso(delivery.next_attempt_at), "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error, "created_at": iso(delivery.created_at),
        "updated_at": iso(delivery.updated_at),
        "attempts": [{"attempt": a.number, "round": a.round, "at": iso(a.at), "status_code": a.status_code,
                      "latency_ms": a.latency_ms, "error": a.error} for a in delivery.attempts],
    }
