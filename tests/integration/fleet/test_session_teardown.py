"""Deleting a session, or deactivating its owner, ends its WhatsApp link without relying on
its worker: the lease is revoked (the holder's renewals and snapshots are refused, even after
the purge), the holder is told to log out, and what the control plane stores is purged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from whatsam.adapters.auth_state import AuthStateStore, StaleFence, auth_state_prefix
from whatsam.adapters.aws import client
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import Lease
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import ApiKeyRepository, SessionRepository
from whatsam.bootstrap import Container
from whatsam.config import Settings
from whatsam.contracts.commands import LogoutSession, decode_command
from whatsam.contracts.events import GroupJoinedEvent, MessageReceivedEvent, SessionStatusEvent, make_seq
from whatsam.contracts.groups import Group
from whatsam.domain.model import Role, SessionStatus, utcnow
from whatsam.services.event_admission import RefusedEvent
from whatsam.services.routing import inbox_queue_name

pytestmark = pytest.mark.integration

CHAT = "14155552671@s.whatsapp.net"


@dataclass
class LinkedLine:
    """A session held by a pretend worker (a real inbox queue, no process): linked, with
    credentials in S3, a QR in Redis, a message and journal entries."""

    user_id: str
    token: str
    session_id: str
    api_key: str
    lease: Lease
    inbox_url: str


def _linked_line(api: Any, services: Container, settings: Settings) -> LinkedLine:
    account = api.register()
    token, user_id = account["access_token"], account["user"]["id"]
    card = api.call("POST", "/v1/sessions", json_body={"name": "line"}, token=token).body
    worker_id = f"w-{uuid.uuid4().hex[:8]}"
    inbox_url = client("sqs", settings).create_queue(QueueName=inbox_queue_name(settings, worker_id),
                                                     Attributes={"FifoQueue": "true"})["QueueUrl"]
    lease = services.leases.acquire(card["id"], user_id, worker_id)
    assert lease is not None
    services.cache.set_route(card["id"], worker_id, 60)
    _auth_state(services, settings).save(lease, b"linked device credentials")
    envelope = {"session_id": card["id"], "tenant_id": user_id, "worker_id": worker_id}
    services.ingestion.apply(SessionStatusEvent(**envelope, seq=make_seq(lease.fence, 1), status="connected",
                                                phone="15550001111"))
    services.ingestion.apply(MessageReceivedEvent(**envelope, seq=make_seq(lease.fence, 2), message_id="msg_in"
                                                  + uuid.uuid4().hex[:20], wa_id="WA1", chat_jid=CHAT,
                                                  sender_jid=CHAT, kind="text", text="hi", timestamp=utcnow()))
    services.cache.put_qr(card["id"], make_seq(lease.fence, 3), {"qr": "2@x"}, ttl_ms=60_000)
    services.ingestion.apply(GroupJoinedEvent(**envelope, seq=make_seq(lease.fence, 4), reason="invite",
                                              group=Group(jid="120363000000000001@g.us", subject="Team")))
    assert JoinedGroups(services.redis).groups(card["id"]), "the session's joined-group list holds the group"
    return LinkedLine(user_id, token, card["id"], card["api_key"]["key"], lease, inbox_url)


def _auth_state(services: Container, settings: Settings) -> AuthStateStore:
    return AuthStateStore(settings, services.leases)


def stored_credentials(settings: Settings, tenant_id: str, session_id: str) -> list[str]:
    """Every version of the session's auth-state snapshots (the bucket is versioned)."""
    listed = client("s3", settings).list_object_versions(Bucket=settings.bucket_name("auth-state"),
                                                          Prefix=auth_state_prefix(tenant_id, session_id))
    return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]


def _inbox(settings: Settings, line: LinkedLine) -> list[Any]:
    received = client("sqs", settings).receive_message(QueueUrl=line.inbox_url, MaxNumberOfMessages=10)
    return [decode_command(m["Body"]) for m in received.get("Messages", [])]


def _holder_is_fenced_off(services: Container, settings: Settings, line: LinkedLine) -> None:
    """The former holder can neither renew nor snapshot, and a refused snapshot leaves nothing."""
    assert services.leases.renew(line.lease) is None
    with pytest.raises(StaleFence):
        _auth_state(services, settings).save(line.lease, b"credentials written after the purge")
    assert stored_credentials(settings, line.user_id, line.session_id) == []


