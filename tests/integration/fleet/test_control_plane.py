"""The control plane's side of the fleet: event ingestion (stale events never win), the
reaper, internal event ingestion with the worker token, and the admin fleet routes."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.leases import granted_lease
from whatsam.adapters.aws import client
from whatsam.adapters.messages import JournalRepository
from whatsam.adapters.workers import WorkerInfo
from whatsam.bootstrap import Container
from whatsam.contracts.commands import ConnectSession, DisconnectSession, decode_command
from whatsam.contracts.events import SessionQrEvent, SessionStatusEvent, make_seq
from whatsam.domain.model import Role, SessionStatus, User, utcnow
from whatsam.services.event_admission import RefusedEvent
from whatsam.services.routing import inbox_queue_name

pytestmark = pytest.mark.integration


def _card(services: Container, owner: User, *, fence: int = 1) -> str:
    """A new card whose lease was last granted to `w-1`, at `fence` (earlier grants went to others)."""
    card, _, _ = services.sessions.create(owner, name="line", description="")
    for n in range(1, fence):
        granted_lease(card.session_id, owner.user_id, f"w-before-{n}")
    assert granted_lease(card.session_id, owner.user_id, "w-1").fence == fence
    return card.session_id


def _status(owner: User, session_id: str, seq: int, status: str, **extra: Any) -> SessionStatusEvent:
    return SessionStatusEvent(session_id=session_id, tenant_id=owner.user_id, seq=seq, status=status,
                              worker_id="w-1", **extra)


def test_stale_events_never_overwrite_newer_state(services: Container, owner: User) -> None:
    session_id = _card(services, owner, fence=2)
    ingestion = services.ingestion
    assert ingestion.apply(_status(owner, session_id, make_seq(2, 1), "connected", phone="15550001111"))
    # Late arrivals from an older lease holder (fence 1), and a replay of the same event.
    assert not ingestion.apply(_status(owner, session_id, make_seq(1, 9), "disconnected"))
    assert not ingestion.apply(_status(owner, session_id, make_seq(2, 1), "connected"))
    card = services.sessions.get(owner, session_id)
    assert (card.status, card.phone, card.worker_id) == (SessionStatus.CONNECTED, "15550001111", "w-1")
    assert ingestion.apply(_status(owner, session_id, make_seq(2, 2), "logged_out"))
    card = services.sessions.get(owner, session_id)
    assert (card.status, card.phone, card.worker_id) == (SessionStatus.LOGGED_OUT, None, None)


def test_an_event_for_another_tenant_is_refused(services: Container, owner: User) -> None:
    session_id = _card(services, owner)
    forged = SessionStatusEvent(session_id=session_id, tenant_id="usr_someone_else", seq=make_seq(1, 1),
                                status="connected", worker_id="w-1")
    with pytest.raises(RefusedEvent):
        services.ingestion.apply(forged)
    assert services.sessions.get(owner, session_id).status is SessionStatus.DISCONNECTED


def test_qr_is_kept_only_if_newer_and_cleared_on_connect(services: Container, owner: User) -> None:
    session_id = _card(services, owner)
    qr = {"session_id": session_id, "tenant_id": owner.user_id, "worker_id": "w-1", "expires_in": 20}
    services.ingestion.apply(SessionQrEvent(**qr, seq=make_seq(1, 2), qr="2@newer"))
    services.ingestion.apply(SessionQrEvent(**qr, seq=make_seq(1, 1), qr="2@older"))
    assert services.status.current_qr(owner, session_id)["qr"] == "2@newer"
    assert services.sessions.get(owner, session_id).status is SessionStatus.QR
    services.ingestion.apply(_status(owner, session_id, make_seq(1, 3), "connected"))
    assert services.cache.get_qr(session_id) is None


def test_reaper_declares_stale_workers_offline_and_requeues_their_sessions(
        services: Container, owner: User, settings: Any) -> None:
    dead, alive = f"dead-{uuid.uuid4().hex[:6]}", f"alive-{uuid.uuid4().hex[:6]}"
    long_ago = utcnow() - timedelta(minutes=5)
    for worker_id, beat in ((dead, long_ago), (alive, utcnow())):
        services.workers.register(WorkerInfo(worker_id=worker_id, status="online", endpoint="", inbox_url="",
                                             capacity=5, version="t", engine="simulated", started_at=long_ago,
                                             last_heartbeat=beat))
    session_id = _card(services, owner)
    assert services.leases.acquire(session_id, owner.user_id, dead) is not None
    sqs = client("sqs", settings)
    inbox = sqs.create_queue(QueueName=inbox_queue_name(settings, dead),
                             Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=inbox, MessageBody=DisconnectSession(session_id=session_id,
                                                                   tenant_id=owner.user_id).to_json(),
                     MessageGroupId=session_id, MessageDeduplicationId=uuid.uuid4().hex)

    report = services.reaper.run()
    assert dead in report.offline and alive not in report.offline
    assert session_id in report.requeued
    assert services.workers.get(dead).status == "offline"  # type: ignore[union-attr]
    assert not services.leases.get(session_id).live()  # type: ignore[union-attr]
    assert services.reaper.run().requeued == [], "running it again moves nothing twice"

    connect_url = sqs.get_queue_url(QueueName=settings.queue_name("connect"))["QueueUrl"]
    commands = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=connect_url, MaxNumberOfMessages=10).get("Messages", []):
            command = decode_command(message["Body"])
            if command.session_id == session_id:
                commands.append(command)
                sqs.delete_message(QueueUrl=connect_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=connect_url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
        if commands:
            break
    assert [c.type for c in commands] == ["session.connect"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=inbox_queue_name(settings, dead))


def test_a_stopped_worker_is_reaped_at_once_and_its_cards_read_reconnecting(
        services: Container, owner: User, settings: Any, chalice_app: Any) -> None:
    """ECS's task-stopped event (what `whatsam dev` sends when a worker process exits) moves the
    worker's sessions now, whatever its last heartbeat; a late event of the dead holder cannot
    put the card back on it; a connect that waited in its inbox goes back on the connect queue."""
    from whatsam.dev.event_sources import ecs_task_stopped_event, put_event

    dead = f"killed-{uuid.uuid4().hex[:6]}"
    services.workers.register(WorkerInfo(worker_id=dead, status="online", endpoint="", inbox_url="", capacity=5,
                                         version="t", engine="simulated", started_at=utcnow(),
                                         last_heartbeat=utcnow()))
    session_id, waiting = _card(services, owner), _card(services, owner)
    lease = services.leases.acquire(session_id, owner.user_id, dead)
    assert lease is not None
    assert services.ingestion.apply(SessionStatusEvent(session_id=session_id, tenant_id=owner.user_id,
                                                       seq=make_seq(lease.fence, 1), status="connected",
                                                       worker_id=dead, phone="15550003333"))
    sqs = client("sqs", settings)
    inbox = sqs.create_queue(QueueName=inbox_queue_name(settings, dead), Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=inbox, MessageBody=ConnectSession(
        session_id=waiting, tenant_id=owner.user_id, status_version=1, requested_at=utcnow()).to_json(),
        MessageGroupId=waiting, MessageDeduplicationId=uuid.uuid4().hex)

    [report] = put_event(chalice_app, ecs_task_stopped_event(dead, settings.aws_region, "killed"))
    assert report["offline"] == [dead] and report["requeued"] == [session_id] and report["rerouted"] == 1
    card = services.sessions.get(owner, session_id)
    assert (card.status, card.worker_id, card.phone) == (SessionStatus.RECONNECTING, None, "15550003333")
    late = SessionStatusEvent(session_id=session_id, tenant_id=owner.user_id, seq=make_seq(lease.fence, 2),
                              status="connected", worker_id=dead)
    assert not services.ingestion.apply(late), "the dead holder's queued events are stale now"
    assert services.sessions.get(owner, session_id).status is SessionStatus.RECONNECTING
    assert services.reaper.worker_stopped(dead).requeued == [], "a second report moves nothing twice"
    journal = JournalRepository().after(session_id, 0, 10)
    assert [(e["type"], e.get("status")) for e in journal] == [("session.status", "connected"),
                                                                ("session.status", "reconnecting")]

    connect_url = sqs.get_queue_url(QueueName=settings.queue_name("connect"))["QueueUrl"]
    seen: set[str] = set()
    deadline = time.monotonic() + 10
    while {session_id, waiting} - seen and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=connect_url, MaxNumberOfMessages=10).get("Messages", []):
            command = decode_command(message["Body"])
            if command.session_id in (session_id, waiting):
                seen.add(command.session_id)
                sqs.delete_message(QueueUrl=connect_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=connect_url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
    assert seen == {session_id, waiting}


def test_internal_events_need_the_worker_token(api: Any, services: Container, owner: User) -> None:
    session_id = _card(services, owner)
    event = json.loads(_status(owner, session_id, make_seq(1, 1), "connected", phone="15550002222").to_json())
    assert api.call("POST", "/v1/internal/events", json_body={"events": [event]}).status == 401
    assert api.call("POST", "/v1/internal/events", json_body={"events": [event]},
                    token="not-the-worker-token").status == 401
    reply = api.call("POST", "/v1/internal/events", json_body={"events": [event]},
                     token=services.settings.worker_token)
    assert (reply.status, reply.body) == (202, {"accepted": 1, "applied": 1})
    assert services.sessions.get(owner, session_id).phone == "15550002222"
    bad = api.call("POST", "/v1/internal/events", json_body={"events": [{**event, "type": "session.nope"}]},
                   token=services.settings.worker_token)
    assert (bad.status, bad.body["error"]["code"]) == (400, "validation_error")


def test_admin_fleet_routes(api: Any, services: Container) -> None:
    user = api.register()
    token, user_id = user["access_token"], user["user"]["id"]
    assert api.call("GET", "/v1/admin/workers", token=token).body["error"]["code"] == "admin_required"
    services.users.update_plan(user_id, role=Role.ADMIN)
    worker_id = f"drainable-{uuid.uuid4().hex[:6]}"
    services.workers.register(WorkerInfo(worker_id=worker_id, status="online", endpoint="", inbox_url="",
                                         capacity=5, version="t", engine="simulated", started_at=utcnow(),
                                         last_heartbeat=utcnow()))
    listed = api.call("GET", "/v1/admin/workers", token=token)
    assert listed.status == 200 and worker_id in [w["id"] for w in listed.body["workers"]]
    drained = api.call("POST", f"/v1/admin/workers/{worker_id}/drain", token=token)
    assert (drained.status, drained.body["status"]) == (202, "draining")
    assert api.call("POST", "/v1/admin/workers/nope/drain", token=token).status == 404


def test_subscribers_hear_applied_and_redelivered_events_never_stale_ones(services: Container, owner: User) -> None:
    from whatsam.adapters.messages import JournalRepository, MessageRepository
    from whatsam.adapters.repositories import SessionRepository
    from whatsam.services.ingestion import EventIngestion

    heard: list[str] = []
    ingestion = EventIngestion(SessionRepository(), services.leases, services.cache, MessageRepository(),
                               JournalRepository(), [lambda e: heard.append(e.event_id)])
    session_id = _card(services, owner, fence=3)
    newer = _status(owner, session_id, make_seq(3, 1), "connected")
    older = _status(owner, session_id, make_seq(2, 7), "disconnected")
    assert ingestion.apply(newer) is True
    # Redelivery (say a subscriber failed the first time): no state change, but heard again.
    assert ingestion.apply(newer) is False
    assert ingestion.apply(older) is False
    assert heard == [newer.event_id, newer.event_id]


def test_a_failing_subscriber_fails_the_sqs_record_for_redelivery(chalice_app: Any, services: Container,
                                                                  owner: User) -> None:
    """The Lambda handler reports only the bad records as batch failures (partial batch response)."""
    session_id = _card(services, owner)
    good = _status(owner, session_id, make_seq(1, 1), "connecting")
    records = [{"messageId": "m-good", "receiptHandle": "r1", "body": good.to_json(), "attributes": {},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:events", "awsRegion": "us-east-1"},
               {"messageId": "m-bad", "receiptHandle": "r2", "body": '{"type": "session.status"}',
                "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:events", "awsRegion": "us-east-1"}]
    from whatsam.dev.event_sources import LambdaContext

    result = chalice_app.handler_map["ingest_events"]({"Records": records},
                                                      LambdaContext("ingest_events", time.monotonic() + 30))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert services.sessions.get(owner, session_id).status is SessionStatus.CONNECTING
