"""Events: what workers report, on the events queue (or POST /v1/internal/events).

Every event carries a per-session sequence number. Workers derive it from the lease's
fencing number (`seq = fence << 32 | counter`), so a new lease holder's events always
sort after an old holder's and a stale event can be recognised without coordination."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from whatsam.contracts.base import Message
from whatsam.contracts.chats import HistoryChatInfo, HistoryMessageInfo, PhoneLidPair
from whatsam.contracts.groups import Group, GroupMember

SEQ_COUNTER_BITS = 32


def make_seq(fence: int, counter: int) -> int:
    return (fence << SEQ_COUNTER_BITS) | counter


def closing_seq(fence: int) -> int:
    """The last seq of a lease grant: an event numbered so ends it, and any later event of that
    holder (still in a queue when it died) is stale; the next grant's events are newer."""
    return make_seq(fence, (1 << SEQ_COUNTER_BITS) - 1)


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


SessionState = Literal["connecting", "reconnecting", "qr", "connected", "disconnected", "logged_out", "failed",
                       "banned"]


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


class MediaInfo(Message):
    """Media stored in the media bucket; links are presigned when read, never stored."""

    key: str
    mimetype: str
    size: int
    filename: str | None = None


# `message.played`: a voice or video note was played (after `message.read`).
MessageStatusKind = Literal["message.sent", "message.delivered", "message.read", "message.played", "message.failed"]


class MessageStatusEvent(Event):
    """What became of a message this session sent. `wa_id` is WhatsApp's id of it; receipts
    name only that, and ingestion finds our `message_id` from it."""

    type: MessageStatusKind
    message_id: str | None = None
    wa_id: str | None = None
    chat_jid: str
    error: str | None = None
    # Receipts: who acknowledged, by phone (E.164 digits) and LID wherever the session knows them.
    phone: str | None = None
    lid: str | None = None


class _Received(Event):
    """What a received message and a received status share: who wrote it, where known with the
    sender's phone (PN) and LID, and what it holds."""

    message_id: str
    wa_id: str
    sender_jid: str
    sender_phone: str | None = None
    sender_lid: str | None = None
    is_from_me: bool = False
    kind: str
    text: str | None = None
    timestamp: datetime
    media: MediaInfo | None = None
    # Type-specific details (caption, location, vcard, poll, reaction/edit target, quoted id).
    details: dict[str, Any] = Field(default_factory=dict)


class MessageReceivedEvent(_Received):
    """A message in one of the session's chats (`chat_jid`), written by a contact or by this account
    on another device."""

    type: Literal["message.received"] = "message.received"
    chat_jid: str
    is_group: bool = False


class MessageRevokedEvent(Event):
    type: Literal["message.revoked"] = "message.revoked"
    wa_id: str
    chat_jid: str
    sender_jid: str | None = None


class StatusReceivedEvent(_Received):
    """A contact posted a status (story) this session can see (or this account posted one from
    another device: `is_from_me`). `kind` is text, image or video; `text` the text or caption."""

    type: Literal["status.received"] = "status.received"


class GroupJoinedEvent(Event):
    """The session became a member of `group`: it created it, was added (`by`), or joined by invite."""

    type: Literal["group.joined"] = "group.joined"
    group: Group
    by: GroupMember | None = None
    reason: str | None = None


class GroupUpdatedEvent(Event):
    """The group's info changed: `changes` holds the new values (subject, description, announce,
    locked, join_approval, picture, invite_link_reset, linked_group, unlinked_group, deleted)."""

    type: Literal["group.updated"] = "group.updated"
    group_jid: str
    changes: dict[str, Any]
    by: GroupMember | None = None


class GroupParticipantsEvent(Event):
    """Members joined, left, or were promoted or demoted (`action`), by `by` where known."""

    type: Literal["group.participants"] = "group.participants"
    group_jid: str
    action: Literal["join", "leave", "promote", "demote"]
    participants: list[GroupMember]
    by: GroupMember | None = None


