"""Presence and call events on the worker (spec §3.10): the engine's become control-plane events,
and a ringing call is rejected at once when the session's settings say `reject_calls`.

The `reject_message` goes to the caller as an ordinary text in the session's outbox (the same
durable path as `POST /v1/messages`), under an id derived from the call, so an offer seen twice
queues one message; the session's sender is woken to send it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.contracts.events import (
    CallEndedEvent,
    CallReceivedEvent,
    ChatPresenceEvent,
    Event,
    PresenceUpdatedEvent,
)
from whatsam.domain.model import utcnow
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.service import idempotent_message_id
from whatsam.messaging.status import MessageStatus
from worker_fleet.engines.profile import CallOffered, ChatPresenceChanged, ContactEvent, PresenceUpdated

log = logging.getLogger("whatsam.calls")

Call = Callable[..., Any]


def contact_event(envelope: dict[str, Any], event: ContactEvent) -> Event:
    """The control-plane event of an engine presence or call event."""
    if isinstance(event, PresenceUpdated):
        return PresenceUpdatedEvent(**envelope, chat=event.chat_jid, state=event.state, last_seen=event.last_seen)
    if isinstance(event, ChatPresenceChanged):
        return ChatPresenceEvent(**envelope, chat=event.chat_jid, participant=event.participant_jid,
                                 state=event.state)
    if isinstance(event, CallOffered):
        return CallReceivedEvent(**envelope, call_id=event.call_id, caller=event.from_jid, video=event.video,
                                 group=event.group)
    return CallEndedEvent(**envelope, call_id=event.call_id, caller=event.from_jid, reason=event.reason)


class CallRejecter:
    def __init__(self, call: Call, settings: SessionSettingsRepository, sessions: SessionRepository,
                 messages: MessageRepository):
        self._call = call
        self._settings = settings
        self._sessions = sessions
        self._messages = messages

    def on_offer(self, session_id: str, tenant_id: str, offer: CallOffered) -> bool:
        """Reject the call if the session's settings say so; True when a reject message was queued."""
        settings = self._settings.get(session_id)
        if settings is None or not settings.reject_calls:
            return False
        try:
            self._call("reject_call", session_id, call_id=offer.call_id)
        except Exception:
            # Gone already (the caller hung up) or WhatsApp refused: the call rings out on its own.
            log.warning("rejecting call %s of %s failed", offer.call_id, session_id, exc_info=True)
            return False
        if not settings.reject_message or offer.group:
            return False
        return self._queue_text(session_id, tenant_id, offer, settings.reject_message)

    def _queue_text(self, session_id: str, tenant_id: str, offer: CallOffered, text: str) -> bool:
        message_id = idempotent_message_id(session_id, f"call-rejected:{offer.call_id}")
        record = MessageRecord(message_id=message_id, session_id=session_id, tenant_id=tenant_id, direction="out",
                               chat_jid=offer.from_jid, type="text", payload={"text": text},
                               status=MessageStatus.QUEUED, created_at=utcnow(),
                               send_seq=self._sessions.next_send_seq(session_id))
        return self._messages.add(record)
