"""A real worker (simulated engine) whose session is deleted, or whose lease the control
plane revokes without the LogoutSession ever arriving: it stops the session, unlinks the
device, and keeps no credentials, locally or in S3."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.fleet.conftest import WorkerProcess
from tests.integration.fleet.test_session_teardown import stored_credentials
from tests.integration.fleet.test_worker_process import _connected_session, _health
from whatsam.bootstrap import Container
from whatsam.config import Settings
from whatsam.domain.model import User
from worker_fleet.config import WorkerConfig

pytestmark = pytest.mark.integration


def _wait_until_dropped(worker: WorkerProcess, session_id: str, timeout: float = 30) -> None:
    """Until the worker no longer hosts the session nor keeps its local store (logged out)."""
    deadline = time.monotonic() + timeout
    while session_id in _health(worker)["hosted"] or _store_path(worker, session_id).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{worker.worker_id} still hosts {session_id} or keeps its store")
        time.sleep(0.2)


def _store_path(worker: WorkerProcess, session_id: str) -> Path:
    return WorkerConfig(worker_id=worker.worker_id).data_dir / worker.worker_id / f"{session_id}.sqlite3"


def test_deleting_a_connected_session_stops_it_and_a_drain_writes_nothing_back(
        services: Container, owner: User, settings: Settings, ingest: None,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"deleting-{os.getpid()}")
    session_id, _ = _connected_session(services, owner, worker)
    assert stored_credentials(settings, owner.user_id, session_id), "the pairing was snapshotted"

    services.sessions.delete(owner, session_id)

    _wait_until_dropped(worker, session_id)
    assert stored_credentials(settings, owner.user_id, session_id) == []
    assert worker.terminate() == 0  # the drain every deploy runs: it snapshots what it holds
    assert stored_credentials(settings, owner.user_id, session_id) == []


def test_a_revoked_lease_unlinks_the_device_even_without_the_logout_command(
        services: Container, owner: User, settings: Settings, ingest: None,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"revoked-{os.getpid()}")
    session_id, _ = _connected_session(services, owner, worker)
    assert _store_path(worker, session_id).exists()
    snapshots = stored_credentials(settings, owner.user_id, session_id)

    services.leases.revoke(session_id, owner.user_id, "deleted")  # and the LogoutSession got lost

    _wait_until_dropped(worker, session_id)
    assert worker.terminate() == 0
    assert stored_credentials(settings, owner.user_id, session_id) == snapshots, "nothing written after"