class GroupLeftEvent(Event):
    """The session is no longer a member: it left, was removed (`by`), or the group was deleted."""

    type: Literal["group.left"] = "group.left"
    group_jid: str
    by: GroupMember | None = None
    reason: str | None = None


class ChatReadEvent(Event):
    """The account read a chat on another device (its phone): its unread count is 0."""

    type: Literal["chat.read"] = "chat.read"
    chat_jid: str
    read_at: datetime


class HistoryBatchEvent(Event):
    """A piece of the history the phone sent after linking, already filtered by the session's
    `history_sync` setting. Stored by ingestion, never journaled nor delivered as news."""

    type: Literal["history.batch"] = "history.batch"
    # The sync it belongs to (the worker's id for it) and its number in it, from 0.
    sync_id: str
    index: int
    chats: list[HistoryChatInfo] = Field(default_factory=list)
    messages: list[HistoryMessageInfo] = Field(default_factory=list)
    identities: list[PhoneLidPair] = Field(default_factory=list)


# Plumbing between the worker and ingestion, never news a customer can subscribe to.
INTERNAL_EVENT_TYPES = frozenset({"history.batch"})


class SessionHistorySyncedEvent(Event):
    """The history sync after linking is stored: how many chats and messages it brought."""

    type: Literal["session.history_synced"] = "session.history_synced"
    chats: int
    messages: int
    # Announced once ingestion stored all `batches` history batches of sync `sync_id`.
    sync_id: str
    batches: int


GroupEvent = GroupJoinedEvent | GroupUpdatedEvent | GroupParticipantsEvent | GroupLeftEvent


class PresenceUpdatedEvent(Event):
    """A contact the session subscribed to (`POST /v1/contacts/{contact}/presence/subscribe`)
    came online or went away; `last_seen` where the contact shares it."""

    type: Literal["presence.updated"] = "presence.updated"
    chat: str
    state: Literal["available", "unavailable"]
    last_seen: datetime | None = None


class ChatPresenceEvent(Event):
    """Someone (`participant`) is typing, recording a voice note, or stopped, in `chat`."""

    type: Literal["chat.presence"] = "chat.presence"
    chat: str
    participant: str
    state: Literal["composing", "recording", "paused"]


class _CallEvent(Event):
    # `from` is a Python keyword: the field is `caller`, on the wire `from`.
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    call_id: str
    caller: str = Field(validation_alias="from", serialization_alias="from", description="Who calls")


class CallReceivedEvent(_CallEvent):
    """A call rings (`POST /v1/calls/{call_id}/reject` rejects it while it does)."""

    type: Literal["call.received"] = "call.received"
    video: bool = False
    group: bool = False


class CallEndedEvent(_CallEvent):
    """A call stopped ringing: `reason` ``rejected`` when this session rejected it."""

    type: Literal["call.ended"] = "call.ended"
    reason: str | None = None


ContactEvent = PresenceUpdatedEvent | ChatPresenceEvent | CallReceivedEvent | CallEndedEvent

AnyEvent = Annotated[
    SessionStatusEvent | SessionQrEvent | MessageStatusEvent | MessageReceivedEvent | MessageRevokedEvent
    | StatusReceivedEvent | GroupJoinedEvent | GroupUpdatedEvent | GroupParticipantsEvent | GroupLeftEvent
    | PresenceUpdatedEvent | ChatPresenceEvent | CallReceivedEvent | CallEndedEvent | ChatReadEvent
    | HistoryBatchEvent | SessionHistorySyncedEvent,
    Field(discriminator="type"),
]

_event_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def decode_event(raw: str | bytes) -> AnyEvent:
    """Parse an events-queue body; raises pydantic.ValidationError on a bad one."""
    return _event_adapter.validate_json(raw)


def event_from_dict(data: object) -> AnyEvent:
    return _event_adapter.validate_python(data)
