"""Commands: requests for a worker to act, sent on the connect queue or a worker's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from whatsam.contracts.base import Message
from whatsam.contracts.groups import GroupOperation, ParticipantAction


class ConnectSession(Message):
    """Ask any worker with free capacity to claim the session's lease and open its socket."""

    type: Literal["session.connect"] = "session.connect"
    session_id: str
    tenant_id: str
    # The card's status version when the connect was asked for, so a worker can drop a
    # command that a later disconnect or delete has overtaken.
    status_version: int
    requested_at: datetime
    # Sent through the holding worker's inbox, behind the disconnect or logout it follows:
    # that command's own status change must not make this connect look overtaken.
    via_holder: bool = False


class SessionCommand(Message):
    """A command for the worker that holds the session's lease, sent to that worker's inbox."""

    session_id: str
    tenant_id: str


class DisconnectSession(SessionCommand):
    """Close the socket and keep the credentials; the session can connect again without a scan."""

    type: Literal["session.disconnect"] = "session.disconnect"


class LogoutSession(SessionCommand):
    """Unlink the device and forget the credentials."""

    type: Literal["session.logout"] = "session.logout"


class RestartSession(SessionCommand):
    type: Literal["session.restart"] = "session.restart"


class RequestPairingCode(SessionCommand):
    """Ask for a phone-number pairing code; the worker answers on the Redis reply list `reply_to`."""

    type: Literal["session.pairing_code"] = "session.pairing_code"
    phone: str
    reply_to: str


class DevScan(SessionCommand):
    """Dev only: the simulated phone scans the session's current QR."""

    type: Literal["dev.scan"] = "dev.scan"


class DevInbound(SessionCommand):
    """Dev only: a simulated contact writes to the session."""

    type: Literal["dev.inbound"] = "dev.inbound"
    from_phone: str
    text: str
    # The WhatsApp id the simulated message gets, chosen by the API so that it can name the
    # message (whatsam.messaging.record.inbound_message_id) before the worker has stored it.
    wa_id: str | None = None
    # Optional media as an S3 key in the media bucket (the dev route uploads it first).
    media_key: str | None = None
    media_mimetype: str | None = None


class SendPending(SessionCommand):
    """Messages were accepted for the session: send what is pending, in the order accepted.

    The message itself lives in the message log, not in the command: a redelivered or
    re-routed command is only a wake-up, and the log's state machine sends each message once."""

    type: Literal["message.send"] = "message.send"
    message_id: str


class MarkRead(SessionCommand):
    type: Literal["chat.read"] = "chat.read"
    chat_jid: str
    message_ids: list[str]
    sender_jid: str | None = None


class SendPresence(SessionCommand):
    type: Literal["chat.presence"] = "chat.presence"
    chat_jid: str
    state: Literal["composing", "recording", "paused"]


class GroupRequest(SessionCommand):
    """A group or community call for the session's engine (see `contracts.groups`); the worker
    answers a `EngineReply` on the Redis reply list `reply_to`. Only the fields the
    operation needs are set; a picture travels as a key in the media bucket."""

    type: Literal["group.request"] = "group.request"
    operation: GroupOperation
    reply_to: str
    group_jid: str | None = None
    community_jid: str | None = None
    subject: str | None = None
    description: str | None = None
    announce: bool | None = None
    locked: bool | None = None
    join_approval: bool | None = None
    community: bool = False
    action: ParticipantAction | None = None
    participants: list[str] = []
    approve: bool | None = None
    invite: str | None = None
    picture_key: str | None = None


class EngineCall(SessionCommand):
    """One operation on the session's engine, named in the worker's allowlist
    (`worker_fleet.engine_calls.OPERATIONS`), with its keyword arguments as JSON values; the
    worker answers an `EngineReply` on the Redis reply list `reply_to`."""

    type: Literal["engine.call"] = "engine.call"
    operation: str
    args: dict[str, Any] = {}
    reply_to: str


class DevSimulateGroup(SessionCommand):
    """Dev only: someone else acts in one of the simulated session's groups (see
    `simulated_group_others`); the worker answers on `reply_to`."""

    type: Literal["dev.simulate_group"] = "dev.simulate_group"
    kind: str
    reply_to: str
    group_jid: str | None = None
    phone: str | None = None
    subject: str | None = None
    participants: list[str] = []
    text: str | None = None


Command = Annotated[
    ConnectSession | DisconnectSession | LogoutSession | RestartSession | RequestPairingCode | DevScan | DevInbound
    | SendPending | MarkRead | SendPresence | GroupRequest | EngineCall | DevSimulateGroup,
    Field(discriminator="type"),
]

_command_adapter: TypeAdapter[Command] = TypeAdapter(Command)


def decode_command(raw: str | bytes) -> Command:
    """Parse a queue body into its command; raises pydantic.ValidationError on a bad body."""
    return _command_adapter.validate_json(raw)
