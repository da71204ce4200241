"""What events do to the chat list (spec §3.9), for `EventIngestion`: a message moves its chat to
the top (and, from a contact, adds one unread), a read empties the unread count, and a history
batch stores old chats and messages marked `source: "history"`.

A message counts once: only when the message log took it for the first time (its id is
derived from WhatsApp's, so a redelivered event, or a message seen live and again in history,
is one record). History is not billed as received messages and is never news: no webhook.

Phone↔LID pairs named by history go to the identity map (`IdentityMap.learn`), when there is one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whatsam.adapters.chats import ChatRepository, LastMessage, preview_of
from whatsam.adapters.identity_map import IdentityMap
from whatsam.adapters.messages import MessageRepository
from whatsam.contracts.chats import HistoryMessageInfo
from whatsam.contracts.events import ChatReadEvent, Event, HistoryBatchEvent, MessageReceivedEvent
from whatsam.contracts.groups import Group
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import MessageStatus

# Kinds that change another message (or nothing visible): not a chat's last message, never unread.
_NOT_IN_CHAT_LIST = frozenset({"reaction", "edit", "revoke", "protocol", "poll_vote"})


def history_record(session_id: str, tenant_id: str, message: HistoryMessageInfo) -> MessageRecord:
    payload: dict[str, Any] = {
        "wa_id": message.wa_id, "sender_jid": message.sender_jid, "sender_phone": None, "sender_lid": None,
        "is_group": message.chat_jid.endswith("@g.us"), "is_from_me": message.from_me, "text": message.text,
        "details": {}, "media": None}
    return MessageRecord(message_id=message.message_id, session_id=session_id, tenant_id=tenant_id,
                         direction="out" if message.from_me else "in", chat_jid=message.chat_jid, type=message.kind,
                         payload=payload, status=MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                         created_at=message.timestamp, wa_id=message.wa_id, source="history")


class ChatIngestion:
    def __init__(self, chats: ChatRepository, messages: MessageRepository,
                 identities: IdentityMap | None = None):
        self._chats = chats
        self._messages = messages
        self._identities = identities

    def received(self, event: MessageReceivedEvent) -> None:
        """A message the log just took for the first time."""
        if event.kind in _NOT_IN_CHAT_LIST:
            return
        last = LastMessage(message_id=event.message_id, wa_id=event.wa_id, type=event.kind,
                           preview=preview_of(event.kind, event.text), from_me=event.is_from_me, at=event.timestamp)
        self._chats.record_message(event.session_id, event.tenant_id, event.chat_jid, last,
                                   unread=not event.is_from_me)
        if event.is_from_me:
            # Writing in a chat from the phone reads it there.
            self._chats.mark_read(event.session_id, event.tenant_id, event.chat_jid, event.timestamp)

    def sent(self, record: MessageRecord, at: datetime) -> None:
        """A message this session sent went out: its chat's last message if it is the newest."""
        if record.type in _NOT_IN_CHAT_LIST or not record.wa_id:
            return
        text = record.payload.get("text") or record.payload.get("caption")
        last = LastMessage(message_id=record.message_id, wa_id=record.wa_id, type=record.type,
                           preview=preview_of(record.type, text if isinstance(text, str) else None), from_me=True,
                           at=at)
        self._chats.record_message(record.session_id, record.tenant_id, record.chat_jid, last, unread=False)

    def group_named(self, event: Event, group: Group | None) -> None:
        """A group event: the group's chat is named as the session's group list now has it
        (which follows events in order, so an older event never renames it back)."""
        if group is not None and group.subject:
            self._chats.name(event.session_id, event.tenant_id, group.jid, group.subject)

    def read(self, event: ChatReadEvent) -> None:
        self._chats.mark_read(event.session_id, event.tenant_id, event.chat_jid, event.read_at)

    def history(self, event: HistoryBatchEvent) -> None:
        """Store a history batch; applying it twice stores nothing twice."""
        self._chats.apply_history(event.session_id, event.tenant_id, event.chats)
        newest: dict[str, HistoryMessageInfo] = {}
        for message in event.messages:
            self._messages.add(history_record(event.session_id, event.tenant_id, message))
            if message.kind in _NOT_IN_CHAT_LIST:
                continue
            known = newest.get(message.chat_jid)
            if known is None or (message.timestamp, message.wa_id) > (known.timestamp, known.wa_id):
                newest[message.chat_jid] = message
        for message in newest.values():
            last = LastMessage(message_id=message.message_id, wa_id=message.wa_id, type=message.kind,
                               preview=preview_of(message.kind, message.text), from_me=message.from_me,
                               at=message.timestamp)
            self._chats.record_message(event.session_id, event.tenant_id, message.chat_jid, last, unread=False)
        if event.identities and self._identities is not None:
            self._identities.learn(event.session_id, [(pair.phone_jid, pair.lid_jid) for pair in event.identities])
