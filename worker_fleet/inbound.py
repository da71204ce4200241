"""Inbound messages: an engine's `MessageReceived` becomes a `message.received` event (or
`message.revoked`; a post in ``status@broadcast`` a `status.received`), its media copied to the
media bucket so the API can hand out links."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from whatsam.contracts.events import MediaInfo, MessageReceivedEvent, MessageRevokedEvent, StatusReceivedEvent
from whatsam.messaging.media import MediaStore
from whatsam.messaging.record import inbound_message_id
from worker_fleet.engines.base import MessageReceived
from worker_fleet.engines.contacts import IdentityPair
from worker_fleet.engines.outgoing import Media

log = logging.getLogger("whatsam.inbound")

MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})
DETAIL_KEYS = ("media", "location", "contacts", "poll", "poll_vote", "reaction", "edit", "quote")
# Where WhatsApp delivers contacts' statuses (stories).
STATUS_BROADCAST = "status@broadcast"
InboundEvent = MessageReceivedEvent | MessageRevokedEvent | StatusReceivedEvent

ShardCall = Callable[..., Any]


class InboundMessages:
    def __init__(self, media: MediaStore, call: ShardCall):
        self._media = media
        self._call = call

    def to_event(self, envelope: dict[str, Any], message: MessageReceived) -> InboundEvent:
        session_id = envelope["session_id"]
        if message.kind == "revoke":
            target = (message.raw.get("revoke") or {}).get("target") or {}
            return MessageRevokedEvent(**envelope, wa_id=str(target.get("message_id") or message.message_id),
                                       chat_jid=message.chat_jid, sender_jid=target.get("sender_jid"))
        message_id = inbound_message_id(session_id, message.message_id)
        media = self._store_media(envelope, message_id, message) if message.kind in MEDIA_KINDS else None
        # The documented, typed parts only; the raw protobuf dicts stay out of webhooks.
        details = {k: message.raw[k] for k in DETAIL_KEYS if message.raw.get(k) is not None}
        phone, lid = self._sender_identities(session_id, message)
        if message.chat_jid == STATUS_BROADCAST:
            return StatusReceivedEvent(
                **envelope, message_id=message_id, wa_id=message.message_id, sender_jid=message.sender_jid,
                sender_phone=phone, sender_lid=lid, is_from_me=message.is_from_me,
                kind=message.kind, text=message.text, timestamp=message.timestamp, media=media, details=details)
        return MessageReceivedEvent(
            **envelope, message_id=message_id, wa_id=message.message_id, chat_jid=message.chat_jid,
            sender_jid=message.sender_jid, sender_phone=phone, sender_lid=lid,
            is_group=message.is_group, is_from_me=message.is_from_me, kind=message.kind, text=message.text,
            timestamp=message.timestamp, media=media, details=details)

    def _sender_identities(self, session_id: str, message: MessageReceived) -> tuple[str | None, str | None]:
        """The sender's phone and LID: from the message (WhatsApp's `SenderAlt`), else the one
        missing from the engine's own LID store (a local lookup in whatsmeow). Ingestion fills
        what is still missing from the session's identity map."""
        phone, lid = message.sender_phone, message.sender_lid
        if message.is_from_me or bool(phone) == bool(lid):
            return phone, lid
        try:
            pair: IdentityPair = (self._call("phone_of_lid", session_id, lid=lid) if lid
                                  else self._call("lid_of_phone", session_id, phone=phone))
        except Exception as exc:  # unknown to the store: the message still arrives with one identity
            log.debug("no other identity for %s: %s", lid or phone, exc)
            return phone, lid
        return pair.phone, pair.lid

    def _store_media(self, envelope: dict[str, Any], message_id: str, message: MessageReceived) -> MediaInfo | None:
        try:
            media: Media | None = self._call("download_media", envelope["session_id"], message=message)
        except Exception:
            # The message still arrives (its text, its kind); only its media link is missing.
            log.exception("downloading the media of %s failed", message.message_id)
            return None
        if media is None:
            return None
        key = self._media.inbound_key(envelope["tenant_id"], envelope["session_id"], message_id)
        self._media.put(key, media.data, media.mimetype)
        return MediaInfo(key=key, mimetype=media.mimetype, size=len(media.data), filename=media.filename)
