"""Message statuses. Receipts arrive out of order (read before delivered), so a status only
ever moves forward; `failed` ends a message that was never sent."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"  # a voice or video note, after read
    FAILED = "failed"
    RECEIVED = "received"


_RANK = {MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2, MessageStatus.DELIVERED: 3,
         MessageStatus.READ: 4, MessageStatus.RECEIVED: 4, MessageStatus.PLAYED: 5, MessageStatus.FAILED: 6}

PENDING = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})


def advances(current: MessageStatus, new: MessageStatus) -> bool:
    """Whether `new` moves a message on from `current` (never back; nothing after failed)."""
    if current is MessageStatus.FAILED:
        return False
    if new is MessageStatus.FAILED:
        return current in PENDING
    return _RANK[new] > _RANK[current]
