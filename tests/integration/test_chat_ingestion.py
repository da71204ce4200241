"""The chat list as ingestion keeps it (real Redis, the moto server over HTTP): unread counts that
lose nothing to concurrent events and count nothing twice, reads from the phone, last messages,
paging by last activity, and history batches stored without news, usage or double counting."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.leases import TEST_WORKER, granted_lease
from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.history_progress import HistoryProgress
from whatsam.adapters.identity_map import IdentityMap
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.chats import HistoryChatInfo, HistoryMessageInfo, PhoneLidPair
from whatsam.contracts.events import (
    AnyEvent,
    ChatReadEvent,
    GroupJoinedEvent,
    GroupUpdatedEvent,
    HistoryBatchEvent,
    MessageReceivedEvent,
    SessionHistorySyncedEvent,
    event_from_dict,
    make_seq,
)
from whatsam.contracts.groups import Group
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.domain.tiers import Tier
from whatsam.messaging.record import inbound_message_id
from whatsam.metering.counters import Metric, UsageCounters
from whatsam.security.passwords import hash_password
from whatsam.services.chat_ingestion import ChatIngestion
from whatsam.services.ingestion import EventIngestion
from worker_fleet.engines.simulated_chats import simulated_history
from worker_fleet.history import HistoryIntake

pytestmark = pytest.mark.integration

ANN = "14155552671@s.whatsapp.net"
BOB = "447911123456@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class CountedUsage(UsageCounters):
    """The real counters, remembering what was counted for this test's assertions."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.counted: list[Metric] = []

    def add(self, user_id: str, metric: Metric, n: int = 1, **kwargs: Any) -> None:
        self.counted.append(metric)
        super().add(user_id, metric, n, **kwargs)


class Setup:
    def __init__(self, services: Any) -> None:
        self.heard: list[str] = []
        self.identities = IdentityMap()
        self.usage = CountedUsage(services.redis)
        self.chats = ChatRepository()
        messages = MessageRepository()
        chat_ingestion = ChatIngestion(self.chats, messages, self.identities)
        self.ingestion = EventIngestion(SessionRepository(), LeaseRepository(), services.cache, messages,
                                        JournalRepository(), [lambda event: self.heard.append(event.type)],
                                        usage=self.usage, chats=chat_ingestion, groups=JoinedGroups(services.redis),
                                        history=HistoryProgress(services.redis))
        self.messages = messages
        user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="chats",
                    password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
        services.users.add(user)
        card, _, _ = services.sessions.create(user, name="chats", description="")
        self.tenant_id, self.session_id = user.user_id, card.session_id
        granted_lease(self.session_id, self.tenant_id)
        self._counter = 0

    def envelope(self) -> dict[str, Any]:
        self._counter += 1
        return {"session_id": self.session_id, "tenant_id": self.tenant_id, "seq": make_seq(1, self._counter),
                "worker_id": TEST_WORKER}

    def apply(self, event: AnyEvent) -> bool:
        # As it arrives from the queue.
        return self.ingestion.apply(event_from_dict(event.model_dump(mode="json")))

    def received(self, chat: str, at: datetime, text: str = "hi", *, from_me: bool = False,
                 kind: str = "text") -> MessageReceivedEvent:
        wa_id = f"3A{uuid.uuid4().hex[:12].upper()}"
        return MessageReceivedEvent(**self.envelope(), message_id=inbound_message_id(self.session_id, wa_id),
                                    wa_id=wa_id, chat_jid=chat, sender_jid=chat, is_from_me=from_me, kind=kind,
                                    text=text, timestamp=at, is_group=chat.endswith("@g.us"))

    def chat(self, chat: str) -> Any:
        found = self.chats.get(self.session_id, chat)
        assert found is not None
        return found


@pytest.fixture
def setup(services: Any) -> Setup:
    return Setup(services)


