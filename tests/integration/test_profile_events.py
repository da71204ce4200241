"""Presence and call events on the worker and through ingestion (real Redis, the moto server): the
engine's events map to control-plane events that survive the queue's JSON; ingestion journals
them once; a call is rejected when the session's settings say so, and its reject message is one
queued text however often the offer is seen. A session with a proxy opens through it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.leases import TEST_WORKER, granted_lease
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.contracts.events import event_from_dict, make_seq
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.domain.tiers import Tier
from whatsam.messaging.status import MessageStatus
from whatsam.security.passwords import hash_password
from whatsam.services.ingestion import EventIngestion
from whatsam.services.session_proxy import ProxySealer
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.ssrf import SsrfGuard
from worker_fleet.config import WorkerConfig
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.profile import CallEnded, CallOffered, ChatPresenceChanged, PresenceUpdated
from worker_fleet.host import HostDeps, HostedSession, SessionHost
from worker_fleet.profile_events import CallRejecter, contact_event

pytestmark = pytest.mark.integration

CALLER = "14155552671@s.whatsapp.net"


@pytest.fixture
def owned(services: Any) -> tuple[User, str]:
    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="calls",
                password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(user)
    card, _, _ = services.sessions.create(user, name="calls", description="")
    return user, card.session_id


class EngineStandIn:
    """The shard call the rejecter makes, recorded; `refuse` makes the engine refuse it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.refuse = False

    def __call__(self, operation: str, session_id: str, **args: Any) -> None:
        self.calls.append((operation, session_id, args))
        if self.refuse:
            raise EngineRefusedError("call_not_found", "it stopped ringing")


def test_events_map_journal_once_and_reach_subscribers(services: Any, owned: tuple[User, str]) -> None:
    user, session_id = owned
    granted_lease(session_id, user.user_id)
    heard: list[dict[str, Any]] = []
    ingestion = EventIngestion(SessionRepository(), LeaseRepository(), services.cache, MessageRepository(),
                               JournalRepository(), [lambda event: heard.append(event.model_dump(mode="json"))])
    seen_at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    engine_events = [PresenceUpdated(CALLER, "unavailable", seen_at), ChatPresenceChanged(CALLER, CALLER, "recording"),
                     CallOffered("CALL1", CALLER, True, False), CallEnded("CALL1", CALLER, "rejected")]
    for counter, engine_event in enumerate(engine_events, 1):
        envelope = {"session_id": session_id, "tenant_id": user.user_id, "seq": make_seq(1, counter),
                    "worker_id": TEST_WORKER}
        event = event_from_dict(contact_event(envelope, engine_event).model_dump(mode="json"))
        assert ingestion.apply(event) is True
        assert ingestion.apply(event) is False, "a redelivery is recognised by its (session, seq)"
    journal = JournalRepository().after(session_id, 0, 10)
    assert [entry["type"] for entry in journal] == ["presence.updated", "chat.presence", "call.received", "call.ended"]
    presence, typing, received, ended = heard[0], heard[2], heard[4], heard[6]
    assert (presence["chat"], presence["state"], presence["last_seen"]) == (CALLER, "unavailable",
                                                                             "2024-06-01T12:00:00Z")
    assert (typing["participant"], typing["state"]) == (CALLER, "recording")
    assert {k: received[k] for k in ("call_id", "from", "video", "group")} == {
        "call_id": "CALL1", "from": CALLER, "video": True, "group": False}
    assert (ended["from"], ended["reason"]) == (CALLER, "rejected")


def test_a_call_is_rejected_only_when_the_settings_say_so(owned: tuple[User, str]) -> None:
    user, session_id = owned
    engine, settings, messages = EngineStandIn(), SessionSettingsRepository(), MessageRepository()
    rejecter = CallRejecter(engine, settings, SessionRepository(), messages)
    offer = CallOffered("CALL7", CALLER, False, False)
    assert rejecter.on_offer(session_id, user.user_id, offer) is False
    assert engine.calls == [], "reject_calls is off by default"

    settings.change(session_id, {"reject_calls": True})
    assert rejecter.on_offer(session_id, user.user_id, offer) is False, "no message to send"
    assert engine.calls == [("reject_call", session_id, {"call_id": "CALL7"})]

    settings.change(session_id, {"reject_message": "Busy, text me"})
    ringing = CallOffered("CALL8", CALLER, False, False)
    assert rejecter.on_offer(session_id, user.user_id, ringing) is True
    assert rejecter.on_offer(session_id, user.user_id, ringing) is False, "the same offer again queues nothing"
    (queued,) = [m for m in messages.pending(session_id, 10) if m.chat_jid == CALLER]
    assert (queued.type, queued.payload, queued.status) == ("text", {"text": "Busy, text me"}, MessageStatus.QUEUED)
    assert queued.send_seq is not None and queued.tenant_id == user.user_id

    engine.refuse = True
    assert rejecter.on_offer(session_id, user.user_id, CallOffered("CALL9", CALLER, False, False)) is False
    assert len(messages.pending(session_id, 10)) == 1, "a call that could not be rejected gets no message"
    group_call = CallOffered("CALLG", CALLER, False, True)
    engine.refuse = False
    assert rejecter.on_offer(session_id, user.user_id, group_call) is False, "group calls get no message"
    assert engine.calls[-1] == ("reject_call", session_id, {"call_id": "CALLG"})


class SupervisorStandIn:
    def __init__(self) -> None:
        self.opened: list[tuple[str, dict[str, Any]]] = []

    def call(self, op: str, session_id: str, **args: Any) -> None:
        assert op == "open"
        self.opened.append((session_id, args))


def test_a_session_opens_through_its_own_proxy_at_the_next_connect(settings: Any, owned: tuple[User, str],
                                                                   tmp_path: Any) -> None:
    user, session_id = owned
    sealer = ProxySealer(SecretBox(settings), SsrfGuard(allow_insecure=True), dev_mode=True)
    supervisor = SupervisorStandIn()
    deps = HostDeps(leases=None, auth_state=None, sessions=SessionRepository(), cache=None, router=None,  # type: ignore[arg-type]
                    queues=None, sink=None, messages=MessageRepository(), media=None, pacing=None,  # type: ignore[arg-type]
                    fetch_url=None, proxies=sealer)  # type: ignore[arg-type]
    host = SessionHost(WorkerConfig(worker_id="w-proxy", data_dir=tmp_path), deps, supervisor)  # type: ignore[arg-type]
    hosted = HostedSession(session_id, user.user_id, None, tmp_path / "store")  # type: ignore[arg-type]
    host._open(hosted)
    proxy = sealer.seal("socks5://ann:pw@127.0.0.1:1080", tenant_id=user.user_id, session_id=session_id)
    SessionSettingsRepository().change(session_id, {"proxy": proxy.shown, "proxy_sealed": proxy.sealed})
    host._open(hosted)
    assert supervisor.opened == [
        (session_id, {"store_path": str(tmp_path / "store")}),
        (session_id, {"store_path": str(tmp_path / "store"), "proxy_url": "socks5://ann:pw@127.0.0.1:1080"})]
    without_box = SessionHost(WorkerConfig(worker_id="w-proxy"), dataclasses.replace(deps, proxies=None), supervisor)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="proxy"):
        without_box._open(hosted)
    assert len(supervisor.opened) == 2, "never without the proxy it asked for"
