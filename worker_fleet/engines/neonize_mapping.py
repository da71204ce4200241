"""Translation between neonize's protobuf events and the engine's events.

Pure functions over neonize's own message types, so the mapping rules live in one place and the
client module only deals with the connection lifecycle.

Facts about neonize 0.5.2 these rules rely on (from its Go encoder, goneonize/utils/encoder.go):
- `MessageInfo.Timestamp` is in milliseconds, `Receipt.Timestamp` and `SendResponse.Timestamp`
  in seconds, `TemporaryBan.Expire` in seconds;
- `PairStatus` carries no LID; the LID arrives in the `Device` event neonize stores as
  `client.me` before it dispatches anything else;
- a message's `Sender` is a phone-number JID or a LID depending on the chat's addressing mode,
  and `SenderAlt` holds the other one when WhatsApp sent it;
- whatsmeow unwraps ephemeral, view-once, document-with-caption and edit wrappers before the event
  reaches Python (and says so in `IsEphemeral`, `IsViewOnce`, `IsDocumentWithCaption`, `IsEdit`);
  `content_of` unwraps again, so a message that still carries one maps the same way;
- reaction and revoke keys are written from the reacting or revoking author's side: `fromMe` means
  "the author of this reaction wrote the target", not "this account did".
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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
    NeonizeError,
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

_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
    "deviceSentMessage",
)
_MAX_UNWRAP = 4
_POLL_FIELDS = ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3")

# The media fields whatsmeow's DownloadAny knows, and what an absent MIME type means for each.
_MEDIA_FIELDS: dict[str, tuple[MessageKind, str]] = {
    "imageMessage": ("image", "image/jpeg"),
    "videoMessage": ("video", "video/mp4"),
    "ptvMessage": ("video", "video/mp4"),
    "audioMessage": ("audio", "audio/ogg"),
    "documentMessage": ("document", "application/octet-stream"),
    "stickerMessage": ("sticker", "image/webp"),
}
# Key material and thumbnails stay out of the descriptor kept for downloads.
_DOWNLOAD_FIELDS = frozenset(
    {"URL", "directPath", "mediaKey", "fileEncSHA256", "fileSHA256", "fileLength", "mimetype", "fileName"}
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


def content_of(message: Any) -> Any:
    """The message inside any ephemeral, view-once, caption, edit or device-sent wrappers."""
    for _ in range(_MAX_UNWRAP):
        wrapper = next((name for name in _WRAPPERS if message.HasField(name)), None)
        if wrapper is None or not getattr(message, wrapper).HasField("message"):
            break
        message = getattr(message, wrapper).message
    return message


def message_kind(message: Any) -> MessageKind:
    message = content_of(message)
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
    message = content_of(message)
    if kind == "reaction":
        text = message.reactionMessage.text
    elif kind == "poll":
        text = _poll_of(message).name
    elif kind == "edit":
        text = extract_text(content_of(message.protocolMessage.editedMessage))
    else:
        text = extract_text(message)
    return text or None


@dataclass(frozen=True, slots=True)
class Downloadable:
    """What `download_any` needs to fetch an inbound message's media, and how to label it."""

    message: Any  # a waE2E Message holding only the media part, without thumbnails
    mimetype: str
    filename: str | None


def downloadable_from(message: Any) -> Downloadable | None:
    """The media descriptor of an image, video, audio, document or sticker message."""
    found = _media_part(content_of(message))
    if found is None:
        return None
    field_name, part = found
    if not part.directPath and not part.URL:
        return None
    kept = type(part)()
    for descriptor, value in part.ListFields():
        if descriptor.name in _DOWNLOAD_FIELDS:
            setattr(kept, descriptor.name, value)
    # whatsmeow's DownloadAny knows no ptvMessage; a video note is a VideoMessage all the same.
    target = "videoMessage" if field_name == "ptvMessage" else field_name
    holder = wa_e2e.Message()
    getattr(holder, target).CopyFrom(kept)
    filename = part.fileName if field_name == "documentMessage" and part.fileName else None
    return Downloadable(holder, part.mimetype or _MEDIA_FIELDS[field_name][1], filename)


