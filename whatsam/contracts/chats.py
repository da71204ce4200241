"""Chats and history sync on the wire: what a `history.batch` event carries from the worker to
ingestion (spec §3.9). History batches are plumbing: ingestion stores them and tells nobody;
the one piece of news is `session.history_synced` at the end."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from whatsam.contracts.base import Message

ChatKind = Literal["direct", "group", "channel"]
CHAT_KINDS: tuple[ChatKind, ...] = ("direct", "group", "channel")
# The disappearing-message timers WhatsApp offers: off, 24 hours, 7 days, 90 days.
DISAPPEARING_TIMERS: tuple[int, ...] = (0, 86400, 604800, 7776000)


def chat_kind(chat_jid: str) -> ChatKind:
    server = chat_jid.rpartition("@")[2]
    if server == "g.us":
        return "group"
    if server == "newsletter":
        return "channel"
    return "direct"


class HistoryChatInfo(Message):
    chat_jid: str
    name: str | None = None
    unread_count: int = 0
    archived: bool = False
    pinned: bool = False
    muted_until: datetime | None = None
    last_activity: datetime | None = None


class HistoryMessageInfo(Message):
    """One old message; `message_id` is ours (`inbound_message_id` of WhatsApp's `wa_id`), so
    a message seen live and again in history is one record."""

    message_id: str
    wa_id: str
    chat_jid: str
    sender_jid: str
    from_me: bool = False
    kind: str
    text: str | None = None
    timestamp: datetime


class PhoneLidPair(Message):
    """A phone JID and the LID JID of the same person, as history sync named them."""

    phone_jid: str
    lid_jid: str