def test_deleting_a_linked_session_stops_it_and_purges_everything(api: Any, services: Container,
                                                                  settings: Settings) -> None:
    line = _linked_line(api, services, settings)
    assert stored_credentials(settings, line.user_id, line.session_id)

    assert api.call("DELETE", f"/v1/sessions/{line.session_id}", token=line.token).status == 204

    assert [type(c) for c in _inbox(settings, line)] == [LogoutSession], "the holder is told to log out"
    lease = services.leases.get(line.session_id)
    assert lease is not None and lease.revoked == "deleted" and not lease.live()
    assert services.leases.acquire(line.session_id, line.user_id, line.lease.worker_id) is None
    assert services.leases.acquire(line.session_id, line.user_id, "w-another") is None, "never granted again"
    _holder_is_fenced_off(services, settings, line)
    assert services.cache.get_qr(line.session_id) is None and services.cache.get_route(line.session_id) is None
    assert JoinedGroups(services.redis).groups(line.session_id) == [], "its joined-group list is gone too"
    assert SessionRepository().get(line.session_id) is None
    assert ApiKeyRepository().list_for_session(line.session_id) == []
    assert MessageRepository().history(line.session_id, chat_jid=None, before=None, limit=10) == ([], None)
    assert JournalRepository().after(line.session_id, 0, 10) == []
    assert api.call("GET", f"/v1/sessions/{line.session_id}", token=line.token).status == 404
    assert api.call("GET", "/v1/session", api_key=line.api_key).status == 401
    # What the holder still sends is refused: nothing is stored or delivered for the session.
    with pytest.raises(RefusedEvent):
        services.ingestion.apply(MessageReceivedEvent(
            session_id=line.session_id, tenant_id=line.user_id, worker_id=line.lease.worker_id,
            seq=make_seq(line.lease.fence, 9), message_id="msg_late" + uuid.uuid4().hex[:16], wa_id="WA2",
            chat_jid=CHAT, sender_jid=CHAT, kind="text", text="late", timestamp=utcnow()))


def test_deleting_a_session_no_worker_holds_reserves_its_lease(api: Any, services: Container) -> None:
    account = api.register()
    card = api.call("POST", "/v1/sessions", json_body={"name": "idle"}, token=account["access_token"]).body
    assert api.call("DELETE", f"/v1/sessions/{card['id']}", token=account["access_token"]).status == 204
    # A connect command still on the queue can never claim it.
    assert services.leases.acquire(card["id"], account["user"]["id"], "w-late") is None


def test_deactivating_a_user_unlinks_their_sessions_and_keeps_their_cards(api: Any, services: Container,
                                                                          settings: Settings) -> None:
    admin = api.register()
    services.users.update_plan(admin["user"]["id"], role=Role.ADMIN)
    line = _linked_line(api, services, settings)

    reply = api.call("PATCH", f"/v1/admin/users/{line.user_id}", json_body={"active": False},
                     token=admin["access_token"])
    assert (reply.status, reply.body["active"]) == (200, False)

    assert [type(c) for c in _inbox(settings, line)] == [LogoutSession]
    _holder_is_fenced_off(services, settings, line)
    card = SessionRepository().get(line.session_id)
    assert card is not None
    assert (card.status, card.phone, card.worker_id) == (SessionStatus.LOGGED_OUT, None, None)
    assert services.cache.get_qr(line.session_id) is None
    # The holder's events still on their way cannot show it linked again; its messages stay.
    late = SessionStatusEvent(session_id=line.session_id, tenant_id=line.user_id, worker_id=line.lease.worker_id,
                              seq=make_seq(line.lease.fence, 9), status="connected", phone="15550001111")
    assert not services.ingestion.apply(late)
    assert SessionRepository().get(line.session_id).status is SessionStatus.LOGGED_OUT  # type: ignore[union-attr]
    assert len(MessageRepository().history(line.session_id, chat_jid=None, before=None, limit=10)[0]) == 1
    assert ApiKeyRepository().list_for_session(line.session_id)

    # Nobody may claim it meanwhile: not a connect still queued, nor a drained worker's re-queue.
    assert services.leases.acquire(line.session_id, line.user_id, "w-next") is None
    # Reactivated, the owner can link the session again.
    assert api.call("PATCH", f"/v1/admin/users/{line.user_id}", json_body={"active": True},
                    token=admin["access_token"]).status == 200
    again = services.leases.acquire(line.session_id, line.user_id, "w-next")
    assert again is not None and again.revoked is None and again.fence > line.lease.fence
