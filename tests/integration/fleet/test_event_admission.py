"""Forged worker events change nothing: every event must come from a worker granted the
session's lease, for a session of its tenant, at a fence that was granted, with media under
that session's prefix and status updates only for that session's messages. Through
POST /v1/internal/events with the worker token, and the events-queue handler."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.support.leases import granted_lease
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.bootstrap import Container
from whatsam.contracts.events import (
    AnyEvent,
    MediaInfo,
    MessageReceivedEvent,
    MessageStatusEvent,
    SessionStatusEvent,
    make_seq,
)
from whatsam.domain.ids import new_id
from whatsam.domain.model import SessionStatus, User, utcnow
from whatsam.domain.tiers import Tier
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import MessageStatus
from whatsam.security.passwords import hash_password
from whatsam.services.batch_reads import shared_reads
from whatsam.services.event_admission import RefusedEvent

pytestmark = pytest.mark.integration

CHAT = "14155552671@s.whatsapp.net"


def _user(services: Container) -> User:
    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="other",
                password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(user)
    return user


def _leased_session(services: Container, user: User, worker_id: str) -> str:
    card, _, _ = services.sessions.create(user, name="line", description="")
    granted_lease(card.session_id, user.user_id, worker_id)
    return card.session_id


def _received(session_id: str, tenant_id: str, seq: int, worker_id: str | None, **extra: Any) -> MessageReceivedEvent:
    return MessageReceivedEvent(session_id=session_id, tenant_id=tenant_id, seq=seq, worker_id=worker_id,
                                message_id=f"msg_in{uuid.uuid4().hex[:20]}", wa_id=f"WA{uuid.uuid4().hex[:8]}",
                                chat_jid=CHAT, sender_jid=CHAT, kind="text", text="hi", timestamp=utcnow(), **extra)


def _status(session_id: str, tenant_id: str, seq: int, worker_id: str | None, status: str) -> SessionStatusEvent:
    return SessionStatusEvent(session_id=session_id, tenant_id=tenant_id, seq=seq, worker_id=worker_id,
                              status=status, phone="15550001111")


def _post(api: Any, services: Container, *events: AnyEvent) -> Any:
    return api.call("POST", "/v1/internal/events", json_body={"events": [json.loads(e.to_json()) for e in events]},
                    token=services.settings.worker_token)


def _refused(reply: Any, reason: str) -> None:
    assert (reply.status, reply.body["error"]["code"]) == (409, "event_refused"), reply.body
    assert reply.body["error"]["details"]["reason"] == reason


def _state(services: Container, session_id: str) -> tuple[Any, ...]:
    card = SessionRepository().get(session_id)
    assert card is not None
    history, _ = MessageRepository().history(session_id, chat_jid=None, before=None, limit=100)
    journal = JournalRepository().after(session_id, 0, 100)
    return (card.status, card.status_version, card.event_seq, card.phone, [r.message_id for r in history],
            [e["event_id"] for e in journal])


def test_a_forged_event_for_another_tenants_session_changes_nothing(api: Any, services: Container,
                                                                    owner: User) -> None:
    victim = _leased_session(services, owner, "w-1")
    assert _post(api, services, _status(victim, owner.user_id, make_seq(1, 1), "w-1", "connected")).status == 202
    attacker = _user(services)
    before = _state(services, victim)

    forgeries = [
        (_received(victim, attacker.user_id, make_seq(1, 2), "w-1"), "unknown_session"),
        (_status(victim, attacker.user_id, make_seq(1, 2), "w-1", "logged_out"), "unknown_session"),
        (_received(victim, owner.user_id, make_seq(1, 2), "w-evil"), "not_lease_holder"),
        (_received(victim, owner.user_id, make_seq(1, 2), None), "not_lease_holder"),
        (_received(victim, owner.user_id, 2**62, "w-1"), "fence_ahead"),
        (_status(victim, owner.user_id, 2**62, "w-1", "disconnected"), "fence_ahead"),
        (_received(victim, owner.user_id, make_seq(0, 5), "w-1"), "fence_not_granted"),
    ]
    for event, reason in forgeries:
        _refused(_post(api, services, event), reason)
    assert _state(services, victim) == before

    # The session is not frozen: its worker's next event still applies.
    genuine = _received(victim, owner.user_id, make_seq(1, 2), "w-1")
    reply = _post(api, services, genuine)
    assert (reply.status, reply.body) == (202, {"accepted": 1, "applied": 1})
    assert MessageRepository().get(genuine.message_id) is not None


def test_events_for_a_session_that_does_not_exist_are_refused(api: Any, services: Container, owner: User) -> None:
    ghost = new_id("ses")
    event = _received(ghost, owner.user_id, make_seq(1, 1), "w-1")
    _refused(_post(api, services, event), "unknown_session")
    assert MessageRepository().get(event.message_id) is None
    assert JournalRepository().after(ghost, 0, 10) == []


def test_a_status_update_cannot_move_another_tenants_message(api: Any, services: Container, owner: User) -> None:
    victim = _leased_session(services, owner, "w-1")
    theirs = MessageRecord(message_id=new_id("msg"), session_id=victim, tenant_id=owner.user_id, direction="out",
                           chat_jid=CHAT, type="text", payload={"text": "hi"}, status=MessageStatus.SENT,
                           created_at=utcnow(), wa_id="WA-VICTIM")
    assert MessageRepository().add(theirs)
    attacker = _user(services)
    own = _leased_session(services, attacker, "w-2")

    by_id = MessageStatusEvent(session_id=own, tenant_id=attacker.user_id, seq=make_seq(1, 1), worker_id="w-2",
                               type="message.read", message_id=theirs.message_id, chat_jid=CHAT)
    _refused(_post(api, services, by_id), "message_outside_session")
    # By WhatsApp's id, the lookup only ever searches the event's own session.
    by_wa_id = MessageStatusEvent(session_id=own, tenant_id=attacker.user_id, seq=make_seq(1, 2), worker_id="w-2",
                                  type="message.read", wa_id="WA-VICTIM", chat_jid=CHAT)
    assert _post(api, services, by_wa_id).status == 202
    moved = MessageRepository().get(theirs.message_id)
    assert moved is not None and moved.status is MessageStatus.SENT


def test_media_must_sit_under_the_sessions_own_inbound_prefix(api: Any, services: Container, owner: User) -> None:
    victim = _leased_session(services, owner, "w-1")
    attacker = _user(services)
    own = _leased_session(services, attacker, "w-2")
    prefix = f"inbound/{attacker.user_id}/{own}/"
    for key in (f"inbound/{owner.user_id}/{victim}/msg_x", f"uploads/{attacker.user_id}/{own}/med_x",
                f"{prefix}../../{victim}/msg_x", f"{prefix}..", f"{prefix}a/b", prefix):
        event = _received(own, attacker.user_id, make_seq(1, 1), "w-2",
                          media=MediaInfo(key=key, mimetype="image/png", size=10))
        _refused(_post(api, services, event), "media_outside_session")
        assert MessageRepository().get(event.message_id) is None, key

    genuine = _received(own, attacker.user_id, make_seq(1, 1), "w-2",
                        media=MediaInfo(key=f"{prefix}msg_x", mimetype="image/png", size=10))
    assert _post(api, services, genuine).status == 202
    assert MessageRepository().get(genuine.message_id) is not None


def test_a_batch_with_one_forged_event_applies_none(api: Any, services: Container, owner: User) -> None:
    session_id = _leased_session(services, owner, "w-1")
    before = _state(services, session_id)
    good = _status(session_id, owner.user_id, make_seq(1, 1), "w-1", "connected")
    forged = _received(session_id, owner.user_id, make_seq(1, 2), "w-evil")
    _refused(_post(api, services, good, forged), "not_lease_holder")
    assert _state(services, session_id) == before


def test_a_former_holders_late_events_still_apply(services: Container, owner: User) -> None:
    """Events are emitted before a release but ingested later, maybe after the next grant."""
    session_id = _leased_session(services, owner, "w-1")
    ingestion = services.ingestion
    # w-1 reported and released (a hand-back); its events are still admitted at its fence.
    assert ingestion.apply(_status(session_id, owner.user_id, make_seq(1, 1), "w-1", "connected"))
    second = granted_lease(session_id, owner.user_id, "w-2")
    assert second.fence == 2
    assert ingestion.apply(_status(session_id, owner.user_id, make_seq(2, 1), "w-2", "connected"))
    # w-1's receipt and message, read just before the hand-back, arrive now: messages apply,
    # a status is merely stale, and w-1 may not speak for w-2's fence.
    late = _received(session_id, owner.user_id, make_seq(1, 2), "w-1")
    assert ingestion.apply(late)
    assert not ingestion.apply(_status(session_id, owner.user_id, make_seq(1, 3), "w-1", "disconnected"))
    with pytest.raises(RefusedEvent):
        ingestion.apply(_received(session_id, owner.user_id, make_seq(2, 2), "w-1"))
    card = services.sessions.get(owner, session_id)
    assert (card.status, card.worker_id) == (SessionStatus.CONNECTED, "w-2")

    # A revoked lease's fence was granted to no worker; the former holder's late events still apply.
    revoked = services.leases.revoke(session_id, owner.user_id, "deactivated")
    for worker_id in ("w-2", None, ""):
        with pytest.raises(RefusedEvent):
            ingestion.apply(_received(session_id, owner.user_id, make_seq(revoked.fence, 1), worker_id))
    assert ingestion.apply(_received(session_id, owner.user_id, make_seq(2, 3), "w-2"))


def test_a_batch_shares_its_reads_but_never_refuses_on_them(services: Container, owner: User) -> None:
    """Events of one batch share the card and lease they read for admission; a lease granted
    during the batch still admits its holder's events (a refusal is decided on fresh reads),
    and a forged event is still refused."""
    session_id = _leased_session(services, owner, "w-1")
    ingestion = services.ingestion
    with shared_reads():
        assert ingestion.apply(_status(session_id, owner.user_id, make_seq(1, 1), "w-1", "connected"))
        assert ingestion.apply(_received(session_id, owner.user_id, make_seq(1, 2), "w-1"))
        assert granted_lease(session_id, owner.user_id, "w-2").fence == 2
        assert ingestion.apply(_status(session_id, owner.user_id, make_seq(2, 1), "w-2", "connected"))
        with pytest.raises(RefusedEvent):
            ingestion.apply(_received(session_id, owner.user_id, make_seq(2, 2), "w-1"))
    card = services.sessions.get(owner, session_id)
    assert (card.status, card.worker_id) == (SessionStatus.CONNECTED, "w-2")


def test_the_events_queue_drops_a_refused_event_instead_of_retrying_it(chalice_app: Any, services: Container,
                                                                      owner: User) -> None:
    from whatsam.dev.event_sources import LambdaContext

    session_id = _leased_session(services, owner, "w-1")
    forged = _status(session_id, owner.user_id, 2**62, "w-1", "connected")
    record = {"messageId": "m-forged", "receiptHandle": "r1", "body": forged.to_json(), "attributes": {},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:events", "awsRegion": "us-east-1"}
    result = chalice_app.handler_map["ingest_events"]({"Records": [record]},
                                                      LambdaContext("ingest_events", time.monotonic() + 30))
    assert result == {"batchItemFailures": []}
    assert services.sessions.get(owner, session_id).status is SessionStatus.DISCONNECTED
