"""Applies worker events to session state. One function for both ways in: the events
queue (SQS handler) and POST /v1/internal/events."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.events import AnyEvent, SessionQrEvent, SessionStatusEvent
from whatsam.domain.model import SessionCard, SessionStatus, utcnow

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 5


class EventIngestion:
    def __init__(self, sessions: SessionRepository, cache: SessionCache):
        self._sessions = sessions
        self._cache = cache

    def apply(self, event: AnyEvent) -> bool:
        """Apply one event; False when it was stale or its session is gone (nothing to do)."""
        if isinstance(event, SessionQrEvent):
            stored = self._cache.put_qr(event.session_id, event.seq, {
                "qr": event.qr, "expires_at": time.time() + event.expires_in, "seq": event.seq,
            }, ttl_ms=int(event.expires_in * 1000))
            if stored:
                self._cache.announce_qr(event.session_id, event.qr)
            applied = self._apply_status(event, SessionStatus.QR, phone=None)
            return stored or applied
        if isinstance(event, SessionStatusEvent):
            if event.status != SessionStatus.QR.value:
                self._cache.clear_qr(event.session_id)
            return self._apply_status(event, SessionStatus(event.status), phone=event.phone)
        raise TypeError(f"unhandled event {type(event).__name__}")

    def _apply_status(self, event: SessionQrEvent | SessionStatusEvent, status: SessionStatus,
                      phone: str | None) -> bool:
        for _ in range(_MAX_ATTEMPTS):
            card = self._sessions.get(event.session_id)
            if card is None or card.tenant_id != event.tenant_id:
                return False
            if event.seq <= card.event_seq:
                log.info("stale event dropped", extra={"session_id": event.session_id, "seq": event.seq,
                                                        "applied_seq": card.event_seq})
                return False
            after = self._next_card(card, event, status, phone)
            if self._sessions.apply_event(card, after, event.seq):
                if after.status_version != card.status_version:
                    self._cache.announce_status(card.session_id, after.status_version)
                return True
        raise RuntimeError(f"could not apply {event.event_id}: the card kept changing")

    @staticmethod
    def _next_card(card: SessionCard, event: SessionQrEvent | SessionStatusEvent, status: SessionStatus,
                   phone: str | None) -> SessionCard:
        worker_id = None if status in {SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT,
                                       SessionStatus.FAILED} else event.worker_id
        new_phone = phone or card.phone
        if status is SessionStatus.LOGGED_OUT:
            new_phone = None
        changed = (status, new_phone, worker_id) != (card.status, card.phone, card.worker_id)
        return replace(card, status=status, phone=new_phone, worker_id=worker_id,
                       status_version=card.status_version + (1 if changed else 0), updated_at=utcnow(),
                       event_seq=event.seq)
