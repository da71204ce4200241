"""Real worker processes (simulated engine) against the moto server and Redis: a crashed
engine shard is recovered, and SIGTERM drains a worker by handing its sessions over."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.fleet.conftest import WorkerProcess, queue_drained, wait_for_card
from tests.support.waiting import wait_until
from whatsam.adapters.workers import WorkerRepository
from whatsam.bootstrap import Container
from whatsam.contracts.commands import ConnectSession, DevScan, DisconnectSession
from whatsam.domain.model import SessionStatus, User, utcnow

pytestmark = pytest.mark.integration


def _health(worker: WorkerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{worker.endpoint}/health", timeout=5) as response:
        return dict(json.loads(response.read()))


def _connected_session(services: Container, owner: User, holder: WorkerProcess) -> tuple[str, str]:
    card, _, _ = services.sessions.create(owner, name="line", description="")
    services.sessions.connect(owner, card.session_id)
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.QR and c.worker_id == holder.worker_id)
    services.router.send(holder.worker_id, card.session_id, DevScan(session_id=card.session_id,
                                                                    tenant_id=card.tenant_id))
    connected = wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.CONNECTED)
    assert connected.phone
    return card.session_id, connected.phone


def test_crashed_shard_is_noticed_and_its_session_reconnects_without_a_scan(
        services: Container, owner: User, ingest: None, start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"crash-{os.getpid()}")
    session_id, phone = _connected_session(services, owner, worker)
    first_fence = services.leases.get(session_id).fence  # type: ignore[union-attr]

    [shard] = worker.shard_pids()
    os.kill(shard, signal.SIGKILL)  # what a Go "concurrent map writes" abort looks like from outside

    back = wait_for_card(services, session_id, lambda c: c.status is SessionStatus.CONNECTED
                         and services.leases.get(session_id).fence > first_fence)  # type: ignore[union-attr]
    assert back.phone == phone and back.worker_id == worker.worker_id
    assert worker.process.poll() is None, "the worker itself survived"
    health = _health(worker)
    # Other tests' leftover connect commands may land here too; judge only this session.
    assert health["shard_crashes"] == 1 and session_id in health["hosted"]
    assert worker.shard_pids() and worker.shard_pids() != [shard], "a fresh shard replaced the dead one"
    assert "whatsam_worker_shard_crashes_total 1.0" in _metrics(worker)


def test_sigterm_drain_hands_sessions_to_another_worker(
        services: Container, owner: User, ingest: None, start_worker: Callable[[str], WorkerProcess]) -> None:
    leaving = start_worker(f"leaving-{os.getpid()}")
    session_id, phone = _connected_session(services, owner, leaving)
    staying = start_worker(f"staying-{os.getpid()}")

    started = time.monotonic()
    assert leaving.terminate() == 0
    assert time.monotonic() - started < 120, "drained well inside ECS's stopTimeout"

    moved = wait_for_card(services, session_id, lambda c: c.status is SessionStatus.CONNECTED
                          and c.worker_id == staying.worker_id)
    assert moved.phone == phone, "restored from the drained worker's snapshot: no new scan"
    registry = WorkerRepository().get(leaving.worker_id)
    assert registry is not None and registry.status == "offline"
    assert services.leases.get(session_id).worker_id == staying.worker_id  # type: ignore[union-attr]


def _metrics(worker: WorkerProcess) -> str:
    with urllib.request.urlopen(f"{worker.endpoint}/metrics", timeout=5) as response:
        return response.read().decode()


def test_duplicate_connects_across_workers_never_open_two_sockets(
        services: Container, owner: User, ingest: None, start_worker: Callable[[str], WorkerProcess]) -> None:
    """Three workers race for the same session, delivered five times over, for three sessions."""
    workers = [start_worker(f"race-{i}-{os.getpid()}") for i in range(3)]
    sessions = []
    for _ in range(3):
        card, _, _ = services.sessions.create(owner, name="raced", description="")
        connecting = services.sessions.connect(owner, card.session_id)
        for _ in range(4):  # redeliveries and retries of the same command
            services.queues.publish("connect", ConnectSession(
                session_id=card.session_id, tenant_id=card.tenant_id,
                status_version=connecting.status_version, requested_at=utcnow()))
        sessions.append(card.session_id)
    for session_id in sessions:
        wait_for_card(services, session_id, lambda c: c.status is SessionStatus.QR)
    wait_until(lambda: queue_drained(services, services.queues.url("connect"), in_flight=False),
               what="every duplicate taken off the connect queue")
    hosted = {w.worker_id: set(_health(w)["hosted"]) for w in workers}
    for session_id in sessions:
        holders = [worker_id for worker_id, ids in hosted.items() if session_id in ids]
        assert holders == [services.leases.get(session_id).worker_id], "open on exactly one worker: the holder"  # type: ignore[union-attr]
    assert all("whatsam_worker_sessions" in _metrics(w) for w in workers)


def test_a_command_the_engine_refuses_never_holds_back_the_sessions_next_ones(
        services: Container, owner: User, ingest: None, start_worker: Callable[[str], WorkerProcess]) -> None:
    """The inbox is FIFO per session: a scan of an already linked session (refused by the
    engine) used to be redelivered forever, and every later command of the session waited."""
    worker = start_worker(f"refused-{os.getpid()}")
    session_id, _ = _connected_session(services, owner, worker)
    card = services.sessions.get(owner, session_id)
    services.router.send(worker.worker_id, session_id, DevScan(session_id=session_id, tenant_id=card.tenant_id))
    services.router.send(worker.worker_id, session_id, DisconnectSession(session_id=session_id,
                                                                         tenant_id=card.tenant_id))
    # Well inside the refused command's 60 s visibility timeout, which it used to wait out.
    wait_for_card(services, session_id, lambda c: c.status is SessionStatus.DISCONNECTED, timeout=30)
    assert worker.process.poll() is None
