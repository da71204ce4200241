"""Events: what workers report, on the events queue (or POST /v1/internal/events).

Every event carries a per-session sequence number. Workers derive it from the lease's
fencing number (`seq = fence << 32 | counter`), so a new lease holder's events always
sort after an old holder's and a stale event can be recognised without coordination."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from whatsam.contracts.base import Message

SEQ_COUNTER_BITS = 32


def make_seq(fence: int, counter: int) -> int:
    return (fence << SEQ_COUNTER_BITS) | counter


def _now() -> datetime:
    return datetime.now(UTC)


def _event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class Event(Message):
    event_id: str = Field(default_factory=_event_id)
    session_id: str
    tenant_id: str
    seq: int
    worker_id: str | None = None
    occurred_at: datetime = Field(default_factory=_now)


SessionState = Literal["connecting", "qr", "connected", "disconnected", "logged_out", "failed", "banned"]


class SessionStatusEvent(Event):
    type: Literal["session.status"] = "session.status"
    status: SessionState
    phone: str | None = None
    jid: str | None = None
    reason: str | None = None


class SessionQrEvent(Event):
    type: Literal["session.qr"] = "session.qr"
    qr: str
    expires_in: float


AnyEvent = Annotated[SessionStatusEvent | SessionQrEvent, Field(discriminator="type")]

_event_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def decode_event(raw: str | bytes) -> AnyEvent:
    """Parse an events-queue body; raises pydantic.ValidationError on a bad one."""
    return _event_adapter.validate_json(raw)


def event_from_dict(data: object) -> AnyEvent:
    return _event_adapter.validate_python(data)
