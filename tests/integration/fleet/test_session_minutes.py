"""Connected session-minutes counted by a real worker process (simulated engine), with the
"minute" shortened to one second: minutes accrue while the session is connected, not while it
waits for a scan, and stop once it is disconnected."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.integration.fleet.conftest import FAST_FLEET, WorkerProcess, wait_for_card
from tests.support.waiting import wait_for_value
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
    return wait_for_value(lambda: _minutes(services, owner, session_id, since_hour), lambda n: n >= at_least,
                          timeout, every=0.2, what=f"at least {at_least} session-minutes counted")


def _connected_on(services: Container, owner: User, worker: WorkerProcess, name: str) -> str:
    card, _, _ = services.sessions.create(owner, name=name, description="")
    services.sessions.connect(owner, card.session_id)
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.QR and c.worker_id == worker.worker_id)
    services.router.send(worker.worker_id, card.session_id, DevScan(session_id=card.session_id,
                                                                    tenant_id=card.tenant_id))
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.CONNECTED)
    return card.session_id


def test_the_worker_counts_minutes_of_connected_sessions_only(
        services: Container, owner: User, ingest: None, monkeypatch: pytest.MonkeyPatch,
        start_worker: Callable[[str], WorkerProcess]) -> None:
    monkeypatch.setitem(FAST_FLEET, "WHATSAM_SESSION_MINUTE_SECONDS", "1")
    worker = start_worker(f"minutes-{os.getpid()}")
    since_hour = epoch_hour()
    # A session connected throughout is the test's clock: each tick of the worker counts it,
    # so "two more of its minutes" means two ticks have run, however slow the machine.
    clock = _connected_on(services, owner, worker, "clock")

    def two_more_ticks() -> None:
        now = _minutes(services, owner, clock, since_hour)
        _wait_for_minutes(services, owner, clock, since_hour, at_least=now + 2)

    card, _, _ = services.sessions.create(owner, name="metered", description="")
    services.sessions.connect(owner, card.session_id)
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.QR and c.worker_id == worker.worker_id)
    two_more_ticks()
    assert _minutes(services, owner, card.session_id, since_hour) == 0, "waiting for a scan is not connected"

    services.router.send(worker.worker_id, card.session_id, DevScan(session_id=card.session_id,
                                                                    tenant_id=card.tenant_id))
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.CONNECTED)
    _wait_for_minutes(services, owner, card.session_id, since_hour, at_least=3)

    services.lifecycle.disconnect(owner, card.session_id)
    # The card reads `disconnected` at once; the worker has closed it once it reports so too.
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.DISCONNECTED and c.worker_id is None)
    two_more_ticks()  # a tick already under way when it disconnected has landed by now
    settled = _minutes(services, owner, card.session_id, since_hour)
    two_more_ticks()
    assert _minutes(services, owner, card.session_id, since_hour) == settled, "no minutes after disconnecting"
