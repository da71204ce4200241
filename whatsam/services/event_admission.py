"""Which worker events ingestion may apply. Events come over the events queue or POST
/v1/internal/events, both open to anything holding the fleet's worker token, so an event is
admitted only when a worker granted the session's lease could have sent it:

- its session exists and belongs to the event's tenant, and so does the session's lease;
- its fence (`seq >> 32`, see `contracts.events`) was granted: 1 <= fence <= the lease's
  fence. A fence from the future is refused: it would make every real event look stale;
- at the lease's current fence, the sender is the worker that fence was granted to, whether
  it still holds the lease or released it since (a worker emits its last status, then
  releases; ingestion runs later). A revoked lease's fence was granted to no worker;
- at an older fence, the sender was a former holder whose events are still on their way
  (a receipt read just before a hand-back): the lease keeps only its latest grant, so the
  sender cannot be checked. Nothing is lost and nothing freezes: a status event still only
  applies while newer than what the card shows, and message events are checked as below;
- a received message's media sits right under that session's inbound prefix, and a status
  update by message id names a message of that session.

A refused event raises RefusedEvent (HTTP 409, before anything is written); the events-queue
handler drops it, since delivering it again cannot change the answer."""

from __future__ import annotations

import logging
from typing import Any

from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import SEQ_COUNTER_BITS, AnyEvent, MessageReceivedEvent, MessageStatusEvent
from whatsam.errors import Conflict
from whatsam.messaging.media import is_inbound_key_of
from whatsam.services.batch_reads import forget, read_once

log = logging.getLogger(__name__)


class RefusedEvent(Conflict):
    code = "event_refused"


class EventAdmission:
    def __init__(self, sessions: SessionRepository, leases: LeaseRepository, messages: MessageRepository):
        self._sessions = sessions
        self._leases = leases
        self._messages = messages

    def check(self, event: AnyEvent) -> None:
        """Raise RefusedEvent unless the event may be applied."""
        reason = self._refusal(event)
        if reason is not None and forget(*self._shared_keys(event.session_id)):
            # Refused on reads shared with earlier events of the batch: decide on fresh ones.
            reason = self._refusal(event)
        if reason is None:
            return
        log.warning("refused event %s (%s) of %s from %s: %s", event.event_id, event.type, event.session_id,
                    event.worker_id, reason)
        details: dict[str, Any] = {"event_id": event.event_id, "session_id": event.session_id, "reason": reason}
        raise RefusedEvent("No worker granted this session's lease could have sent this event.", details=details)

    @staticmethod
    def _shared_keys(session_id: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("card", session_id), ("lease", session_id)

    def _refusal(self, event: AnyEvent) -> str | None:
        card_key, lease_key = self._shared_keys(event.session_id)
        card = read_once(card_key, lambda: self._sessions.get(event.session_id))
        if card is None or card.tenant_id != event.tenant_id:
            return "unknown_session"
        lease = read_once(lease_key, lambda: self._leases.get(event.session_id))
        fence = event.seq >> SEQ_COUNTER_BITS
        if lease is None or lease.tenant_id != event.tenant_id or fence < 1:
            return "fence_not_granted"
        if fence > lease.fence:
            return "fence_ahead"
        if fence == lease.fence and (not lease.worker_id or event.worker_id != lease.worker_id):
            return "not_lease_holder"
        if isinstance(event, MessageReceivedEvent) and event.media is not None \
                and not is_inbound_key_of(event.media.key, event.tenant_id, event.session_id):
            return "media_outside_session"
        if isinstance(event, MessageStatusEvent) and event.message_id is not None:
            record = self._messages.get(event.message_id)
            if record is not None and (record.session_id, record.tenant_id) != (event.session_id, event.tenant_id):
                return "message_outside_session"
        return None