def message_received_from(event: Any, own: Any | None = None) -> MessageReceived:
    """The engine event for a neonize Message event; `own` is the session's Device (`client.me`),
    used to tell whether reactions and revokes refer to this account's messages."""
    info = event.Info
    source = info.MessageSource
    phone, lid = sender_phone_and_lid(source)
    content = content_of(event.Message)
    kind = message_kind(content)
    chat_jid = jid_text(source.Chat)
    sender_jid = jid_text(source.Sender)
    own_jid, own_users = _own_identity(own)
    context = _Context(chat_jid=chat_jid, actor_jid=sender_jid, actor_is_me=source.IsFromMe,
                       is_group=source.IsGroup, own_jid=own_jid, own_users=own_users)
    return MessageReceived(
        message_id=info.ID,
        chat_jid=chat_jid,
        sender_jid=sender_jid,
        sender_phone=phone,
        sender_lid=lid,
        timestamp=_timestamp(info.Timestamp),
        is_from_me=source.IsFromMe,
        is_group=source.IsGroup,
        kind=kind,
        text=message_text(content, kind),
        raw={
            "info": proto_dict(info),
            "message": proto_dict(event.Message),
            "is_ephemeral": event.IsEphemeral,
            "is_view_once": event.IsViewOnce or event.IsViewOnceV2,
            "is_edit": event.IsEdit,
            **message_details(content, kind, context),
        },
    )


def proto_dict(message: Any) -> dict[str, Any]:
    """A protobuf as a JSON-safe dict, without its bytes fields (keys, hashes, thumbnails)."""
    copy = type(message)()
    copy.CopyFrom(message)
    _clear_bytes(copy)
    return dict(MessageToDict(copy, preserving_proto_field_name=True))


@dataclass(frozen=True, slots=True)
class _Context:
    chat_jid: str
    actor_jid: str  # who wrote the message being mapped
    actor_is_me: bool
    is_group: bool
    own_jid: str | None
    own_users: Collection[str]


def message_details(content: Any, kind: MessageKind, context: _Context) -> dict[str, Any]:
    """The `raw` keys described on `MessageReceived`, for an unwrapped message."""
    details: dict[str, Any] = {}
    quote = _quote_of(content)
    if quote is not None:
        details["quote"] = quote
    media = _media_part(content)
    if media is not None:
        details["media"] = _media_details(*media)
    if kind == "location":
        details["location"] = _location_details(content)
    elif kind == "contact":
        if content.HasField("contactMessage"):
            cards = [content.contactMessage]
        else:
            cards = list(content.contactsArrayMessage.contacts)
        details["contacts"] = [{"display_name": card.displayName, "vcard": card.vcard} for card in cards]
    elif kind == "poll":
        poll = _poll_of(content)
        details["poll"] = {
            "name": poll.name,
            "options": [option.optionName for option in poll.options],
            "selectable_count": poll.selectableOptionsCount,
        }
    elif kind == "poll_vote":
        details["poll_vote"] = {"poll_id": content.pollUpdateMessage.pollCreationMessageKey.ID}
    elif kind == "reaction":
        reaction = content.reactionMessage
        details["reaction"] = {"target": _target(reaction.key, context), "emoji": reaction.text}
    elif kind == "edit":
        protocol = content.protocolMessage
        new_text = extract_text(content_of(protocol.editedMessage))
        details["edit"] = {"target_id": protocol.key.ID, "text": new_text or None}
    elif kind == "revoke":
        details["revoke"] = {"target": _target(content.protocolMessage.key, context)}
    return details


def _media_part(message: Any) -> tuple[str, Any] | None:
    for field_name in _MEDIA_FIELDS:
        if message.HasField(field_name):
            return field_name, getattr(message, field_name)
    return None


