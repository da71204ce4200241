"""Sends through real worker processes (simulated engine): a redelivered send command, a
worker killed mid-send, and a restart never send a message twice, lose none silently, and
keep the order accepted. Engine sends are counted from the simulated engine's wire log,
which every worker process appends to."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.fleet.conftest import FAST_FLEET, WorkerProcess, queue_drained, wait_for_card
from tests.support.waiting import wait_for_value, wait_until
from whatsam.adapters.messages import MessageRepository
from whatsam.bootstrap import Container
from whatsam.contracts.commands import DevScan, SendPending
from whatsam.domain.model import SessionStatus, User
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.requests import TextMessage
from whatsam.messaging.status import MessageStatus

pytestmark = pytest.mark.integration

TO = "+14155552671"


@pytest.fixture
def wire_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "wire.jsonl"
    # Workers inherit the environment: every simulated engine appends what it sends here.
    monkeypatch.setitem(FAST_FLEET, "WHATSAM_SIM_WIRE_LOG", str(log))
    monkeypatch.setitem(FAST_FLEET, "WHATSAM_SEND_MIN_GAP", "0.3")
    monkeypatch.setitem(FAST_FLEET, "WHATSAM_SEND_JITTER", "0.1")
    yield log


def _sends(log: Path) -> Counter[str]:
    if not log.exists():
        return Counter()
    return Counter(json.loads(line)["text"] for line in log.read_text().splitlines() if line.strip())


def _connected(services: Container, owner: User, worker: WorkerProcess) -> str:
    card, _, _ = services.sessions.create(owner, name="sender", description="")
    services.sessions.connect(owner, card.session_id)
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.QR and c.worker_id == worker.worker_id)
    services.router.send(worker.worker_id, card.session_id,
                         DevScan(session_id=card.session_id, tenant_id=card.tenant_id))
    wait_for_card(services, card.session_id, lambda c: c.status is SessionStatus.CONNECTED)
    return card.session_id


def _accept(services: Container, owner: User, session_id: str, texts: list[str]) -> list[MessageRecord]:
    return [services.messaging.accept(owner, session_id, TextMessage(type="text", to=TO, text=text), None)
            for text in texts]


def _settled(session_id: str, ids: list[str], timeout: float = 60) -> list[MessageRecord]:
    messages = MessageRepository()
    records = wait_for_value(
        lambda: [messages.get(i) for i in ids],
        lambda seen: all(r is not None and r.status not in (MessageStatus.QUEUED, MessageStatus.SENDING)
                         for r in seen),
        timeout, every=0.3, what="every message settled")
    return [r for r in records if r is not None]


def _inbox_drained(services: Container, worker_id: str) -> bool:
    worker = services.workers.get(worker_id)
    assert worker is not None
    return queue_drained(services, worker.inbox_url)


def test_a_redelivered_send_command_sends_once(services: Container, owner: User, ingest: None, wire_log: Path,
                                               start_worker: Callable[[str], WorkerProcess]) -> None:
    worker = start_worker(f"redeliver-{os.getpid()}")
    session_id = _connected(services, owner, worker)
    texts = [f"once-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    records = _accept(services, owner, session_id, texts)
    for record in records:  # SQS at-least-once: the same command, again and again
        for _ in range(3):
            services.router.send(worker.worker_id, session_id, SendPending(
                session_id=session_id, tenant_id=owner.user_id, message_id=record.message_id))
    settled = _settled(session_id, [r.message_id for r in records])
    assert all(r.status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ) for r in settled)
    # Every copy of the command handled, each message past sending: no duplicate can still go out.
    wait_until(lambda: _inbox_drained(services, worker.worker_id), what="every command handled")
    sends = _sends(wire_log)
    assert [sends[t] for t in texts] == [1, 1, 1], sends


def test_killed_mid_send_never_sends_twice_and_keeps_order(services: Container, owner: User, ingest: None,
                                                           wire_log: Path, monkeypatch: pytest.MonkeyPatch,
                                                           start_worker: Callable[[str], WorkerProcess]) -> None:
    first = start_worker(f"midsend-a-{os.getpid()}")
    session_id = _connected(services, owner, first)
    texts = [f"burst-{i:02d}-{uuid.uuid4().hex[:6]}" for i in range(8)]
    records = _accept(services, owner, session_id, texts)
    # Paced at ~0.3 s a message: kill the holder once a few have gone out.
    wait_until(lambda: sum(_sends(wire_log)[t] for t in texts) >= 3, what="three messages on the wire")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    second = start_worker(f"midsend-b-{os.getpid()}")
    # Longer than the connect queue's 5 s long poll: a receive the dead worker left open on the
    # queue would otherwise swallow the hand-back for the whole visibility timeout (120 s).
    monkeypatch.setattr(services.reaper, "stale_after", timedelta(seconds=7))

    def moved() -> bool:
        card = services.sessions.get(owner, session_id)
        if card.worker_id == second.worker_id and card.status is SessionStatus.CONNECTED:
            return True
        services.reaper.run()
        return False

    wait_until(moved, timeout=60, every=0.5, what=f"the session connected on {second.worker_id}")
    settled = _settled(session_id, [r.message_id for r in records])
    wait_until(lambda: _inbox_drained(services, second.worker_id), what="every command handled")
    sends = _sends(wire_log)
    assert all(sends[t] <= 1 for t in texts), f"a message went out twice: {sends}"
    unknown = [r for r in settled if r.status is MessageStatus.FAILED]
    assert all(r.error == "delivery_unknown" for r in unknown) and len(unknown) <= 1, unknown
    delivered = [r for r in settled if r.status is not MessageStatus.FAILED]
    assert all(sends[r.payload["text"]] == 1 for r in delivered), "everything reported sent was sent once"
    order = [json.loads(line)["text"] for line in wire_log.read_text().splitlines()]
    ours = [t for t in order if t in texts]
    assert ours == sorted(ours), "sent in the order accepted, across the restart"
