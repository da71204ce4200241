"""Running one delivery attempt from its job: check, sign, post, record, schedule the next.

Per attempt: the delivery must still be pending in the job's round with exactly the
attempts before this one made; a conditional claim lets one handler make the attempt
(duplicate queue messages and concurrent handlers step aside); the outcome is recorded
conditionally, then the next attempt is queued. A handler that dies after recording has its
message redelivered, which only re-queues the follow-up; one that dies before recording has
its claim run out and the redelivered message makes the attempt."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from whatsam.domain.model import iso_z, utcnow
from whatsam.webhooks.fanout import WebhookFanout
from whatsam.webhooks.jobs import DeliveryJob, JobQueue
from whatsam.webhooks.models import (
    ENDPOINT_DISABLED_EVENT,
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    Notification,
)
from whatsam.webhooks.repository import DeliveryRepository, EndpointRepository
from whatsam.webhooks.schedule import RetryPolicy, parse_retry_after
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.signing import signature_headers
from whatsam.webhooks.ssrf import SsrfGuard, UrlRejected
from whatsam.webhooks.transport import HttpOutcome, PinnedTransport

log = logging.getLogger(__name__)

# Longer than the request timeout plus signing and bookkeeping, shorter than the queue's
# visibility timeout, so a crashed handler's redelivered message can take the attempt over.
CLAIM_MARGIN_SECONDS = 15.0
_RETRY_AFTER_STATUSES = frozenset({429, 503})


class WebhookDeliverer:
    def __init__(self, endpoints: EndpointRepository, deliveries: DeliveryRepository, jobs: JobQueue,
                 box: SecretBox, guard: SsrfGuard, transport: PinnedTransport, policy: RetryPolicy,
                 fanout: WebhookFanout, *, timeout: float, disable_after: timedelta):
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._jobs = jobs
        self._box = box
        self._guard = guard
        self._transport = transport
        self.policy = policy
        self._fanout = fanout
        self._claim_seconds = timeout + CLAIM_MARGIN_SECONDS
        self.disable_after = disable_after

    def handle(self, job: DeliveryJob) -> None:
        if not self._jobs.due(job):
            self._jobs.put(job)
            return
        delivery = self._deliveries.get(job.delivery_id)
        if delivery is None or delivery.round != job.round or delivery.status is not DeliveryStatus.PENDING:
            return
        if delivery.round_attempts >= job.attempt:
            # Made already; the follow-up may never have been queued (the handler died in between).
            if delivery.round_attempts == job.attempt and delivery.next_attempt_at is not None:
                self._queue(delivery, job.attempt + 1, delivery.next_attempt_at)
            return
        if delivery.round_attempts < job.attempt - 1:
            log.warning("webhook job ahead of its delivery dropped",
                        extra={"delivery_id": delivery.delivery_id, "attempt": job.attempt})
            return
        endpoint = self._endpoints.get(delivery.endpoint_id)
        now = utcnow()
        if endpoint is None or endpoint.tenant_id != delivery.tenant_id:
            self._deliveries.abandon(delivery.delivery_id, delivery.round, "endpoint_deleted", now)
            return
        if not endpoint.enabled:
            self._deliveries.abandon(delivery.delivery_id, delivery.round, "endpoint_disabled", now)
            return
        started = now.timestamp()
        if not self._deliveries.claim(delivery.delivery_id, job.round, job.attempt, now=started,
                                      until=started + self._claim_seconds):
            return
        outcome = self._attempt(endpoint, delivery)
        self._record(endpoint, delivery, job, outcome)

    def _attempt(self, endpoint: Endpoint, delivery: Delivery) -> HttpOutcome:
        try:
            # Checked again at every attempt: what the host resolves to may have changed.
            target = self._guard.check(endpoint.url)
        except UrlRejected as exc:
            return HttpOutcome(status_code=None, error=exc.code, latency_ms=0)
        now = utcnow()
        secrets = [self._box.open(endpoint.secret_sealed, tenant_id=endpoint.tenant_id,
                                  endpoint_id=endpoint.endpoint_id)]
        if endpoint.previous_secret_active(now) and endpoint.previous_secret_sealed:
            secrets.append(self._box.open(endpoint.previous_secret_sealed, tenant_id=endpoint.tenant_id,
                                          endpoint_id=endpoint.endpoint_id))
        body = delivery.payload.encode()
        headers = signature_headers(secrets, delivery.delivery_id, int(now.timestamp()), body)
        return self._transport.post(target, body, headers)

    def _record(self, endpoint: Endpoint, delivery: Delivery, job: DeliveryJob, outcome: HttpOutcome) -> None:
        now = utcnow()
        attempt = Attempt(number=delivery.attempt_count + 1, round=job.round, at=now,
                          status_code=outcome.status_code, latency_ms=outcome.latency_ms, error=outcome.error)
        next_at: datetime | None = None
        if outcome.ok:
            status = DeliveryStatus.SUCCEEDED
        elif outcome.error == "gone":
            status = DeliveryStatus.FAILED
        else:
            retry_after = (parse_retry_after(outcome.retry_after, now)
                           if outcome.status_code in _RETRY_AFTER_STATUSES else None)
            delay = self.policy.delay_after(job.attempt, retry_after)
            status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
            next_at = None if delay is None else now + timedelta(seconds=delay)
        if not self._deliveries.record_attempt(delivery.delivery_id, job.round, attempt, round_attempt=job.attempt,
                                               status=status, next_attempt_at=next_at, now=now):
            return
        log.info("webhook attempt", extra={"delivery_id": delivery.delivery_id, "endpoint_id": endpoint.endpoint_id,
                                           "attempt": attempt.number, "status_code": outcome.status_code,
                                           "error": outcome.error, "latency_ms": outcome.latency_ms,
                                           "outcome": status.value})
        if next_at is not None:
            self._queue(delivery, job.attempt + 1, next_at)
        # Bookkeeping after the outcome is safe: a failure here must not re-send the webhook.
        try:
            self._after(endpoint, delivery, status, outcome, now)
        except Exception:
            log.exception("webhook bookkeeping failed", extra={"delivery_id": delivery.delivery_id})

    def _queue(self, delivery: Delivery, attempt: int, not_before: datetime) -> None:
        self._jobs.put(DeliveryJob(delivery_id=delivery.delivery_id, round=delivery.round, attempt=attempt,
                                   not_before=not_before.timestamp()))

    def _after(self, endpoint: Endpoint, delivery: Delivery, status: DeliveryStatus, outcome: HttpOutcome,
               now: datetime) -> None:
        if status is DeliveryStatus.SUCCEEDED:
            self._endpoints.record_success(endpoint, now)
            return
        self._endpoints.record_failure(endpoint, now)
        if status is not DeliveryStatus.FAILED:
            return
        self._endpoints.count_failed_delivery(endpoint.endpoint_id)
        log.warning("webhook delivery failed", extra={"delivery_id": delivery.delivery_id,
                                                      "endpoint_id": endpoint.endpoint_id})
        if outcome.error == "gone":
            self.disable(endpoint, "the endpoint answered 410 Gone", now)
            return
        failing_since = endpoint.failing_since or now
        if now - failing_since >= self.disable_after:
            self.disable(endpoint, f"no successful delivery since {failing_since.isoformat()}", now)

    def disable(self, endpoint: Endpoint, reason: str, now: datetime) -> None:
        """Disable the endpoint and tell its owner: a `webhook.endpoint_disabled` event to
        the account's other endpoints that subscribe to it."""
        if not self._endpoints.disable(endpoint.endpoint_id, reason, now):
            return
        log.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint.endpoint_id, "reason": reason})
        stamp = iso_z(now)
        notice = Notification(
            event_id=f"evt_disabled_{endpoint.endpoint_id}_{int(now.timestamp() * 1000)}",
            event_type=ENDPOINT_DISABLED_EVENT, tenant_id=endpoint.tenant_id, session_id=None, occurred_at=now,
            data={"session_id": None, "endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "reason": reason,
                  "disabled_at": stamp})
        self._fanout.publish(notice, exclude=endpoint.endpoint_id)
