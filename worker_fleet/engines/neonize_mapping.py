"""Translation between neonize's protobuf events and the engine's events.

Pure functions over neonize's own message types, so the mapping rules live in one place and the
client module only deals with the connection lifecycle.

Facts about neonize 0.5.2 these rules rely on (from its Go encoder, goneonize/utils/encoder.go):
- `MessageInfo.Timestamp` is in milliseconds, `Receipt.Timestamp` and `SendResponse.Timestamp`
  in seconds, `TemporaryBan.Expire` in seconds;
- `PairStatus` carries no LID; the LID arrives in the `Device` event neonize stores as
  `client.me` before it dispatches anything else;
- a message's `Sender` is a phone-number JID or a LID depending on the chat's addressing mode,
  and `SenderAlt` holds the other one when WhatsApp sent it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from worker_fleet.engines.base import (
    EngineError,
    LoggedOut,
    MessageKind,
    MessageReceived,
    PairSuccess,
    Receipt,
    ReceiptKind,
    TemporaryBan,
    split_jid,
)
from worker_fleet.engines.neonize_runtime import (
    Jid2String,
    JIDToNonAD,
    MessageToDict,
    extract_text,
    neonize_proto,
    wa_e2e,
)

PHONE_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
GROUP_SERVER = "g.us"

# Anything above this cannot be seconds since 1970 for the next few thousand years, so it is milliseconds.
_MILLISECONDS_THRESHOLD = 10**11

_KIND_BY_FIELD: tuple[tuple[str, MessageKind], ...] = (
    ("conversation", "text"),
    ("extendedTextMessage", "text"),
    ("imageMessage", "image"),
    ("videoMessage", "video"),
    ("ptvMessage", "video"),
    ("audioMessage", "audio"),
    ("documentMessage", "document"),
    ("documentWithCaptionMessage", "document"),
    ("stickerMessage", "sticker"),
    ("locationMessage", "location"),
    ("liveLocationMessage", "location"),
    ("contactMessage", "contact"),
    ("contactsArrayMessage", "contact"),
    ("pollCreationMessage", "poll"),
    ("pollCreationMessageV2", "poll"),
    ("pollCreationMessageV3", "poll"),
    ("pollUpdateMessage", "poll_vote"),
    ("reactionMessage", "reaction"),
    ("protocolMessage", "protocol"),
)

_RECEIPT_KINDS: dict[int, ReceiptKind] = {
    neonize_proto.Receipt.DELIVERED: "delivered",
    neonize_proto.Receipt.READ: "read",
    neonize_proto.Receipt.PLAYED: "played",
}


def jid_from_text(value: str) -> Any:
    """A neonize JID from ``user[.agent][:device]@server``."""
    user, server = split_jid(value)
    agent = device = 0
    try:
        if ":" in user:
            user, device_text = user.split(":", 1)
            device = int(device_text)
        if "." in user and server in (PHONE_SERVER, LID_SERVER):
            user, agent_text = user.split(".", 1)
            agent = int(agent_text)
    except ValueError as exc:
        raise EngineError(f"not a JID: {value!r}") from exc
    return neonize_proto.JID(User=user, Server=server, Device=device, RawAgent=agent, Integrator=0, IsEmpty=False)


def jid_text(jid: Any, *, keep_device: bool = False) -> str:
    return str(Jid2String(jid if keep_device else JIDToNonAD(jid)))


def _is_set(jid: Any) -> bool:
    return bool(jid.User) and bool(jid.Server)


def _timestamp(raw: int) -> datetime:
    seconds = raw / 1000 if raw > _MILLISECONDS_THRESHOLD else raw
    return datetime.fromtimestamp(seconds, UTC)


def pair_success_from(status: Any, me: Any | None) -> PairSuccess:
    lid = me.LID if me is not None and me.HasField("LID") and _is_set(me.LID) else None
    return PairSuccess(
        phone=status.ID.User,
        jid=jid_text(status.ID, keep_device=True),
        lid=jid_text(lid) if lid is not None else None,
        platform=status.Platform or None,
    )


def sender_phone_and_lid(source: Any) -> tuple[str | None, str | None]:
    """The sender's phone number (digits) and LID JID, from whichever of Sender/SenderAlt has each."""
    phone: str | None = None
    lid: str | None = None
    for jid in (source.Sender, source.SenderAlt):
        if not _is_set(jid):
            continue
        if jid.Server == PHONE_SERVER and phone is None:
            phone = jid.User
        elif jid.Server == LID_SERVER and lid is None:
            lid = jid_text(jid)
    return phone, lid


