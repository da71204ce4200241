"""Webhook entities and their rules, free of I/O: endpoints with their event filters,
deliveries with their attempt log, and the notification a delivery carries."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from whatsam.contracts.events import INTERNAL_EVENT_TYPES, AnyEvent
from whatsam.domain.model import iso_z, utcnow

WILDCARD = "*"
TEST_EVENT = "webhook.test"
ENDPOINT_DISABLED_EVENT = "webhook.endpoint_disabled"
# The spec's event types (§3.3); the event schema's own types are added in `known_event_types`.
SPEC_EVENT_TYPES = frozenset({
    "session.status", "session.qr", "message.received", "message.sent", "message.delivered", "message.read",
    "message.failed", "message.revoked", TEST_EVENT, ENDPOINT_DISABLED_EVENT,
})
# Fields of worker events that are plumbing, not news for the customer.
_INTERNAL_FIELDS = frozenset({"type", "tenant_id", "worker_id", "occurred_at"})


def _literal_values(annotation: Any) -> set[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return {str(v) for v in typing.get_args(annotation)}
    values: set[str] = set()
    for arg in typing.get_args(annotation):
        values |= _literal_values(arg)
    return values


@functools.cache
def known_event_types() -> frozenset[str]:
    """Every event type an endpoint may subscribe to: the spec's and the event schema's."""
    union = typing.get_args(AnyEvent)[0]
    types: set[str] = set(SPEC_EVENT_TYPES)
    for model in typing.get_args(union) or (union,):
        types |= _literal_values(model.model_fields["type"].annotation)
    return frozenset(types - INTERNAL_EVENT_TYPES)


def filter_matches(filters: tuple[str, ...], event_type: str) -> bool:
    """`*` matches everything, `message.*` a family, anything else itself."""
    for item in filters:
        if item in (WILDCARD, event_type):
            return True
        if item.endswith(".*") and event_type.startswith(item[:-1]):
            return True
    return False


def valid_filter(item: str) -> bool:
    if item == WILDCARD or item in known_event_types():
        return True
    return item.endswith(".*") and any(t.startswith(item[:-1]) for t in known_event_types())


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]
    secret_sealed: str
    session_id: str | None = None
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    # During a rotation's overlap, deliveries are signed with both secrets.
    previous_secret_sealed: str | None = None
    previous_secret_expires_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    # First failed attempt since the last success; None while healthy.
    failing_since: datetime | None = None
    failed_deliveries: int = 0

    def wants(self, event_type: str, session_id: str | None) -> bool:
        """Subscribed to this event: the session matches (or the endpoint is account-wide)
        and the type passes the filters."""
        if self.session_id is not None and self.session_id != session_id:
            return False
        return filter_matches(self.event_types, event_type)

    def previous_secret_active(self, now: datetime) -> bool:
        return (self.previous_secret_sealed is not None and self.previous_secret_expires_at is not None
                and self.previous_secret_expires_at > now)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # The endpoint was disabled when the event happened; `recover` can still send it.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Attempt:
    number: int
    round: int
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True)
class Delivery:
    """One notification to one endpoint. Its id is the `webhook-id` header, the same on
    every attempt; `payload` is the exact body, the same bytes on every attempt.

    A *round* is one run through the retry schedule: the first starts when the event
    happens, and each redeliver or recover starts another."""

    delivery_id: str
    endpoint_id: str
    tenant_id: str
    event_id: str
    event_type: str
    payload: str
    session_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    round: int = 1
    round_attempts: int = 0
    attempt_count: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    attempts: tuple[Attempt, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    claim_until: float | None = None


def delivery_id_for(endpoint_id: str, event_id: str) -> str:
    """Deterministic, so a redelivered event finds the delivery it already made."""
    digest = hashlib.sha256(f"{endpoint_id}|{event_id}".encode()).digest()
    return "msg_" + base64.b32encode(digest).decode().lower().rstrip("=")[:26]


@dataclass(frozen=True)
class Notification:
    """What a webhook says: Standard Webhooks' `{type, timestamp, data}`."""

    event_id: str
    event_type: str
    tenant_id: str
    session_id: str | None
    occurred_at: datetime
    data: dict[str, Any]

    @classmethod
    def from_event(cls, event: AnyEvent) -> Notification:
        fields = event.model_dump(mode="json")
        data = {key: value for key, value in fields.items() if key not in _INTERNAL_FIELDS}
        data["session_id"] = event.session_id
        return cls(event_id=event.event_id, event_type=event.type, tenant_id=event.tenant_id,
                   session_id=event.session_id, occurred_at=event.occurred_at, data=data)

    def body(self) -> str:
        occurred = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        timestamp = iso_z(occurred.astimezone(UTC))
        return json.dumps({"type": self.event_type, "timestamp": timestamp, "data": self.data},
                          separators=(",", ":"), ensure_ascii=False)
