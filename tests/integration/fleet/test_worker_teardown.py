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
from tests.integration.fleet.test_worker_process import _connected_session, _health
from whatsam.adapters.auth_state import auth_state_prefix
from whatsam.adapters.aws import client
from whatsam.bootstrap import Container
from whatsam.config import Settings
from whatsam.domain.model import User
from worker_fleet.config import WorkerConfig

pytestmark = pytest.mark.integration


def _stored_credentials(settings: Settings, tenant_id: str, session_id: str) -> list[str]:
    listed = client("s3", settings).list_objects_v2(Bucket=settings.bucket_name("auth-state"),
                                                    Prefix=auth_state_prefix(tenant_id, session_id))
    return [o["Key"] for o in listed.get("Contents", [])]


def _wait_not_hosted(worker: WorkerProcess, session_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while session_id in _health(worker)["hosted"]:
        if time.monotonic() > deadline:
            pytest.fail(f"{worker.worker_id} still hosts {session_id}")
        time.sleep(0.2)


def _store_path(worker: WorkerProcess, session_id: str) -> Path:
    return WorkerConfig(worker_id=worker.worker_id).data_dir / worker.worker_id / f"{session_id}.sqlite3"


def test_deleting_a_connected_session_stops_it_and_a_drain_writes_nothing_back(
        services: Container, owner: User, settings: Settings, ingest: None,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"deleting-{os.getpid()}")
    session_id, _ = _connected_session(services, owner, worker)
    assert _stored_credentials(settings, owner.user_id, session_id), "the pairing was snapshotted"

    services.sessions.delete(owner, session_id)

    _wait_not_hosted(worker, session_id)
    assert not _store_path(worker, session_id).exists()
    assert _stored_credentials(settings, owner.user_id, session_id) == []
    assert worker.terminate() == 0  # the drain every deploy runs: it snapshots what it holds
    assert _stored_credentials(settings, owner.user_id, session_id) == []


def test_a_revoked_lease_unlinks_the_device_even_without_the_logout_command(
        services: Container, owner: User, settings: Settings, ingest: None,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"revoked-{os.getpid()}")
    session_id, _ = _connected_session(services, owner, worker)
    assert _store_path(worker, session_id).exists()
    snapshots = _stored_credentials(settings, owner.user_id, session_id)

    services.leases.revoke(session_id, owner.user_id, "deleted")  # and the LogoutSession got lost

    _wait_not_hosted(worker, session_id)
    assert not _store_path(worker, session_id).exists(), "logged out: no credentials kept on the worker"
    assert worker.terminate() == 0
    assert _stored_credentials(settings, owner.user_id, session_id) == snapshots, "nothing written after"
