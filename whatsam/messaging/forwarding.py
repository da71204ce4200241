"""`{type: "forward", message_id}`: a stored message's content, sent again with WhatsApp's
"Forwarded" label. The content comes from the log: a message this session sent keeps its request's
content (its media in the media bucket, or its URL), one it received keeps its text, media (copied
to the media bucket when it arrived) and details. Messages that are not content (reactions, edits,
revokes, votes) and polls (their votes would not reach this session) cannot be forwarded."""

from __future__ import annotations

from typing import Any

from whatsam.errors import Conflict, Unprocessable
from whatsam.messaging.record import MessageRecord

# What each forwardable type keeps of a sent message's payload (not its quote, mentions or target).
_CONTENT_KEYS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "image": ("media", "caption"),
    "video": ("media", "caption"),
    "audio": ("media", "voice_note"),
    "document": ("media", "caption"),
    "sticker": ("media",),
    "location": ("latitude", "longitude", "name", "address"),
    "contact": ("display_name", "vcard"),
}
FORWARDABLE_TYPES = frozenset(_CONTENT_KEYS)


def forwarded_content(source: MessageRecord) -> tuple[str, dict[str, Any]]:
    """(type, payload) of the message that forwards `source`; a 409 or 422 when it cannot be."""
    if source.revoked:
        raise Conflict("The message was deleted for everyone; it cannot be forwarded.", code="message_revoked",
                       details={"message_id": source.message_id})
    if source.type not in FORWARDABLE_TYPES:
        raise Unprocessable(f"A {source.type} message cannot be forwarded.", code="not_forwardable",
                            details={"message_id": source.message_id, "type": source.type})
    content = _sent_content(source) if source.direction == "out" else _received_content(source)
    if source.type in ("image", "video", "audio", "document", "sticker") and not content.get("media"):
        raise Unprocessable("The message's media is not stored, so it cannot be forwarded.",
                            code="media_unavailable", details={"message_id": source.message_id})
    return source.type, {**content, "forwarded": True, "forwarded_from": source.message_id}


def _sent_content(source: MessageRecord) -> dict[str, Any]:
    return {key: source.payload[key] for key in _CONTENT_KEYS[source.type] if source.payload.get(key) is not None}


def _received_content(source: MessageRecord) -> dict[str, Any]:
    payload, details = source.payload, source.payload.get("details") or {}
    kind = source.type
    if kind == "text":
        return {"text": payload.get("text") or ""}
    if kind == "location":
        location = details.get("location") or {}
        return {key: location[key] for key in _CONTENT_KEYS[kind] if location.get(key) is not None}
    if kind == "contact":
        card = (details.get("contacts") or [{}])[0]
        return {"display_name": card.get("display_name") or "Contact", "vcard": card.get("vcard") or ""}
    media_details = details.get("media") or {}
    content: dict[str, Any] = {"media": payload.get("media")}
    if media_details.get("caption"):
        content["caption"] = media_details["caption"]
    if kind == "audio" and media_details.get("voice_note"):
        content["voice_note"] = True
    return content
