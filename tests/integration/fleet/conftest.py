from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.waiting import wait_for_value
from whatsam.adapters.aws import client
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
    found = wait_for_value(lambda: SessionRepository().get(session_id), lambda c: c is not None and predicate(c),
                           timeout, every=0.2, what=f"session {session_id}")
    assert found is not None
    return found


def queue_drained(services: Container, queue_url: str, *, in_flight: bool = True) -> bool:
    """Nothing waits in the queue and (`in_flight`) nothing is being handled: received, not yet
    deleted. The shared connect queue cannot ask the latter: a worker an earlier test killed
    may hold a message it received until the visibility timeout."""
    names = ["ApproximateNumberOfMessages"] + (["ApproximateNumberOfMessagesNotVisible"] if in_flight else [])
    counts = client("sqs", services.settings).get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
    return all(int(count) == 0 for count in counts["Attributes"].values())
