"""Connected session-minutes counted by a real worker process (simulated engine), with the
"minute" shortened to one second: minutes accrue while the session is connected, not while it
waits for a scan, and stop once it is disconnected."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from tests.integration.fleet.conftest import FAST_FLEET, WorkerProcess, wait_for_card
from whatsam.bootstrap import Container
from whatsam.contracts.commands import DevScan
from whatsam.domain.model import SessionStatus, User
from whatsam.metering.counters import Metric, epoch_hour

pytestmark = pytest.mark.integration


def _minutes(services: Container, owner: User, session_id: str, since_hour: int) -> int:
    return sum(bucket.counts.get(Metric.SESSION_MINUTES, 0)
               for hour in range(since_hour, epoch_hour() + 1)
               for bucket in services.usage_counters.user_buckets(owner.user_id, hour, [session_id])
               if bucket.session_id == session_id)


def _wait_for_minutes(services: Container, owner: User, session_id: str, since_hour: int, at_least: int,
                      timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while (counted := _minutes(services, owner, session_id, since_hour)) < at_least:
        if time.monotonic() > deadline:
            pytest.fail(f"only {counted} session-minutes counted")
        time.sleep(0.2)
    return counted


def test_the_worker_counts_minutes_of_connected_sessions_only(
        services: Container, owner: User, ingest: None, monkeypatch: pytest.MonkeyPatch,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    monkeypatch.setitem(FAST_FLEET, "WHATSAM_SESSION_MINUTE_SECONDS", "1")
    worker = start_worker(f"minutes-{os.getpid()}")
    since_hour = epoch_hour()
    card, _, _ = services.sessions.create(owner, name="metered", description="")
    services.sessions.connect(owner, card.session_id)
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.QR and c.worker_id == worker.worker_id)
    time.sleep(2.5)
    assert _minutes(services, owner, card.session_id, since_hour) == 0, "waiting for a scan is not connected"

    services.router.send(worker.worker_id, card.session_id, DevScan(session_id=card.session_id,
                                                                    tenant_id=card.tenant_id))
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.CONNECTED)
    _wait_for_minutes(services, owner, card.session_id, since_hour, at_least=3)

    services.lifecycle.disconnect(owner, card.session_id)
    # The card reads `disconnected` at once; the worker has closed it once it reports so too.
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.DISCONNECTED and c.worker_id is None)
    time.sleep(1.5)  # a tick already under way when it disconnected may still land
    settled = _minutes(services, owner, card.session_id, since_hour)
    time.sleep(3)
    assert _minutes(services, owner, card.session_id, since_hour) == settled, "no minutes after disconnecting"
