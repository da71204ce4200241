"""Accepting messages (POST /v1/messages) and reading them back.

A message is validated, its recipient normalised, its media stored, the recipient checked
against the anti-ban cap, and it is recorded `queued` with the next number of the session's
send order *before* the worker is told; the answer is 202. The worker sends from the log,
so nothing accepted depends on the command reaching it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from whatsam.adapters.cursors import decode_cursor, encode_cursor
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.config import Settings
from whatsam.contracts.commands import SendPending
from whatsam.domain.ids import new_id
from whatsam.domain.model import SessionCard, SessionStatus, User, utcnow
from whatsam.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from whatsam.messaging import recipients
from whatsam.messaging.forwarding import forwarded_content
from whatsam.messaging.media import MediaStore, StoredMedia, check_type, decode_base64
from whatsam.messaging.polls import tally
from whatsam.messaging.recipient_cap import RecipientCap
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.requests import (
    MEDIA_TYPES,
    MENTIONING_TYPES,
    TARGETING_TYPES,
    ContactMessage,
    EditMessage,
    ForwardMessage,
    MediaInput,
    SendMessageRequest,
)
from whatsam.messaging.status import MessageStatus
from whatsam.messaging.status_requests import STATUS_JID, StatusRequest, TextStatus, background_argb
from whatsam.metering.counters import Metric, UsageCounters
from whatsam.services.routing import CommandRouter

log = logging.getLogger(__name__)

_IDEMPOTENCY_KEY_MAX = 255


def idempotent_message_id(session_id: str, key: str) -> str:
    """The same Idempotency-Key on the same session always names the same message."""
    digest = hashlib.sha256(f"{session_id}\x00{key}".encode()).hexdigest()
    return f"msg_{digest[:25]}"


def request_fingerprint(request: BaseModel) -> str:
    return hashlib.sha256(json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


_HISTORY_CURSOR = ("before",)


def vcard_text(value: str) -> str:
    """A vCard text value (RFC 6350 §3.4): a line break, `,`, `;` or `\\` in it is data and
    cannot end the line or start another property."""
    escaped = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def vcard_for(name: str, phone_digits: str) -> str:
    return (f"BEGIN:VCARD\nVERSION:3.0\nFN:{vcard_text(name)}\n"
            f"TEL;type=CELL;type=VOICE;waid={phone_digits}:+{phone_digits}\nEND:VCARD")


# A session whose worker died is coming back on another one without a scan: what it is sent
# meanwhile waits in its outbox, which the next holder drains.
_ACCEPTS_SENDS = frozenset({SessionStatus.CONNECTED, SessionStatus.RECONNECTING})


class MessagingService:
    def __init__(self, settings: Settings, sessions: SessionRepository, messages: MessageRepository,
                 journal: JournalRepository, router: CommandRouter, media: MediaStore, recipient_cap: RecipientCap,
                 usage: UsageCounters):
        self._settings = settings
        self._sessions = sessions
        self._messages = messages
        self._journal = journal
        self._router = router
        self._media = media
        self._cap = recipient_cap
        self._usage = usage

    # ------------------------------------------------------------------ sending

    def accept(self, owner: User, session_id: str, request: SendMessageRequest,
               idempotency_key: str | None) -> MessageRecord:
        def content(card: SessionCard, message_id: str) -> tuple[str, str, dict[str, Any]]:
            chat_jid = recipients.to_jid(request.to)
            if isinstance(request, ForwardMessage):
                kind, payload = forwarded_content(self._source(card, request.message_id))
                return chat_jid, kind, payload
            return chat_jid, request.type, self._payload(card, request, message_id)

        return self._accept(owner, session_id, request, idempotency_key, content)

    def accept_status(self, owner: User, session_id: str, request: StatusRequest,
                      idempotency_key: str | None) -> MessageRecord:
        """A status (story) is a send to ``status@broadcast`` through the same outbox as messages."""
        def content(card: SessionCard, message_id: str) -> tuple[str, str, dict[str, Any]]:
            if isinstance(request, TextStatus):
                payload: dict[str, Any] = {"text": request.text, "status": {
                    "background_argb": background_argb(request.background_color), "font": request.font}}
                return STATUS_JID, "text", payload
            payload = {"media": self._store_media(card, request.type, request.media, message_id)}
            if request.caption:
                payload["caption"] = request.caption
            return STATUS_JID, request.type, payload

        return self._accept(owner, session_id, request, idempotency_key, content)

    def _accept(self, owner: User, session_id: str, request: BaseModel, idempotency_key: str | None,
                content: Callable[[SessionCard, str], tuple[str, str, dict[str, Any]]]) -> MessageRecord:
        card = self._sessions.get(session_id)
        if card is None:
            raise NotFound("No such session.", code="session_not_found")
        fingerprint = request_fingerprint(request)
        message_id = new_id("msg")
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= _IDEMPOTENCY_KEY_MAX or not idempotency_key.isprintable():
                raise ValidationFailed("`Idempotency-Key` must be 1 to 255 printable characters.",
                                       code="invalid_idempotency_key")
            message_id = idempotent_message_id(session_id, idempotency_key)
            earlier = self._messages.get(message_id)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
        if card.status not in _ACCEPTS_SENDS:
            raise Conflict("The session is not connected; connect it (and scan the QR code) first.",
                           code="session_not_connected", details={"status": card.status.value})
        chat_jid, kind, payload = content(card, message_id)
        if kind not in TARGETING_TYPES and recipients.is_person(chat_jid):
            self._cap.admit(session_id, owner.tier, chat_jid)
        record = MessageRecord(message_id=message_id, session_id=session_id, tenant_id=card.tenant_id,
                               direction="out", chat_jid=chat_jid, type=kind, payload=payload,
                               status=MessageStatus.QUEUED, created_at=utcnow(),
                               send_seq=self._sessions.next_send_seq(session_id), request_hash=fingerprint)
        if not self._messages.add(record):
            # The same Idempotency-Key raced us; the first one written is the answer.
            earlier = self._messages.get(message_id)
            assert earlier is not None
            return self._replay(earlier, fingerprint)
        # Counted here, once: replays of an Idempotency-Key return above and count nothing.
        self._count_sent(card)
        try:
            self._router.send_to_owner(session_id, SendPending(session_id=session_id, tenant_id=card.tenant_id,
                                                               message_id=message_id))
        except Exception:
            # Accepted is durable: the holder's periodic outbox sweep or the next claim sends it.
            log.exception("could not notify the worker of %s; the outbox sweep will send it", message_id)
        return record

    def _count_sent(self, card: SessionCard) -> None:
        try:
            self._usage.add(card.tenant_id, Metric.MESSAGES_SENT, session_id=card.session_id)
        except Exception:
            # The message is accepted and durable; failing its 202 over a lost count would make
            # the client retry a send that is already on its way.
            log.exception("could not count an accepted message of %s", card.session_id)

    @staticmethod
    def _replay(earlier: MessageRecord, fingerprint: str) -> MessageRecord:
        if earlier.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was used with a different request.",
                                code="idempotency_key_reused", details={"message_id": earlier.message_id})
        return earlier

    def _payload(self, card: SessionCard, request: SendMessageRequest, message_id: str) -> dict[str, Any]:
        payload = request.model_dump(mode="json", exclude={"to", "type", "reply_to", "media"}, exclude_none=True)
        if request.type in MENTIONING_TYPES:
            payload.update(recipients.mentions_of(request.to, payload.pop("mentions", None),
                                                  bool(payload.pop("mention_all", False))))
        if request.reply_to:
            payload["reply_to"] = self._reference(card, request.reply_to)
        if request.type in TARGETING_TYPES:
            target = self._reference(card, payload.pop("message_id"))
            if isinstance(request, EditMessage) and not (target.get("message_id") and target["from_me"]):
                raise Conflict("Only text messages this session sent can be edited.", code="not_editable")
            payload["target"] = target
        if isinstance(request, ContactMessage) and request.contact is not None:
            digits = recipients.phone_digits(request.contact.phone)
            if digits is None:
                raise ValidationFailed("`contact.phone` is not a valid phone number.", code="invalid_phone")
            payload = {"display_name": request.contact.name, "vcard": vcard_for(request.contact.name, digits)}
        elif isinstance(request, ContactMessage):
            payload = {"display_name": "Contact", "vcard": request.vcard}
        if request.type in MEDIA_TYPES:
            payload["media"] = self._store_media(card, request.type, request.media, message_id)  # type: ignore[union-attr]
            if payload.get("voice_note") and payload["media"].get("mimetype") not in (None, "audio/ogg"):
                raise Unprocessable("A voice note must be audio/ogg (Opus).", code="unsupported_media_type",
                                    details={"mimetype": payload["media"]["mimetype"]})
        return payload

    def _source(self, card: SessionCard, ref: str) -> MessageRecord:
        """A stored message of this session, by our id or WhatsApp's."""
        source = (self._messages.get(ref) if ref.startswith("msg_")
                  else self._messages.find_by_wa_id(card.session_id, ref))
        if source is None or source.session_id != card.session_id:
            raise NotFound("No such message in this session.", code="message_not_found", details={"message_id": ref})
        return source

    def _reference(self, card: SessionCard, ref: str) -> dict[str, Any]:
        """A quoted or targeted message: ours by message id (resolved to WhatsApp's id when
        the worker sends, so it may still be queued now), or a raw WhatsApp id."""
        if ref.startswith("msg_"):
            target = self._messages.get(ref)
            if target is None or target.session_id != card.session_id:
                raise NotFound("No such message in this session.", code="message_not_found",
                               details={"message_id": ref})
            return {"message_id": ref, "from_me": target.direction == "out",
                    "sender_jid": None if target.direction == "out" else target.payload.get("sender_jid"),
                    "type": target.type}
        return {"wa_id": ref, "from_me": False, "sender_jid": None}

    def _store_media(self, card: SessionCard, kind: str, media: MediaInput, message_id: str) -> dict[str, Any]:
        limit = self._settings.max_media_bytes
        if media.base64 is not None:
            data = decode_base64(media.base64, limit)
            mimetype = check_type(kind, media.mimetype, data)
            key = f"outbound/{card.tenant_id}/{card.session_id}/{message_id}"
            self._media.put(key, data, mimetype)
            return StoredMedia(key, mimetype, len(data), media.filename).to_payload()
        if media.media_id is not None:
            key = self._media.upload_key(card.tenant_id, card.session_id, media.media_id)
            head = self._media.head(key)
            if head is None:
                raise Unprocessable("No upload with this `media_id` for this session.", code="media_not_found",
                                    details={"media_id": media.media_id})
            mimetype = check_type(kind, media.mimetype or head.get("ContentType"), None)
            return StoredMedia(key, mimetype, int(head["ContentLength"]), media.filename).to_payload()
        url = media.url or ""
        if url.startswith("http://") and not self._settings.dev_mode:
            raise ValidationFailed("Media URLs must be https://.", code="invalid_media")
        return {"url": url, "mimetype": media.mimetype, "filename": media.filename}

    # ------------------------------------------------------------------ reading

    def get(self, session_id: str, message_id: str) -> MessageRecord:
        record = self._messages.get(message_id)
        if record is None or record.session_id != session_id:
            raise NotFound("No such message.", code="message_not_found")
        return record

    def wa_id_of(self, session_id: str, message_id: str) -> str:
        """WhatsApp's id of our message `msg_…` (a 409 while it is not sent yet); any other id as given."""
        if not message_id.startswith("msg_"):
            return message_id
        record = self.get(session_id, message_id)
        if record.wa_id is None:
            raise Conflict("The message is not sent yet.", code="message_not_sent", details={"message_id": message_id})
        return record.wa_id

    def votes(self, session_id: str, message_id: str) -> dict[str, Any]:
        """The tally of a poll (each voter's latest vote); 422 `not_a_poll` for another message."""
        return tally(self.get(session_id, message_id))

    def history(self, session_id: str, *, chat: str | None, cursor: str | None,
                limit: int) -> tuple[list[MessageRecord], str | None]:
        chat_jid = recipients.to_jid(chat) if chat else None
        # The page's last sort key, as an opaque, URL-safe cursor (the key holds `+` and `:`).
        before = decode_cursor(cursor, _HISTORY_CURSOR)["before"] if cursor else None
        records, last = self._messages.history(session_id, chat_jid=chat_jid, before=before, limit=limit)
        return records, encode_cursor({"before": last}) if last else None

    def journal(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        return self._journal.after(session_id, after, limit)

    def media_url(self, key: str) -> str:
        return self._media.presign_get(key)

    def presign_upload(self, card_tenant: str, session_id: str, mimetype: str) -> dict[str, Any]:
        return self._media.presign_upload(card_tenant, session_id, mimetype, self._settings.max_media_bytes)
