"""The webhook services of one process, built from settings (see `whatsam.bootstrap`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from whatsam.adapters.queues import QueuePublisher
from whatsam.config import Settings
from whatsam.services.sessions import SessionService
from whatsam.webhooks.delivery import WebhookDeliverer
from whatsam.webhooks.fanout import WebhookFanout
from whatsam.webhooks.jobs import JobQueue
from whatsam.webhooks.repository import DeliveryRepository, EndpointRepository
from whatsam.webhooks.schedule import RetryPolicy
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.service import WebhookService
from whatsam.webhooks.ssrf import SsrfGuard
from whatsam.webhooks.transport import PinnedTransport


@dataclass(frozen=True)
class Webhooks:
    service: WebhookService
    fanout: WebhookFanout
    deliverer: WebhookDeliverer


def build_webhooks(settings: Settings, queues: QueuePublisher, sessions: SessionService) -> Webhooks:
    endpoints, deliveries = EndpointRepository(), DeliveryRepository(settings.webhook_retention_days)
    jobs = JobQueue(queues)
    box = SecretBox(settings)
    # Plain http and loopback targets only in dev mode; a deployed stack never sets it.
    guard = SsrfGuard(allow_insecure=settings.dev_mode)
    fanout = WebhookFanout(endpoints, deliveries, jobs)
    deliverer = WebhookDeliverer(
        endpoints, deliveries, jobs, box, guard, PinnedTransport(timeout=settings.webhook_timeout_seconds),
        RetryPolicy.from_settings(settings), fanout, timeout=settings.webhook_timeout_seconds,
        disable_after=timedelta(seconds=settings.webhook_disable_after_seconds))
    service = WebhookService(
        endpoints, deliveries, jobs, fanout, box, guard, sessions, max_endpoints=settings.webhook_max_endpoints,
        rotation_overlap=timedelta(seconds=settings.webhook_rotation_overlap_seconds),
        retention=timedelta(days=settings.webhook_retention_days))
    return Webhooks(service=service, fanout=fanout, deliverer=deliverer)
