"""The reaper: a dead worker is declared offline, its leases are released, its cards read
`reconnecting`, its sessions go back on the connect queue (another worker restores their
auth state: no new QR scan), and whatever waited in its inbox is re-routed.

Two ways in: `worker_stopped`, the moment a worker is known gone (ECS reports its task
stopped; `whatsam dev` sees its process exit), and the scheduled `run`, which catches what
no one reported by the heartbeat going stale."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from botocore.exceptions import ClientError
from pydantic import ValidationError

from whatsam.adapters.aws import client
from whatsam.adapters.leases import Lease, LeaseRepository
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.adapters.workers import WorkerRepository
from whatsam.config import Settings
from whatsam.contracts.commands import ConnectSession, SessionCommand, decode_command
from whatsam.contracts.events import SessionStatusEvent, closing_seq
from whatsam.domain.model import SessionCard, utcnow
from whatsam.services.ingestion import EventIngestion
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
                 ingestion: EventIngestion, stale_after: timedelta = STALE_AFTER):
        self._settings = settings
        self._workers = workers
        self._leases = leases
        self._sessions = sessions
        self._queues = queues
        self._router = router
        self._cache = cache
        self._ingestion = ingestion
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
            self._move_work(worker.worker_id, report)
        return report

    def worker_stopped(self, worker_id: str) -> ReapReport:
        """A worker known to be gone: move its sessions now, not once its heartbeat is stale."""
        report = ReapReport()
        worker = self._workers.get(worker_id)
        if worker is None:
            return report
        if worker.status != "offline" and self._workers.set_status(worker_id, "offline", only_if=worker.status):
            report.offline.append(worker_id)
        # Even when it was offline already (it drained, or a reaper run got there first):
        # whatever it still holds moves; a lease moves once (see `force_release`).
        self._move_work(worker_id, report)
        log.info("worker %s stopped: %d session(s) handed over, %d command(s) re-routed", worker_id,
                 len(report.requeued), report.rerouted)
        return report

    def _move_work(self, worker_id: str, report: ReapReport) -> None:
        report.requeued += self.hand_back_sessions(worker_id)
        report.rerouted += self._reroute_inbox(worker_id)

    def hand_back_sessions(self, worker_id: str) -> list[str]:
        """Release the dead worker's leases and hand its sessions over first (their takeover
        is what the seconds count), then mark their cards `reconnecting`."""
        room = self._room_on_live_workers(worker_id)
        moved: list[tuple[Lease, SessionCard]] = []
        for lease in self._leases.unreleased_by(worker_id):
            if not self._leases.force_release(lease.session_id, worker_id):
                continue
            self._cache.clear_route(lease.session_id, worker_id)
            card = self._sessions.get(lease.session_id)
            if card is None:
                continue
            self._hand_over(ConnectSession(session_id=card.session_id, tenant_id=card.tenant_id,
                                           status_version=card.status_version, requested_at=utcnow()), room)
            moved.append((lease, card))
        for lease, card in moved:
            # Numbered last of the dead holder's grant: its events still in a queue (a late
            # `connected`) can no longer put the card back on a worker that is gone; the next
            # holder's events (a newer grant) are newer still.
            # Sent in the dead holder's name: it is the last word of that holder's grant.
            self._ingestion.apply(SessionStatusEvent(
                session_id=card.session_id, tenant_id=card.tenant_id, seq=closing_seq(lease.fence),
                worker_id=lease.worker_id, status="reconnecting", reason="worker_lost"))
        return [card.session_id for _, card in moved]

    def _room_on_live_workers(self, dead: str) -> dict[str, int]:
        """Free places on each worker that is online and heartbeating, the dead one aside."""
        cutoff = utcnow() - self.stale_after
        return {w.worker_id: w.capacity - sum(w.stats.get("sessions", {}).values()) for w in self._workers.list()
                if w.worker_id != dead and w.status == "online" and w.last_heartbeat > cutoff}

    def _hand_over(self, command: ConnectSession, room: dict[str, int]) -> None:
        """Straight into the inbox of the live worker with the most room: the connect queue
        may have a receive of the dead worker still open (a long poll outlives a killed
        client), which would hide the command for its visibility timeout. The queue is the
        fallback; a worker without room after all puts it there too."""
        target = max(room, key=lambda w: room[w], default=None)
        if target is not None and room[target] > 0:
            try:
                self._router.send(target, command.session_id, command)
                room[target] -= 1
                return
            except ClientError:
                log.warning("handing %s to %s failed; it goes on the connect queue", command.session_id, target)
        self._queues.publish(CONNECT_QUEUE, command)

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
        if not isinstance(command, SessionCommand | ConnectSession):
            return 0
        # The session was just re-queued; its next holder gets the command once it claims it.
        lease = self._leases.get(command.session_id)
        if lease is not None and lease.live():
            self._router.send(lease.worker_id, command.session_id, command)
            return 1
        if isinstance(command, ConnectSession):
            # A connect that followed a disconnect to the dead worker: any worker may take it.
            self._queues.publish(CONNECT_QUEUE, command)
            return 1
        log.warning("no holder for %s's command %s yet; dropped", command.session_id, command.type)
        return 0
