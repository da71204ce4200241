"""The scheduled reaper: a worker whose heartbeat went stale is declared offline, its
leases are released, its sessions go back on the connect queue (another worker restores
their auth state: no new QR scan), and whatever waited in its inbox is re-routed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import ValidationError

from whatsam.adapters.aws import client
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.adapters.workers import WorkerRepository
from whatsam.config import Settings
from whatsam.contracts.commands import ConnectSession, SessionCommand, decode_command
from whatsam.domain.model import utcnow
from whatsam.services.routing import CommandRouter, inbox_queue_name
from whatsam.services.sessions import CONNECT_QUEUE

log = logging.getLogger(__name__)

# Three missed 10-second heartbeats.
STALE_AFTER = timedelta(seconds=30)


@dataclass
class ReapReport:
    offline: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    rerouted: int = 0


class Reaper:
    def __init__(self, settings: Settings, workers: WorkerRepository, leases: LeaseRepository,
                 sessions: SessionRepository, queues: QueuePublisher, router: CommandRouter, cache: SessionCache,
                 stale_after: timedelta = STALE_AFTER):
        self._settings = settings
        self._workers = workers
        self._leases = leases
        self._sessions = sessions
        self._queues = queues
        self._router = router
        self._cache = cache
        self.stale_after = stale_after

    def run(self) -> ReapReport:
        report = ReapReport()
        cutoff = utcnow() - self.stale_after
        for worker in self._workers.list():
            if worker.status == "offline" or worker.last_heartbeat > cutoff:
                continue
            # Conditional: only one reaper run declares a worker offline and moves its sessions.
            if not self._workers.set_status(worker.worker_id, "offline", only_if=worker.status):
                continue
            report.offline.append(worker.worker_id)
            report.requeued += self.hand_back_sessions(worker.worker_id)
            report.rerouted += self._reroute_inbox(worker.worker_id)
        return report

    def hand_back_sessions(self, worker_id: str) -> list[str]:
        moved = []
        for lease in self._leases.unreleased_by(worker_id):
            if not self._leases.force_release(lease.session_id, worker_id):
                continue
            self._cache.clear_route(lease.session_id, worker_id)
            card = self._sessions.get(lease.session_id)
            if card is None:
                continue
            self._queues.publish(CONNECT_QUEUE, ConnectSession(
                session_id=card.session_id, tenant_id=card.tenant_id, status_version=card.status_version,
                requested_at=utcnow()))
            moved.append(card.session_id)
        return moved

    def _reroute_inbox(self, worker_id: str) -> int:
        sqs = client("sqs", self._settings)
        try:
            url = sqs.get_queue_url(QueueName=inbox_queue_name(self._settings, worker_id))["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return 0
        moved = 0
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            for message in messages:
                moved += self._forward(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        sqs.delete_queue(QueueUrl=url)
        return moved

    def _forward(self, body: str) -> int:
        try:
            command = decode_command(body)
        except ValidationError:
            log.error("dropping an undecodable inbox message of a dead worker")
            return 0
        if not isinstance(command, SessionCommand):
            return 0
        # The session was just re-queued; its next holder gets the command once it claims it.
        lease = self._leases.get(command.session_id)
        if lease is not None and lease.live():
            self._router.send(lease.worker_id, command.session_id, command)
            return 1
        log.warning("no holder for %s's command %s yet; dropped", command.session_id, command.type)
        return 0
