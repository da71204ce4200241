"""From neonize's history-sync and receipt protobufs to the engine's chat events.

History: whatsmeow hands over each history blob as one ``HistorySync`` event (``Data``: a
``waHistorySync.HistorySync``); `history_batches` turns it into `HistoryBatch`es of at most
`HISTORY_BATCH_MESSAGES` messages, conversation by conversation. A sync is over when a blob
says ``progress`` 100 (its last batch is `final`). Status broadcasts are not chats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from worker_fleet.engines.chats import (
    HISTORY_BATCH_MESSAGES,
    HISTORY_TEXT_LIMIT,
    ChatRead,
    HistoryBatch,
    HistoryChat,
    HistoryMessage,
)
from worker_fleet.engines.neonize_mapping import _timestamp, content_of, jid_text, message_kind, message_text
from worker_fleet.engines.neonize_runtime import neonize_proto

_NOT_CHATS = frozenset({"status@broadcast"})
_HISTORY_DONE = 100


def _history_chat(conversation: Any) -> HistoryChat:
    mute_end = conversation.muteEndTime
    last = conversation.conversationTimestamp or conversation.lastMsgTimestamp
    return HistoryChat(chat_jid=conversation.ID, name=conversation.name or conversation.displayName or None,
                       unread_count=max(0, conversation.unreadCount), archived=conversation.archived,
                       pinned=conversation.pinned > 0, muted_until=_timestamp(mute_end) if mute_end > 0 else None,
                       last_activity=_timestamp(last) if last else None)


def _history_message(chat_jid: str, info: Any, own_jid: str) -> HistoryMessage | None:
    key = info.key
    if not key.ID or not info.HasField("message"):
        return None  # a system stub (a group created, a number changed): nothing to show
    content = content_of(info.message)
    kind = message_kind(content)
    text = message_text(content, kind)
    sender = key.participant or info.participant or (own_jid if key.fromMe else chat_jid)
    return HistoryMessage(message_id=key.ID, chat_jid=chat_jid, sender_jid=sender, from_me=key.fromMe,
                          timestamp=_timestamp(info.messageTimestamp), kind=kind,
                          text=text[:HISTORY_TEXT_LIMIT] if text else None)


def _identities(data: Any) -> tuple[tuple[str, str], ...]:
    pairs = [(mapping.pnJID, mapping.lidJID) for mapping in data.phoneNumberToLidMappings
             if mapping.pnJID and mapping.lidJID]
    pairs += [(conversation.pnJID, conversation.lidJID) for conversation in data.conversations
              if conversation.pnJID and conversation.lidJID]
    return tuple(pairs)


def history_batches(data: Any, own_jid: str, batch_size: int = HISTORY_BATCH_MESSAGES) -> Iterator[HistoryBatch]:
    """The batches of one history blob; the last one is `final` when the blob ends the sync."""
    done = data.progress >= _HISTORY_DONE
    chats: list[HistoryChat] = []
    messages: list[HistoryMessage] = []
    identities = _identities(data)
    for conversation in data.conversations:
        if not conversation.ID or conversation.ID in _NOT_CHATS:
            continue
        chats.append(_history_chat(conversation))
        for item in conversation.messages:
            message = _history_message(conversation.ID, item.message, own_jid)
            if message is None:
                continue
            messages.append(message)
            if len(messages) == batch_size:
                yield HistoryBatch(tuple(chats), tuple(messages), identities)
                chats, messages, identities = [], [], ()
    if chats or messages or identities or done:
        yield HistoryBatch(tuple(chats), tuple(messages), identities, final=done)


def chat_read_from(event: Any) -> ChatRead | None:
    """This account read a chat on another device (a `READ_SELF` receipt)."""
    if event.Type != neonize_proto.Receipt.READ_SELF:
        return None
    return ChatRead(chat_jid=jid_text(event.MessageSource.Chat), timestamp=_timestamp(event.Timestamp))

