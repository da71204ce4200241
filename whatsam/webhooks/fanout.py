"""Fan-out: every applied event becomes one delivery per subscribed endpoint.

Subscribed to `EventIngestion`. Cheap on the hot path: one index query for the tenant's
endpoints, then per matching endpoint one conditional put and one queue message. Idempotent
on the event: the delivery id derives from (endpoint, event), so a redelivered event finds
its deliveries and only re-queues a first attempt that may never have been queued."""

from __future__ import annotations

import logging

from whatsam.contracts.events import AnyEvent
from whatsam.domain.model import utcnow
from whatsam.services.batch_reads import read_once
from whatsam.webhooks.jobs import DeliveryJob, JobQueue
from whatsam.webhooks.models import Delivery, DeliveryStatus, Endpoint, Notification, delivery_id_for
from whatsam.webhooks.repository import DeliveryRepository, EndpointRepository

log = logging.getLogger(__name__)


class WebhookFanout:
    def __init__(self, endpoints: EndpointRepository, deliveries: DeliveryRepository, jobs: JobQueue):
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._jobs = jobs

    def __call__(self, event: AnyEvent) -> None:
        self.publish(Notification.from_event(event))

    def publish(self, notification: Notification, *, exclude: str | None = None) -> int:
        """Deliver to every endpoint of the tenant that wants it; the number of endpoints."""
        tenant_id = notification.tenant_id
        endpoints = read_once(("webhook_endpoints", tenant_id), lambda: self._endpoints.list_for_tenant(tenant_id))
        targets = [e for e in endpoints
                   if e.endpoint_id != exclude and e.wants(notification.event_type, notification.session_id)]
        failures: list[Exception] = []
        for endpoint in targets:
            try:
                self.enqueue(endpoint, notification)
            except Exception as exc:
                # Try the others; then fail, so the event comes back for the ones that failed.
                log.exception("webhook fan-out failed", extra={"endpoint_id": endpoint.endpoint_id,
                                                               "event_id": notification.event_id})
                failures.append(exc)
        if failures:
            raise failures[0]
        return len(targets)

    def enqueue(self, endpoint: Endpoint, notification: Notification) -> Delivery:
        now = utcnow()
        delivery = Delivery(
            delivery_id=delivery_id_for(endpoint.endpoint_id, notification.event_id), endpoint_id=endpoint.endpoint_id,
            tenant_id=endpoint.tenant_id, event_id=notification.event_id, event_type=notification.event_type,
            payload=notification.body(), session_id=notification.session_id,
            status=DeliveryStatus.PENDING if endpoint.enabled else DeliveryStatus.SKIPPED,
            next_attempt_at=now if endpoint.enabled else None, created_at=now, updated_at=now)
        if not self._deliveries.create(delivery):
            existing = self._deliveries.get(delivery.delivery_id)
            if existing is None:
                raise RuntimeError(f"delivery {delivery.delivery_id} vanished")
            if existing.status is DeliveryStatus.PENDING and existing.round == 1 and existing.round_attempts == 0:
                self._jobs.put(DeliveryJob(delivery_id=existing.delivery_id, round=1, attempt=1))
            return existing
        if delivery.status is DeliveryStatus.PENDING:
            self._jobs.put(DeliveryJob(delivery_id=delivery.delivery_id, round=1, attempt=1))
        return delivery
