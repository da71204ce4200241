"""Applies worker events to session state. One function for both ways in: the events
queue (SQS handler) and POST /v1/internal/events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum

from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.events import AnyEvent, SessionQrEvent, SessionStatusEvent
from whatsam.domain.model import SessionCard, SessionStatus, utcnow

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 5


class Outcome(Enum):
    APPLIED = "applied"
    # The very event applied last, delivered again (seq equal to the card's applied seq).
    REDELIVERED = "redelivered"
    # Older than what the card has applied, or for a session that is gone.
    IGNORED = "ignored"


# Called with every event ingestion applied (never with stale ones): webhook fan-out,
# usage counting. A subscriber that raises fails the record, so SQS redelivers it; each
# subscriber must therefore be idempotent on `event.event_id`.
Subscriber = Callable[[AnyEvent], None]


class EventIngestion:
    def __init__(self, sessions: SessionRepository, cache: SessionCache,
                 subscribers: Sequence[Subscriber] = ()):
        self._sessions = sessions
        self._cache = cache
        self._subscribers = list(subscribers)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def apply(self, event: AnyEvent) -> bool:
        """Apply one event and notify subscribers. True when it changed state; a redelivery
        of the last applied event changes nothing but notifies again (an earlier attempt may
        have failed in a subscriber); a stale one, or one whose session is gone, notifies nobody."""
        outcome = self._apply(event)
        if outcome is not Outcome.IGNORED:
            for subscriber in self._subscribers:
                subscriber(event)
        return outcome is Outcome.APPLIED

    def _apply(self, event: AnyEvent) -> Outcome:
        if isinstance(event, SessionQrEvent):
            outcome = self._apply_status(event, SessionStatus.QR, phone=None)
            if outcome is Outcome.APPLIED and self._cache.put_qr(event.session_id, event.seq, {
                    "qr": event.qr, "expires_at": time.time() + event.expires_in, "seq": event.seq,
            }, ttl_ms=int(event.expires_in * 1000)):
                self._cache.announce_qr(event.session_id, event.qr)
            return outcome
        if isinstance(event, SessionStatusEvent):
            outcome = self._apply_status(event, SessionStatus(event.status), phone=event.phone)
            if outcome is Outcome.APPLIED and event.status != SessionStatus.QR.value:
                self._cache.clear_qr(event.session_id)
            return outcome
        raise TypeError(f"unhandled event {type(event).__name__}")

    def _apply_status(self, event: SessionQrEvent | SessionStatusEvent, status: SessionStatus,
                      phone: str | None) -> Outcome:
        for _ in range(_MAX_ATTEMPTS):
            card = self._sessions.get(event.session_id)
            if card is None or card.tenant_id != event.tenant_id:
                return Outcome.IGNORED
            if event.seq == card.event_seq:
                return Outcome.REDELIVERED
            if event.seq < card.event_seq:
                log.info("stale event dropped", extra={"session_id": event.session_id, "seq": event.seq,
                                                        "applied_seq": card.event_seq})
                return Outcome.IGNORED
            after = self._next_card(card, event, status, phone)
            if self._sessions.apply_event(card, after, event.seq):
                if after.status_version != card.status_version:
                    self._cache.announce_status(card.session_id, after.status_version)
                return Outcome.APPLIED
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