def message_kind(message: Any) -> MessageKind:
    for field_name, kind in _KIND_BY_FIELD:
        if message.HasField(field_name):
            if kind == "protocol":
                return _protocol_kind(message.protocolMessage)
            return kind
    return "unknown"


def _protocol_kind(protocol: Any) -> MessageKind:
    if protocol.type == wa_e2e.ProtocolMessage.REVOKE:
        return "revoke"
    if protocol.type == wa_e2e.ProtocolMessage.MESSAGE_EDIT:
        return "edit"
    return "protocol"


def message_text(message: Any, kind: MessageKind) -> str | None:
    if kind == "reaction":
        text = message.reactionMessage.text
    elif kind == "poll":
        poll = next(
            getattr(message, name)
            for name in ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3")
            if message.HasField(name)
        )
        text = poll.name
    elif kind == "edit":
        text = extract_text(message.protocolMessage.editedMessage)
    else:
        text = extract_text(message)
    return text or None


def message_received_from(event: Any) -> MessageReceived:
    info = event.Info
    source = info.MessageSource
    phone, lid = sender_phone_and_lid(source)
    kind = message_kind(event.Message)
    return MessageReceived(
        message_id=info.ID,
        chat_jid=jid_text(source.Chat),
        sender_jid=jid_text(source.Sender),
        sender_phone=phone,
        sender_lid=lid,
        timestamp=_timestamp(info.Timestamp),
        is_from_me=source.IsFromMe,
        is_group=source.IsGroup,
        kind=kind,
        text=message_text(event.Message, kind),
        raw={
            "info": MessageToDict(info, preserving_proto_field_name=True),
            "message": MessageToDict(event.Message, preserving_proto_field_name=True),
            "is_ephemeral": event.IsEphemeral,
            "is_view_once": event.IsViewOnce or event.IsViewOnceV2,
            "is_edit": event.IsEdit,
        },
    )


def receipt_from(event: Any) -> Receipt | None:
    """The receipt, or None for kinds the gateway does not report (own-device, retry, history...)."""
    kind = _RECEIPT_KINDS.get(event.Type)
    if kind is None or not event.MessageIDs:
        return None
    return Receipt(
        message_ids=tuple(event.MessageIDs),
        chat_jid=jid_text(event.MessageSource.Chat),
        kind=kind,
        timestamp=_timestamp(event.Timestamp),
    )


def logged_out_from(event: Any) -> LoggedOut:
    reason = neonize_proto.ConnectFailureReason.Name(event.Reason).lower() if event.HasField("Reason") else "logged_out"
    return LoggedOut(reason=f"{reason}_on_connect" if event.OnConnect else reason)


def temporary_ban_from(event: Any) -> TemporaryBan:
    code = neonize_proto.TemporaryBan.TempBanReason.Name(event.Code).lower() if event.HasField("Code") else "unknown"
    return TemporaryBan(code=code, expires_in=float(event.Expire) if event.Expire > 0 else None)


def connect_failure_reason(event: Any) -> str:
    reason = neonize_proto.ConnectFailureReason.Name(event.Reason).lower() if event.HasField("Reason") else "unknown"
    return f"connect_failure:{reason}" + (f": {event.Message}" if event.Message else "")
