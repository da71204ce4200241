"""Poll votes, statuses and played receipts through ingestion (real Redis, the moto server): a vote
gets the poll's option names before it is journaled and delivered, the poll's record keeps each
voter's latest vote (an older one arriving late changes nothing, redeliveries count once, votes
applied at once all count), a contact's status is journaled as `status.received`, and `played`
moves a voice note on from `read`."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.leases import TEST_WORKER, granted_lease
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import (
    AnyEvent,
    MessageReceivedEvent,
    MessageStatusEvent,
    StatusReceivedEvent,
    event_from_dict,
    make_seq,
)
from whatsam.contracts.polls import option_hash
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.domain.tiers import Tier
from whatsam.messaging.polls import tally
from whatsam.messaging.record import MessageRecord, inbound_message_id
from whatsam.messaging.status import MessageStatus
from whatsam.security.passwords import hash_password
from whatsam.services.ingestion import EventIngestion

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


class Line:
    def __init__(self, services: Any) -> None:
        self.heard: list[AnyEvent] = []
        self.messages = MessageRepository()
        self.ingestion = EventIngestion(SessionRepository(), LeaseRepository(), services.cache, self.messages,
                                        JournalRepository(), [self.heard.append])
        self.user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="polls",
                         password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
        services.users.add(self.user)
        card, _, _ = services.sessions.create(self.user, name="polls", description="")
        self.session_id = card.session_id
        granted_lease(self.session_id, self.user.user_id)
        self.counter = 0

    def envelope(self) -> dict[str, Any]:
        self.counter += 1
        return {"session_id": self.session_id, "tenant_id": self.user.user_id, "seq": make_seq(1, self.counter),
                "worker_id": TEST_WORKER}

    def sent_poll(self, wa_id: str, options: list[str]) -> MessageRecord:
        record = MessageRecord(message_id=new_id("msg"), session_id=self.session_id, tenant_id=self.user.user_id,
                               direction="out", chat_jid="14155552671@s.whatsapp.net", type="poll",
                               payload={"poll": {"name": "Lunch?", "options": options, "selectable_count": 2}},
                               status=MessageStatus.SENT, created_at=T0, wa_id=wa_id)
        assert self.messages.add(record)
        return record

    def vote(self, poll_wa_id: str, phone: str, options: list[str], at: datetime,
             wa_id: str | None = None) -> MessageReceivedEvent:
        wa_id = wa_id or f"3A{uuid.uuid4().hex[:12].upper()}"
        event = MessageReceivedEvent(
            **self.envelope(), message_id=inbound_message_id(self.session_id, wa_id), wa_id=wa_id,
            chat_jid=f"{phone}@s.whatsapp.net", sender_jid=f"{phone}@lid" if phone.startswith("9") else
            f"{phone}@s.whatsapp.net", sender_phone=None if phone.startswith("9") else phone, kind="poll_vote",
            timestamp=at, details={"poll_vote": {"poll_id": poll_wa_id, "decrypted": True,
                                                 "selected_hashes": [option_hash(o) for o in options]}})
        return event_from_dict(event.model_dump(mode="json"))  # type: ignore[return-value]

    def tally(self, poll: MessageRecord) -> dict[str, list[str]]:
        record = self.messages.get(poll.message_id)
        assert record is not None
        return {option["name"]: option["voters"] for option in tally(record)["options"]}


@pytest.fixture
def line(services: Any) -> Line:
    return Line(services)


def test_votes_carry_option_names_and_each_voters_latest_counts(line: Line) -> None:
    poll = line.sent_poll("3EB0POLL", ["Tea", "Coffee", "Juice"])
    first = line.vote("3EB0POLL", "14155552671", ["Tea", "Juice"], T0)
    assert line.ingestion.apply(first) is True
    delivered = line.heard[-1]
    assert isinstance(delivered, MessageReceivedEvent)
    assert delivered.details["poll_vote"]["options"] == ["Tea", "Juice"]
    assert delivered.details["poll_vote"]["poll_message_id"] == poll.message_id
    journaled = JournalRepository().after(line.session_id, 0, 10)[-1]
    assert journaled["details"]["poll_vote"]["options"] == ["Tea", "Juice"], "the journal holds the names too"
    assert line.ingestion.apply(first) is False, "a redelivery is recognised"

    later = line.vote("3EB0POLL", "14155552671", ["Coffee"], T0 + timedelta(seconds=10))
    older = line.vote("3EB0POLL", "14155552671", ["Juice"], T0 + timedelta(seconds=5))
    line.ingestion.apply(later)
    line.ingestion.apply(older)  # arrives late: it is still delivered, but the later vote stands
    assert line.tally(poll) == {"Tea": [], "Coffee": ["14155552671@s.whatsapp.net"], "Juice": []}

    takes_back = line.vote("3EB0POLL", "14155552671", [], T0 + timedelta(seconds=20))
    line.ingestion.apply(takes_back)
    record = line.messages.get(poll.message_id)
    assert record is not None and tally(record)["voters"] == 0

    unknown = line.vote("3EB0ELSEWHERE", "14155552671", ["Tea"], T0)
    line.ingestion.apply(unknown)
    assert "options" not in line.heard[-1].details["poll_vote"], "a poll this session does not know: hashes only"


def test_votes_applied_at_once_all_count(line: Line) -> None:
    poll = line.sent_poll("3EB0BUSY", ["Tea", "Coffee"])
    votes = [line.vote("3EB0BUSY", f"1415555{n:04d}", ["Tea"], T0) for n in range(6)]
    threads = [threading.Thread(target=line.ingestion.apply, args=(vote,)) for vote in votes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(line.tally(poll)["Tea"]) == 6


def test_statuses_are_journaled_and_played_follows_read(line: Line) -> None:
    story = StatusReceivedEvent(**line.envelope(), message_id=inbound_message_id(line.session_id, "3ASTORY"),
                                wa_id="3ASTORY", sender_jid="14155552671@s.whatsapp.net",
                                sender_phone="14155552671", kind="text", text="At the beach", timestamp=T0)
    assert line.ingestion.apply(event_from_dict(story.model_dump(mode="json"))) is True
    assert line.ingestion.apply(story) is False
    assert [e.type for e in line.heard] == ["status.received", "status.received"]
    assert JournalRepository().after(line.session_id, 0, 10)[0]["text"] == "At the beach"

    note = MessageRecord(message_id=new_id("msg"), session_id=line.session_id, tenant_id=line.user.user_id,
                         direction="out", chat_jid="14155552671@s.whatsapp.net", type="audio", payload={},
                         status=MessageStatus.SENT, created_at=T0, wa_id="3EB0NOTE")
    line.messages.add(note)
    for kind in ("message.read", "message.played", "message.played"):
        line.ingestion.apply(MessageStatusEvent(**line.envelope(), type=kind, wa_id="3EB0NOTE",
                                                chat_jid=note.chat_jid))
    record = line.messages.get(note.message_id)
    assert record is not None and record.status is MessageStatus.PLAYED
    assert [e.type for e in line.heard[2:]] == ["message.read", "message.played"], "played is journaled once"
    assert line.heard[-1].message_id == note.message_id  # type: ignore[union-attr]