def _media_details(field_name: str, part: Any) -> dict[str, Any]:
    kind, default_mimetype = _MEDIA_FIELDS[field_name]
    details: dict[str, Any] = {"mimetype": part.mimetype or default_mimetype, "file_length": part.fileLength}
    if field_name == "documentMessage":
        details["filename"] = part.fileName or None
    if kind in ("image", "video", "document") and part.caption:
        details["caption"] = part.caption
    if kind in ("video", "audio") and part.seconds:
        details["seconds"] = part.seconds
    if kind == "audio":
        details["voice_note"] = part.PTT
    if kind == "sticker":
        details["animated"] = part.isAnimated
    if kind in ("image", "video", "sticker") and part.width and part.height:
        details["width"], details["height"] = part.width, part.height
    return details


def _location_details(message: Any) -> dict[str, Any]:
    if message.HasField("locationMessage"):
        location = message.locationMessage
        return {
            "latitude": location.degreesLatitude,
            "longitude": location.degreesLongitude,
            "name": location.name or None,
            "address": location.address or None,
            "live": location.isLive,
        }
    live = message.liveLocationMessage
    return {"latitude": live.degreesLatitude, "longitude": live.degreesLongitude, "name": live.caption or None,
            "address": None, "live": True}


def _poll_of(message: Any) -> Any:
    return next(getattr(message, name) for name in _POLL_FIELDS if message.HasField(name))


def _quote_of(message: Any) -> dict[str, Any] | None:
    for descriptor, part in message.ListFields():
        if descriptor.message_type is None or descriptor.is_repeated:
            continue
        if "contextInfo" in descriptor.message_type.fields_by_name and part.HasField("contextInfo"):
            context = part.contextInfo
            if context.stanzaID:
                return {"message_id": context.stanzaID, "sender_jid": _jid_or_none(context.participant)}
    return None


def _target(key: Any, context: _Context) -> dict[str, Any]:
    """The message a reaction or revoke key names, seen from this account."""
    if key.fromMe:  # the reaction's (or revoke's) author wrote it
        return {"message_id": key.ID, "sender_jid": context.actor_jid, "from_me": context.actor_is_me}
    if key.participant:
        author = _jid_or_none(key.participant)
        return {"message_id": key.ID, "sender_jid": author,
                "from_me": author is not None and split_jid(author)[0] in context.own_users}
    if context.is_group:
        return {"message_id": key.ID, "sender_jid": None, "from_me": False}
    # One-to-one: the other side of the conversation, as seen by the author.
    if context.actor_is_me:
        return {"message_id": key.ID, "sender_jid": context.chat_jid, "from_me": False}
    return {"message_id": key.ID, "sender_jid": context.own_jid, "from_me": True}


def _own_identity(own: Any | None) -> tuple[str | None, frozenset[str]]:
    if own is None:
        return None, frozenset()
    own_jid = jid_text(own.JID) if own.HasField("JID") and _is_set(own.JID) else None
    users = {jid.User for jid in (own.JID, own.LID) if _is_set(jid)}
    return own_jid, frozenset(users)


def _jid_or_none(value: str) -> str | None:
    if not value:
        return None
    try:
        return jid_text(jid_from_text(value))
    except (EngineError, NeonizeError):
        return value


def _clear_bytes(message: Any) -> None:
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_BYTES:
            message.ClearField(descriptor.name)
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            if descriptor.message_type.GetOptions().map_entry:
                continue
            for item in value if descriptor.is_repeated else (value,):
                _clear_bytes(item)


def receipt_from(event: Any) -> Receipt | None:
    """The receipt, or None for kinds the gateway does not report (own-device, retry, history...)."""
    kind = _RECEIPT_KINDS.get(event.Type)
    if kind is None or not event.MessageIDs:
        return None
    phone, lid = sender_phone_and_lid(event.MessageSource)
    return Receipt(
        message_ids=tuple(event.MessageIDs),
        chat_jid=jid_text(event.MessageSource.Chat),
        kind=kind,
        timestamp=_timestamp(event.Timestamp),
        sender_phone=phone,
        sender_lid=lid,
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
