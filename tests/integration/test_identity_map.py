"""The identity map (the moto server over HTTP) and ingestion's use of it: pairs from messages and
group lists are learnt per session, a sender named by one identity gets the other from the map in
the stored message, the journal and the webhook event; another session knows none of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.leases import TEST_WORKER, leased_session
from whatsam.adapters.identity_map import Identity, IdentityMap
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import (
    AnyEvent,
    GroupJoinedEvent,
    MessageReceivedEvent,
    MessageStatusEvent,
    make_seq,
)
from whatsam.contracts.groups import Group, GroupMember
from whatsam.messaging.record import inbound_message_id
from whatsam.services.identity_learning import IdentityLearning
from whatsam.services.ingestion import EventIngestion

pytestmark = pytest.mark.integration

ANN, ANN_LID = "14155552671", "100000000000002@lid"
BOB, BOB_LID = "447911123456", "100000000000003@lid"


def _session() -> str:
    return f"ses_{uuid.uuid4().hex[:25]}"


def test_pairs_are_kept_per_session_and_found_either_way(services: Any) -> None:
    identities, one, other = IdentityMap(), _session(), _session()
    assert identities.learn(one, [(f"+{ANN}", f"{ANN_LID.removesuffix('@lid')}:7@lid"), (BOB, BOB_LID)]) == 2
    assert identities.learn(one, [(ANN, ANN_LID)]) == 0, "a pair written lately is not written again"
    assert identities.phone_of(one, ANN_LID) == ANN and identities.lid_of(one, ANN) == ANN_LID
    assert identities.phone_of(other, ANN_LID) is None and identities.lid_of(other, BOB) is None
    assert identities.complete(one, None, BOB_LID) == Identity(BOB, BOB_LID)

    identities.note(one, lid="100000000000009@lid")
    identities.note(one, phone=ANN)  # already known with its LID: kept
    assert sorted(identities.people(one), key=str) == sorted(
        [Identity(ANN, ANN_LID), Identity(BOB, BOB_LID), Identity(None, "100000000000009@lid")], key=str)
    assert identities.learn(one, [("16502530001", "100000000000009@lid")]) == 1
    assert Identity(None, "100000000000009@lid") not in identities.people(one), "the pair replaced the single"
    assert identities.people(other) == []

    assert identities.purge_session(one) == 6, "three pairs, each under its phone and its LID"
    assert identities.people(one) == [] and identities.phone_of(one, ANN_LID) is None
    assert identities.learn(one, [(ANN, ANN_LID)]) == 1, "forgotten in this process too"


def test_ingestion_learns_pairs_and_completes_senders(services: Any) -> None:
    heard: list[AnyEvent] = []
    ingestion = EventIngestion(SessionRepository(), LeaseRepository(), services.cache, MessageRepository(),
                               JournalRepository(), [heard.append], identities=IdentityLearning(IdentityMap()))
    tenant_id, session_id = leased_session(services, "ids")

    def envelope(counter: int) -> dict[str, Any]:
        return {"session_id": session_id, "tenant_id": tenant_id, "seq": make_seq(1, counter),
                "worker_id": TEST_WORKER}

    def message(counter: int, *, phone: str | None, lid: str | None) -> MessageReceivedEvent:
        wa_id = f"3A{counter:04d}"
        sender = lid or f"{phone}@s.whatsapp.net"
        return MessageReceivedEvent(**envelope(counter), message_id=inbound_message_id(session_id, wa_id),
                                    wa_id=wa_id, chat_jid=sender, sender_jid=sender, sender_phone=phone,
                                    sender_lid=lid, kind="text", text="hi", timestamp=datetime.now(UTC))

    assert ingestion.apply(message(1, phone=None, lid=ANN_LID))
    assert (heard[-1].sender_phone, heard[-1].sender_lid) == (None, ANN_LID), "nobody knows Ann's phone yet"
    ingestion.apply(GroupJoinedEvent(**envelope(2), reason="invite", group=Group(
        jid="120363000000000001@g.us", subject="Team",
        participants=[GroupMember(jid=ANN_LID, phone=ANN, lid=ANN_LID, role="member")])))
    assert ingestion.apply(message(3, phone=None, lid=ANN_LID))
    completed = heard[-1]
    assert isinstance(completed, MessageReceivedEvent)
    assert (completed.sender_phone, completed.sender_lid) == (ANN, ANN_LID), "learnt from the group list"
    stored = MessageRepository().get(completed.message_id)
    assert stored is not None and (stored.payload["sender_phone"], stored.payload["sender_lid"]) == (ANN, ANN_LID)
    journal = JournalRepository().after(session_id, 0, 10)
    assert journal[-1]["sender_phone"] == ANN

    assert ingestion.apply(message(4, phone=BOB, lid=BOB_LID))  # WhatsApp's SenderAlt: both, learnt
    assert ingestion.apply(message(5, phone=BOB, lid=None))
    assert heard[-1].sender_lid == BOB_LID  # type: ignore[union-attr]
    assert not ingestion.apply(message(5, phone=BOB, lid=None)), "a redelivery"
    assert heard[-1].sender_lid == BOB_LID, "completed the same way on redelivery"  # type: ignore[union-attr]

    # Receipts: the recipient who acknowledged, completed the same way; a pair they carry is learnt.
    assert ingestion.apply(MessageStatusEvent(**envelope(6), type="message.read", wa_id="3EB0AA",
                                              chat_jid=f"{BOB}@s.whatsapp.net", phone=BOB))
    assert (heard[-1].phone, heard[-1].lid) == (BOB, BOB_LID)  # type: ignore[union-attr]
    assert ingestion.apply(MessageStatusEvent(**envelope(7), type="message.delivered", wa_id="3EB0BB",
                                              chat_jid="16502530001@s.whatsapp.net", phone="16502530001",
                                              lid="100000000000004@lid"))
    assert IdentityMap().lid_of(session_id, "16502530001") == "100000000000004@lid"
