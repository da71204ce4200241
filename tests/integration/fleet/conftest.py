from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from whatsam.adapters.repositories import SessionRepository
from whatsam.bootstrap import Container, container
from whatsam.config import Settings
from whatsam.dev.event_sources import SqsPoller, split_sources
from whatsam.domain.model import SessionCard, User
from whatsam.domain.tiers import Tier
from whatsam.security.passwords import hash_password

FAST_FLEET = {"WHATSAM_WORKER_HEARTBEAT": "1", "WHATSAM_LEASE_TTL": "6", "WHATSAM_LEASE_RENEW_EVERY": "2",
              "WHATSAM_WORKER_SHARDS": "1", "WHATSAM_SIM_QR_INTERVAL": "30"}


@pytest.fixture(scope="module")
def services(stack_env: dict[str, str]) -> Container:
    return container()


@pytest.fixture(scope="module")
def ingest(chalice_app: Any, settings: Settings) -> Iterator[None]:
    """Both events queues (message events, session status) drained into the real ingestion
    handlers, as Lambda would."""
    stop = threading.Event()
    pollers = [SqsPoller(chalice_app, source, settings, stop) for source in split_sources(chalice_app)[0]
               if source.queue in ("events", "session-events")]
    for poller in pollers:
        poller.start()
    yield
    stop.set()
    for poller in pollers:
        poller.join(10)


@pytest.fixture
def owner(services: Container) -> User:
    import uuid

    from whatsam.domain.ids import new_id

    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="fleet",
                password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(user)
    return user


@dataclass
class WorkerProcess:
    worker_id: str
    process: subprocess.Popen
    endpoint: str

    def shard_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid), "-f", "spawn_main"], capture_output=True,
                             text=True, check=False).stdout
        return [int(p) for p in out.split()]

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(120)


@pytest.fixture
def start_worker(stack_env: dict[str, str]) -> Iterator[Callable[[str], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(worker_id: str) -> WorkerProcess:
        env = {**os.environ, **stack_env, **FAST_FLEET}
        process = subprocess.Popen([sys.executable, "-m", "worker_fleet.main", "--worker-id", worker_id,
                                    "--engine", "simulated"], env=env, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http=(\S+)", line)
        assert match, f"worker {worker_id} did not start: {line!r}"
        worker = WorkerProcess(worker_id, process, match.group(1))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        # Gracefully: a killed worker's in-flight long poll can still swallow the next test's command.
        if worker.process.poll() is None:
            worker.terminate()


def wait_for_card(services: Container, session_id: str, predicate: Callable[[SessionCard], bool],
                  timeout: float = 60) -> SessionCard:
    deadline = time.monotonic() + timeout
    while True:
        card = SessionRepository().get(session_id)
        if card is not None and predicate(card):
            return card
        if time.monotonic() > deadline:
            pytest.fail(f"session {session_id} never reached the expected state; last seen {card}")
        time.sleep(0.2)
