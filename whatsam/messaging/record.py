"""A message as the log keeps it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whatsam.messaging.status import MessageStatus


@dataclass(frozen=True)
class MessageRecord:
    message_id: str
    session_id: str
    tenant_id: str
    direction: str  # "out" | "in"
    chat_jid: str
    type: str
    payload: dict[str, Any]
    status: MessageStatus
    created_at: datetime
    send_seq: int | None = None
    sending_fence: int | None = None
    handed_fence: int | None = None
    attempts: int = 0
    wa_id: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    request_hash: str | None = None
    revoked: bool = False
    poll_votes: dict[str, Any] = field(default_factory=dict)
    # "live", or "history": it came with the history sync after linking (spec §3.9).
    source: str = "live"


def inbound_message_id(session_id: str, wa_id: str) -> str:
    """Ours, derived from WhatsApp's: the same message seen twice is one record."""
    return "msg_" + hashlib.sha256(f"{session_id}\x00{wa_id}".encode()).hexdigest()[:25]
