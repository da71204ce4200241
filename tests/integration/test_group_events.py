"""Group events through ingestion (real Redis, the moto server): journal, subscribers, and the
session's joined-group list, which follows events in sequence order and never rolls back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from tests.support.leases import TEST_WORKER, leased_session
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import (
    GroupJoinedEvent,
    GroupLeftEvent,
    GroupParticipantsEvent,
    GroupUpdatedEvent,
    event_from_dict,
    make_seq,
)
from whatsam.contracts.groups import Group, GroupMember
from whatsam.services.ingestion import EventIngestion

pytestmark = pytest.mark.integration

GROUP = "120363000000000001@g.us"
OWN = GroupMember(jid="15551234567@s.whatsapp.net", phone="15551234567", lid="100000000000001@lid",
                  role="superadmin")
ANN = GroupMember(jid="14155552671@s.whatsapp.net", phone="14155552671", lid="100000000000002@lid", role="member")
BOB = GroupMember(jid="447911123456@s.whatsapp.net", phone="447911123456", role="member")


@pytest.fixture
def groups(redis_url: str) -> JoinedGroups:
    return JoinedGroups(redis.Redis.from_url(redis_url, decode_responses=True))


def envelope(session_id: str, counter: int) -> dict[str, Any]:
    return {"session_id": session_id, "tenant_id": "usr_t", "seq": make_seq(1, counter)}


def team(*members: GroupMember, subject: str = "Team") -> Group:
    return Group(jid=GROUP, subject=subject, participants=list(members))


def test_events_build_the_list_in_sequence_order(groups: JoinedGroups) -> None:
    session_id = f"ses_{uuid.uuid4().hex[:8]}"
    joined = GroupJoinedEvent(**envelope(session_id, 1), group=team(OWN, ANN), reason="create")
    renamed = GroupUpdatedEvent(**envelope(session_id, 3), group_jid=GROUP, changes={"subject": "Team 2"}, by=OWN)
    stale_rename = GroupUpdatedEvent(**envelope(session_id, 2), group_jid=GROUP, changes={"subject": "Old"})
    bob_joins = GroupParticipantsEvent(**envelope(session_id, 4), group_jid=GROUP, action="join",
                                       participants=[BOB.model_copy(update={"role": None})], by=BOB)
    ann_promoted = GroupParticipantsEvent(**envelope(session_id, 5), group_jid=GROUP, action="promote",
                                          participants=[ANN], by=OWN)
    for event in (joined, renamed, stale_rename, bob_joins, ann_promoted, renamed):
        groups.apply(event)
    (group,) = groups.groups(session_id)
    assert group.subject == "Team 2", "the older rename arrived late and changed nothing"
    assert {m.jid: m.role for m in group.participants} == {OWN.jid: "superadmin", ANN.jid: "admin",
                                                            BOB.jid: "member"}
    bob = next(m for m in group.participants if m.jid == BOB.jid)
    assert (bob.phone, bob.lid) == ("447911123456", None)

    groups.apply(GroupParticipantsEvent(**envelope(session_id, 6), group_jid=GROUP, action="leave",
                                        participants=[ANN], by=ANN))
    assert [m.jid for m in groups.get(session_id, GROUP).participants] == [OWN.jid, BOB.jid]  # type: ignore[union-attr]

    groups.apply(GroupLeftEvent(**envelope(session_id, 8), group_jid=GROUP, reason="removed", by=BOB))
    groups.apply(GroupJoinedEvent(**envelope(session_id, 7), group=team(OWN), reason="invite"))
    assert groups.groups(session_id) == [] and groups.get(session_id, GROUP) is None, "a late join cannot revive it"

    groups.replace_all(session_id, [team(OWN, subject="Fresh")])
    assert [g.subject for g in groups.groups(session_id)] == ["Fresh"]
    groups.apply(GroupUpdatedEvent(**envelope(session_id, 9), group_jid=GROUP, changes={"deleted": True}))
    assert groups.groups(session_id) == []


def test_ingestion_journals_notifies_and_keeps_the_list(services: Any, groups: JoinedGroups) -> None:
    heard: list[str] = []
    ingestion = EventIngestion(SessionRepository(), LeaseRepository(), services.cache, MessageRepository(),
                               JournalRepository(), [lambda event: heard.append(event.type)], groups=groups)
    tenant_id, session_id = leased_session(services, "groups")

    def envelope(session_id: str, counter: int) -> dict[str, Any]:
        # As the worker that holds the lease sends them (ingestion admits nothing else).
        return {"session_id": session_id, "tenant_id": tenant_id, "seq": make_seq(1, counter),
                "worker_id": TEST_WORKER}

    wire = GroupJoinedEvent(**envelope(session_id, 1), group=team(OWN, ANN), by=OWN, reason="create")
    joined = event_from_dict(wire.model_dump(mode="json"))  # as it arrives from the queue
    assert ingestion.apply(joined) is True
    assert ingestion.apply(joined) is False, "a redelivery is recognised by its (session, seq)"
    left = GroupLeftEvent(**envelope(session_id, 2), group_jid=GROUP, reason="left", by=OWN)
    assert ingestion.apply(left) is True
    assert heard == ["group.joined", "group.joined", "group.left"]
    journal = JournalRepository().after(session_id, 0, 10)
    assert [entry["type"] for entry in journal] == ["group.joined", "group.left"]
    assert journal[0]["group"]["participants"][1]["phone"] == "14155552671"
    assert groups.groups(session_id) == []
