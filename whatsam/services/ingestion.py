"""Applies worker events to session state. One function for both ways in: the events
queue (SQS handler) and POST /v1/internal/events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum

from whatsam.adapters.history_progress import HistoryProgress
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.events import (
    SEQ_COUNTER_BITS,
    AnyEvent,
    CallEndedEvent,
    CallReceivedEvent,
    ChatPresenceEvent,
    ChatReadEvent,
    GroupJoinedEvent,
    GroupLeftEvent,
    GroupParticipantsEvent,
    GroupUpdatedEvent,
    HistoryBatchEvent,
    MessageReceivedEvent,
    MessageRevokedEvent,
    MessageStatusEvent,
    PresenceUpdatedEvent,
    SessionHistorySyncedEvent,
    SessionQrEvent,
    SessionStatusEvent,
    StatusReceivedEvent,
)
from whatsam.domain.model import ENDED_BY_OWNER, SessionCard, SessionStatus, utcnow
from whatsam.messaging.polls import PollVotes
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import MessageStatus
from whatsam.metering.counters import Metric, UsageCounters
from whatsam.services.chat_ingestion import ChatIngestion
from whatsam.services.event_admission import EventAdmission
from whatsam.services.identity_learning import IdentityLearning

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 5

MessageEvent = MessageStatusEvent | MessageReceivedEvent | MessageRevokedEvent


def received_record(event: MessageReceivedEvent) -> MessageRecord:
    payload = {"wa_id": event.wa_id, "sender_jid": event.sender_jid, "sender_phone": event.sender_phone,
               "sender_lid": event.sender_lid, "is_group": event.is_group, "is_from_me": event.is_from_me,
               "text": event.text, "details": event.details,
               "media": event.media.model_dump() if event.media else None}
    return MessageRecord(message_id=event.message_id, session_id=event.session_id, tenant_id=event.tenant_id,
                         direction="in", chat_jid=event.chat_jid, type=event.kind, payload=payload,
                         status=MessageStatus.RECEIVED, created_at=event.timestamp, wa_id=event.wa_id)


def _crossed_by_a_connect(card: SessionCard, event: SessionQrEvent | SessionStatusEvent,
                          status: SessionStatus) -> bool:
    """An ending reported by a holder the card had already heard from (its fence is not newer),
    while the card waits for a connect asked for through the API (connecting, no worker yet):
    any worker that claims that connect holds a newer fence, so this report predates it."""
    return (status in ENDED_BY_OWNER and card.status is SessionStatus.CONNECTING and card.worker_id is None
            and event.seq >> SEQ_COUNTER_BITS <= card.event_seq >> SEQ_COUNTER_BITS)


class Outcome(Enum):
    APPLIED = "applied"
    # The very event applied last, delivered again (seq equal to the card's applied seq).
    REDELIVERED = "redelivered"
    # Older than what the card has applied, for a session that is gone, or news already journaled.
    IGNORED = "ignored"


# Called with every event ingestion applied (never with stale ones): webhook fan-out,
# usage counting. A subscriber that raises fails the record, so SQS redelivers it; each
# subscriber must therefore be idempotent on `event.event_id`.
Subscriber = Callable[[AnyEvent], None]


class EventIngestion:
    def __init__(self, sessions: SessionRepository, leases: LeaseRepository, cache: SessionCache,
                 messages: MessageRepository, journal: JournalRepository, subscribers: Sequence[Subscriber] = (),
                 usage: UsageCounters | None = None, groups: JoinedGroups | None = None,
                 identities: IdentityLearning | None = None, chats: ChatIngestion | None = None,
                 history: HistoryProgress | None = None):
        self._admission = EventAdmission(sessions, leases, messages)
        self._sessions = sessions
        self._cache = cache
        self._messages = messages
        self._journal = journal
        self._subscribers = list(subscribers)
        self._usage = usage
        self._groups = groups
        self._identities = identities
        self._polls = PollVotes(messages)
        self._chats = chats
        self._history = history

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def admit(self, event: AnyEvent) -> None:
        """Raise RefusedEvent (409) if no worker granted the session's lease could have sent
        `event` (see `event_admission`); `apply` checks the same first."""
        self._admission.check(event)

    def apply(self, event: AnyEvent) -> bool:
        """Apply one event and notify subscribers. True when it changed state; a redelivery
        of the last applied event changes nothing but notifies again (an earlier attempt may
        have failed in a subscriber); a stale one notifies nobody. Raises RefusedEvent for an
        event no lease holder could have sent, before writing anything."""
        self._admission.check(event)
        if isinstance(event, HistoryBatchEvent):
            # Old news, stored idempotently (`ChatIngestion.history`): not journaled, no subscriber.
            if self._chats is not None:
                self._chats.history(event)
            if self._history is not None:
                self._announce(self._history.batch_stored(event.session_id, event.sync_id, event.index))
            return True
        if isinstance(event, SessionHistorySyncedEvent):
            # News once every batch it counts is stored, which may be after it arrives (`HistoryProgress`).
            return self._announce(self._history.closed(event) if self._history is not None else event)
        if isinstance(event, MessageStatusEvent | MessageReceivedEvent | MessageRevokedEvent):
            event, outcome = self._apply_message_event(event)
        elif isinstance(event, StatusReceivedEvent):
            outcome = Outcome.APPLIED if self._journal.append(event) else Outcome.REDELIVERED
        elif isinstance(event, GroupJoinedEvent | GroupUpdatedEvent | GroupParticipantsEvent | GroupLeftEvent):
            # The journal's (session, seq) key tells a redelivery; the session's group list
            # ignores what is older than it has seen, so applying twice is harmless.
            outcome = Outcome.APPLIED if self._journal.append(event) else Outcome.REDELIVERED
            if self._groups is not None:
                self._groups.apply(event)
                if self._chats is not None:
                    group_jid = event.group.jid if isinstance(event, GroupJoinedEvent) else event.group_jid
                    self._chats.group_named(event, self._groups.get(event.session_id, group_jid))
            if self._identities is not None:
                self._identities.group(event)
        elif isinstance(event, PresenceUpdatedEvent | ChatPresenceEvent | CallReceivedEvent | CallEndedEvent):
            # News only, kept nowhere but the journal, whose (session, seq) key tells a redelivery.
            outcome = Outcome.APPLIED if self._journal.append(event) else Outcome.REDELIVERED
        elif isinstance(event, ChatReadEvent):
            outcome = Outcome.APPLIED if self._journal.append(event) else Outcome.REDELIVERED
            if self._chats is not None:
                self._chats.read(event)  # moves `read_through` forward only: twice is harmless
        else:
            outcome = self._apply(event)
            if outcome is not Outcome.IGNORED:
                self._journal.append(event)
        if outcome is not Outcome.IGNORED:
            for subscriber in self._subscribers:
                subscriber(event)
        return outcome is Outcome.APPLIED

    def _announce(self, event: SessionHistorySyncedEvent | None) -> bool:
        """Journal and notify a completed history sync; True the first time. Notified again when
        announced again: an earlier attempt may have journaled it and failed in a subscriber."""
        if event is None:
            return False
        journaled = self._journal.append(event)
        for subscriber in self._subscribers:
            subscriber(event)
        return journaled

    def _apply_message_event(self, event: MessageEvent) -> tuple[MessageEvent, Outcome]:
        """Message events change the message log; the journal's (session, seq) key tells a
        redelivery from a first delivery."""
        if isinstance(event, MessageStatusEvent):
            if self._identities is not None:
                event = self._identities.receipt(event)
            record = (self._messages.get(event.message_id) if event.message_id
                      else self._messages.find_by_wa_id(event.session_id, event.wa_id or ""))
            if record is not None and event.message_id is None:
                # Receipts name WhatsApp's id only; subscribers (webhooks) want ours too.
                event = event.model_copy(update={"message_id": record.message_id})
            status = MessageStatus(event.type.removeprefix("message."))
            if record is not None and not self._messages.journal_status(record, status, event.seq):
                # The same news under another seq: announced again by the session's next holder,
                # or a receipt re-reported after a reconnect. Journaled (and delivered) once.
                return event, Outcome.IGNORED
            journaled = self._journal.append(event)
            if record is not None:
                # Also on a redelivery: an earlier attempt may have journaled it and failed here.
                self._messages.advance(record, status, event.occurred_at)
                if status is MessageStatus.SENT and self._chats is not None:
                    self._chats.sent(replace(record, wa_id=event.wa_id or record.wa_id), event.occurred_at)
            return event, Outcome.APPLIED if journaled else Outcome.REDELIVERED
        if isinstance(event, MessageReceivedEvent) and self._identities is not None:
            # Before the journal: a redelivery is completed the same way, from the same map.
            event = self._identities.received(event)
        if isinstance(event, MessageReceivedEvent) and event.kind == "poll_vote":
            # The option names go into the journaled (and delivered) vote; recording it on the poll
            # is idempotent, so it happens on a redelivery too (an earlier attempt may have failed).
            event, poll = self._polls.resolve(event)
            if poll is not None:
                self._polls.record(event, poll)
        journaled = self._journal.append(event)
        if isinstance(event, MessageReceivedEvent):
            # Also on a redelivery: an earlier attempt may have journaled it and failed here. The
            # log takes a message once, and only then does its chat count it.
            if self._messages.add(received_record(event)) and self._chats is not None:
                self._chats.received(event)
            # Only after the journal took the event: a redelivery is never counted.
            if journaled and self._usage is not None:
                self._usage.add(event.tenant_id, Metric.MESSAGES_RECEIVED, session_id=event.session_id)
            return event, Outcome.APPLIED if journaled else Outcome.REDELIVERED
        if not journaled:
            return event, Outcome.REDELIVERED
        target = self._messages.find_by_wa_id(event.session_id, event.wa_id)
        if target is not None:
            self._messages.mark_revoked(target)
        return event, Outcome.APPLIED

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
        if _crossed_by_a_connect(card, event, status):
            # The holder ended the session (a logout, a disconnect) and the owner asked to connect
            # again before its report got here: the connect is newer. Take the report's news
            # (a logout forgets the phone) but keep the card waiting for the worker that claims it.
            return replace(card, phone=None if status is SessionStatus.LOGGED_OUT else card.phone,
                           updated_at=utcnow(), event_seq=event.seq)
        # No worker serves a session that ended, or whose worker is gone (`reconnecting`).
        worker_id = None if status in {SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.FAILED,
                                       SessionStatus.RECONNECTING} else event.worker_id
        new_phone = phone or card.phone
        if status is SessionStatus.LOGGED_OUT:
            new_phone = None
        changed = (status, new_phone, worker_id) != (card.status, card.phone, card.worker_id)
        return replace(card, status=status, phone=new_phone, worker_id=worker_id,
                       status_version=card.status_version + (1 if changed else 0), updated_at=utcnow(),
                       event_seq=event.seq)
