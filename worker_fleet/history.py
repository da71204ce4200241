"""History sync on the worker (spec §3.9): the engine's `HistoryBatch`es become `history.batch`
events for ingestion, filtered by the session's `history_sync` setting, and the last one of a
sync is followed by one `session.history_synced {chats, messages}` event.

What each setting keeps (read once per sync, at its first batch):
- ``none``: nothing; no event either (phone↔LID pairs still go to ingestion's identity hook);
- ``recent`` (the default): every chat, and the messages of the last `RECENT_DAYS` days;
- ``full``: everything the phone sends.

Batches are converted and published one at a time as they arrive; the worker keeps only a
tally per session (the chats seen, the messages kept), never the history itself."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from whatsam.contracts.chats import HistoryChatInfo, HistoryMessageInfo, PhoneLidPair
from whatsam.contracts.events import Event, HistoryBatchEvent, SessionHistorySyncedEvent
from whatsam.messaging.record import inbound_message_id
from worker_fleet.engines.chats import HistoryBatch, HistoryChat, HistoryMessage

log = logging.getLogger("whatsam.history")

RECENT_DAYS = 30

# session id → its `history_sync` setting.
PolicyOf = Callable[[str], str]
Envelope = Callable[[], dict[str, Any]]


@dataclass
class _Tally:
    policy: str
    cutoff: datetime
    sync_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    batches: int = 0
    chats: set[str] = field(default_factory=set)
    messages: int = 0


def _chat_info(chat: HistoryChat) -> HistoryChatInfo:
    return HistoryChatInfo(chat_jid=chat.chat_jid, name=chat.name, unread_count=chat.unread_count,
                           archived=chat.archived, pinned=chat.pinned, muted_until=chat.muted_until,
                           last_activity=chat.last_activity)


def _message_info(session_id: str, message: HistoryMessage) -> HistoryMessageInfo:
    return HistoryMessageInfo(message_id=inbound_message_id(session_id, message.message_id), wa_id=message.message_id,
                              chat_jid=message.chat_jid, sender_jid=message.sender_jid, from_me=message.from_me,
                              kind=message.kind, text=message.text, timestamp=message.timestamp)


class HistoryIntake:
    def __init__(self, policy_of: PolicyOf, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._policy_of = policy_of
        self._now = now
        self._tallies: dict[str, _Tally] = {}

    def events(self, session_id: str, batch: HistoryBatch, envelope: Envelope) -> Iterator[Event]:
        """The events to publish for `batch`, in order; `envelope` numbers each one."""
        tally = self._tallies.get(session_id)
        if tally is None:
            tally = _Tally(policy=self._policy_of(session_id), cutoff=self._now() - timedelta(days=RECENT_DAYS))
            self._tallies[session_id] = tally
        identities = [PhoneLidPair(phone_jid=phone, lid_jid=lid) for phone, lid in batch.identities]
        keep = tally.policy != "none"
        chats = [_chat_info(chat) for chat in batch.chats] if keep else []
        messages = [_message_info(session_id, message) for message in batch.messages
                    if keep and (tally.policy == "full" or message.timestamp >= tally.cutoff)]
        if chats or messages or identities:
            tally.chats.update(chat.chat_jid for chat in chats)
            tally.chats.update(message.chat_jid for message in messages)
            tally.messages += len(messages)
            yield HistoryBatchEvent(**envelope(), sync_id=tally.sync_id, index=tally.batches, chats=chats,
                                    messages=messages, identities=identities)
            tally.batches += 1
        if batch.final:
            self._tallies.pop(session_id, None)
            log.info("history sync of %s done (%s): %d chats, %d messages", session_id, tally.policy,
                     len(tally.chats), tally.messages)
            if keep:
                yield SessionHistorySyncedEvent(**envelope(), chats=len(tally.chats), messages=tally.messages,
                                                sync_id=tally.sync_id, batches=tally.batches)

    def forget(self, session_id: str) -> None:
        """The session ended in the middle of a sync."""
        self._tallies.pop(session_id, None)
