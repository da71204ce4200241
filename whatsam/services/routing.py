"""Getting a command to the worker that holds a session: the route in Redis, falling back
to the lease, which is the truth. A worker that gets a command for a session it no longer
holds forwards it the same way."""

from __future__ import annotations

import uuid

from botocore.exceptions import ClientError

from whatsam.adapters.aws import client
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.config import Settings
from whatsam.contracts.base import Message


def inbox_queue_name(settings: Settings, worker_id: str) -> str:
    # FIFO, grouped by session: one session's commands (and later its sends) stay in order.
    return settings.queue_name(f"inbox-{worker_id}.fifo")


class CommandRouter:
    def __init__(self, settings: Settings, leases: LeaseRepository, cache: SessionCache):
        self._settings = settings
        self._leases = leases
        self._cache = cache

    def owner(self, session_id: str) -> str | None:
        routed = self._cache.get_route(session_id)
        if routed:
            return routed
        lease = self._leases.get(session_id)
        return lease.worker_id if lease is not None and lease.live() else None

    def send(self, worker_id: str, session_id: str, command: Message) -> None:
        sqs = client("sqs", self._settings)
        url = sqs.get_queue_url(QueueName=inbox_queue_name(self._settings, worker_id))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=command.to_json(), MessageGroupId=session_id,
                         MessageDeduplicationId=uuid.uuid4().hex)

    def send_to_owner(self, session_id: str, command: Message) -> str | None:
        """Send to the session's worker; None when no worker holds it."""
        worker_id = self.owner(session_id)
        if worker_id is None:
            return None
        try:
            self.send(worker_id, session_id, command)
        except ClientError as exc:
            if "NonExistentQueue" not in exc.response["Error"]["Code"]:
                raise
            # The routed worker is gone; the lease says who (if anyone) holds the session now.
            lease = self._leases.get(session_id)
            if lease is None or not lease.live() or lease.worker_id == worker_id:
                return None
            worker_id = lease.worker_id
            self.send(worker_id, session_id, command)
        return worker_id