def test_unread_counts_once_per_message_and_a_read_on_the_phone_empties_it(setup: Setup) -> None:
    first = setup.received(ANN, T0, "hello there")
    assert setup.apply(first) is True
    assert setup.apply(first) is False, "a redelivery"
    chat = setup.chat(ANN)
    assert chat.unread_count == 1, "the redelivery counted nothing"
    assert chat.kind == "direct" and chat.last_message is not None
    assert (chat.last_message.message_id, chat.last_message.preview, chat.last_message.from_me) == (
        first.message_id, "hello there", False)

    # Twelve messages ingested at once (ingestion runs concurrently): no increment is lost.
    burst = [setup.received(ANN, T0 + timedelta(seconds=n + 1), f"n{n}") for n in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(pool.map(setup.apply, burst))
    chat = setup.chat(ANN)
    assert chat.unread_count == 13
    assert chat.last_message.preview == "n11", "the newest is the last message, whatever the order applied"

    read = ChatReadEvent(**setup.envelope(), chat_jid=ANN, read_at=T0 + timedelta(seconds=20))
    assert setup.apply(read) is True and setup.apply(read) is False
    assert setup.chat(ANN).unread_count == 0
    late = setup.received(ANN, T0 + timedelta(seconds=19), "sent before the read, arrived after it")
    setup.apply(late)
    assert setup.chat(ANN).unread_count == 0, "a message older than the read is read"
    assert setup.chat(ANN).last_message.preview == "sent before the read, arrived after it", "and the newest"
    setup.apply(setup.received(ANN, T0 + timedelta(seconds=30), "new"))
    assert setup.chat(ANN).unread_count == 1
    assert setup.heard.count("chat.read") == 2, "journaled once; the redelivery notified again, as every event does"
    assert setup.usage.counted.count(Metric.MESSAGES_RECEIVED) == 15, "live messages count, once each"


def test_writing_from_the_phone_reads_the_chat_and_reactions_are_not_chat_news(setup: Setup) -> None:
    setup.apply(setup.received(BOB, T0, "question?"))
    setup.apply(setup.received(BOB, T0 + timedelta(seconds=5), "👍", kind="reaction"))
    chat = setup.chat(BOB)
    assert chat.unread_count == 1 and chat.last_message.preview == "question?"
    setup.apply(setup.received(BOB, T0 + timedelta(seconds=10), "answer", from_me=True))
    chat = setup.chat(BOB)
    assert chat.unread_count == 0 and chat.last_message.from_me and chat.last_message.preview == "answer"


def test_chats_page_by_last_activity_and_filter_by_kind(setup: Setup) -> None:
    chats = [f"1415555{n:04d}@s.whatsapp.net" for n in range(5)]
    for n, jid in enumerate(chats):
        setup.apply(setup.received(jid, T0 + timedelta(minutes=n)))
    setup.apply(setup.received(GROUP, T0 + timedelta(minutes=10)))
    setup.apply(setup.received(chats[0], T0 + timedelta(minutes=20), "back on top"))

    seen: list[str] = []
    after = None
    while True:
        page, after = setup.chats.page(setup.session_id, kind=None, after=after, limit=2)
        seen += [chat.chat_jid for chat in page]
        if after is None:
            break
    assert seen == [chats[0], GROUP, chats[4], chats[3], chats[2], chats[1]]
    groups, cursor = setup.chats.page(setup.session_id, kind="group", after=None, limit=10)
    assert [chat.chat_jid for chat in groups] == [GROUP] and cursor is None
    direct, _ = setup.chats.page(setup.session_id, kind="direct", after=None, limit=10)
    assert len(direct) == 5


def history_message(setup: Setup, chat: str, at: datetime, text: str, *, from_me: bool = False) -> HistoryMessageInfo:
    wa_id = f"3AH{uuid.uuid4().hex[:12].upper()}"
    return HistoryMessageInfo(message_id=inbound_message_id(setup.session_id, wa_id), wa_id=wa_id, chat_jid=chat,
                              sender_jid=chat, from_me=from_me, kind="text", text=text, timestamp=at)


def test_history_is_stored_once_without_news_or_usage(setup: Setup) -> None:
    old = [history_message(setup, ANN, T0 - timedelta(hours=n), f"old {n}") for n in range(3)]
    mine = history_message(setup, GROUP, T0 - timedelta(days=2), "from me", from_me=True)
    sync_id = uuid.uuid4().hex
    # The worker's closing event overtakes the batch (the events queue keeps no order): it is
    # announced only once the batch is stored.
    done = SessionHistorySyncedEvent(**setup.envelope(), chats=2, messages=4, sync_id=sync_id, batches=1)
    assert setup.apply(done) is False and setup.heard == []
    batch = HistoryBatchEvent(
        **setup.envelope(), sync_id=sync_id, index=0, messages=[*old, mine],
        chats=[HistoryChatInfo(chat_jid=ANN, name="Ann", unread_count=2, pinned=True, last_activity=T0),
               HistoryChatInfo(chat_jid=GROUP, name="Team", archived=True,
                               muted_until=T0 + timedelta(days=7))],
        identities=[PhoneLidPair(phone_jid=ANN, lid_jid="100000000000002@lid")])
    assert setup.apply(batch) is True
    assert setup.heard == ["session.history_synced"], "the sync is stored: announced"
    assert setup.apply(batch) is True, "applying a batch again stores nothing twice"
    assert setup.usage.counted == [], "history is no received message"
    assert setup.apply(done) is False, "announced again (redelivered), journaled once"
    session_id = setup.envelope()["session_id"]
    assert setup.identities.phone_of(session_id, "100000000000002@lid") == "14155552671", "history's pairs are kept"

    ann = setup.chat(ANN)
    assert (ann.name, ann.unread_count, ann.pinned, ann.last_message.preview) == ("Ann", 2, True, "old 0")
    team = setup.chat(GROUP)
    assert team.kind == "group" and team.archived and team.muted and team.muted_until == T0 + timedelta(days=7)
    assert team.last_message.from_me
    records, _ = setup.messages.history(setup.session_id, chat_jid=ANN, before=None, limit=10)
    assert [r.payload["text"] for r in records] == ["old 0", "old 1", "old 2"]
    assert {r.source for r in records} == {"history"} and {r.direction for r in records} == {"in"}

    # Live news after history: history that comes again does not override it.
    setup.apply(setup.received(ANN, T0 + timedelta(minutes=1), "live"))
    assert setup.chat(ANN).unread_count == 3
    setup.apply(HistoryBatchEvent(**setup.envelope(), sync_id="later", index=0,
                                  chats=[HistoryChatInfo(chat_jid=ANN, name="Other", unread_count=9)]))
    ann = setup.chat(ANN)
    assert (ann.name, ann.unread_count, ann.last_message.preview) == ("Ann", 3, "live")
    assert setup.heard.count("session.history_synced") == 3
    journal = JournalRepository().after(setup.session_id, 0, 50)
    assert [e["type"] for e in journal].count("session.history_synced") == 1
    assert "history.batch" not in {e["type"] for e in journal}


def test_a_simulated_burst_through_the_worker_intake_fills_the_list(setup: Setup) -> None:
    now = datetime.now(UTC)
    intake = HistoryIntake(lambda _: "recent", now=lambda: now)
    for batch in simulated_history(setup.session_id, 60, now, "15551234567:1@s.whatsapp.net"):
        for event in intake.events(setup.session_id, batch, setup.envelope):
            setup.apply(event)
    page, _ = setup.chats.page(setup.session_id, kind=None, after=None, limit=10)
    assert [chat.chat_jid for chat in page] == ["14155560000@s.whatsapp.net", "14155560001@s.whatsapp.net"]
    assert page[0].last_message is not None and page[0].last_message.preview == "History message 1 of chat 1"
    assert setup.heard == ["session.history_synced"]


def test_group_chats_are_named_by_the_groups_subject(setup: Setup) -> None:
    joined = GroupJoinedEvent(**setup.envelope(), group=Group(jid=GROUP, subject="Team"), reason="added")
    older_rename = GroupUpdatedEvent(**{**setup.envelope(), "seq": make_seq(1, 0)}, group_jid=GROUP,
                                     changes={"subject": "Old name"})
    renamed = GroupUpdatedEvent(**setup.envelope(), group_jid=GROUP, changes={"subject": "Team 2"})
    setup.apply(joined)
    assert setup.chat(GROUP).name == "Team" and setup.chat(GROUP).kind == "group"
    setup.apply(renamed)
    setup.ingestion.apply(older_rename)
    assert setup.chat(GROUP).name == "Team 2", "an older rename arriving late changes nothing"
