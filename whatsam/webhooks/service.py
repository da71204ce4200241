"""Webhook endpoints for their owners: CRUD, test ping, secret rotation, the delivery log,
redeliver and recover. Another tenant's endpoint is indistinguishable from a missing one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from whatsam.domain.ids import new_id
from whatsam.domain.model import User, utcnow
from whatsam.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from whatsam.services.sessions import SessionService
from whatsam.webhooks.fanout import WebhookFanout
from whatsam.webhooks.jobs import DeliveryJob, JobQueue
from whatsam.webhooks.models import TEST_EVENT, Delivery, DeliveryStatus, Endpoint, Notification
from whatsam.webhooks.repository import DeliveryRepository, EndpointRepository
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.signing import generate_secret
from whatsam.webhooks.ssrf import SsrfGuard, UrlRejected

# Each redeliver or recover starts a round of up to the schedule's attempts, all logged on
# the delivery; this bounds the log (and the item) however often a user presses the button.
MAX_ROUNDS = 20
RECOVER_LIMIT = 500
RECOVERABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.SKIPPED})
# Refusals that would tell where a URL's host leads rather than what is wrong with the URL.
_WHERE_IT_LEADS = frozenset({"address_not_allowed", "unresolvable_host"})

log = logging.getLogger("whatsam.webhooks")


@dataclass(frozen=True)
class RecoverResult:
    recovered: int
    # Set when the range held more than one call sends: call again from here.
    next_since: datetime | None

    @property
    def complete(self) -> bool:
        return self.next_since is None


class WebhookService:
    def __init__(self, endpoints: EndpointRepository, deliveries: DeliveryRepository, jobs: JobQueue,
                 fanout: WebhookFanout, box: SecretBox, guard: SsrfGuard, sessions: SessionService, *,
                 max_endpoints: int, rotation_overlap: timedelta, retention: timedelta):
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._jobs = jobs
        self._fanout = fanout
        self._box = box
        self._guard = guard
        self._sessions = sessions
        self._max_endpoints = max_endpoints
        self._rotation_overlap = rotation_overlap
        self._retention = retention

    # ------------------------------------------------------------ endpoints

    def _check_url(self, url: str) -> None:
        try:
            self._guard.check(url)
        except UrlRejected as exc:
            if exc.code not in _WHERE_IT_LEADS:
                raise Unprocessable(str(exc), code="webhook_url_not_allowed", details={"reason": exc.code}) from exc
            # Where the host leads (an address, its range, whether it resolves at all) would map
            # the network behind the API: the log has it, the caller only hears "not allowed".
            log.info("webhook URL refused", extra={"reason": exc.code, "detail": str(exc), "address": exc.address})
            raise Unprocessable("This URL is not allowed: webhooks may only target hosts that resolve to public "
                                "addresses.", code="webhook_url_not_allowed",
                                details={"reason": "address_not_allowed"}) from exc

    def create(self, owner: User, *, url: str, event_types: tuple[str, ...], session_id: str | None,
               description: str) -> tuple[Endpoint, str]:
        """The new endpoint and its signing secret (shown to the caller once)."""
        if session_id is not None:
            self._sessions.get(owner, session_id)
        self._check_url(url)
        endpoint_id = new_id("whk")
        secret = generate_secret()
        now = utcnow()
        endpoint = Endpoint(endpoint_id=endpoint_id, tenant_id=owner.user_id, url=url, event_types=event_types,
                            secret_sealed=self._box.seal(secret, tenant_id=owner.user_id, endpoint_id=endpoint_id),
                            session_id=session_id, description=description, created_at=now, updated_at=now)
        if not self._endpoints.add(endpoint, limit=self._max_endpoints):
            raise Conflict(f"An account may have {self._max_endpoints} webhook endpoints.",
                           code="webhook_limit_reached", details={"limit": self._max_endpoints})
        return endpoint, secret

    def list_endpoints(self, owner: User) -> list[Endpoint]:
        return self._endpoints.list_for_tenant(owner.user_id)

    def get(self, owner: User, endpoint_id: str) -> Endpoint:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None or endpoint.tenant_id != owner.user_id:
            raise NotFound("No such webhook endpoint.", code="webhook_not_found")
        return endpoint

    def update(self, owner: User, endpoint_id: str, *, url: str | None, event_types: tuple[str, ...] | None,
               description: str | None, enabled: bool | None) -> Endpoint:
        endpoint = self.get(owner, endpoint_id)
        if url is not None:
            self._check_url(url)
        if not self._endpoints.update(endpoint, url=url, event_types=event_types, description=description,
                                      enabled=enabled, now=utcnow()):
            raise NotFound("No such webhook endpoint.", code="webhook_not_found")
        return self.get(owner, endpoint_id)

    def delete(self, owner: User, endpoint_id: str) -> None:
        if not self._endpoints.delete(self.get(owner, endpoint_id)):
            raise NotFound("No such webhook endpoint.", code="webhook_not_found")

    def rotate_secret(self, owner: User, endpoint_id: str) -> tuple[Endpoint, str]:
        """A new secret (shown once); the current one keeps signing alongside it for the overlap."""
        endpoint = self.get(owner, endpoint_id)
        secret = generate_secret()
        now = utcnow()
        sealed = self._box.seal(secret, tenant_id=endpoint.tenant_id, endpoint_id=endpoint.endpoint_id)
        if not self._endpoints.rotate(endpoint, new_sealed=sealed, previous_sealed=endpoint.secret_sealed,
                                      previous_expires_at=now + self._rotation_overlap, now=now):
            raise Conflict("The secret was rotated at the same moment; rotate again if needed.",
                           code="webhook_rotation_conflict")
        return self.get(owner, endpoint_id), secret

    def _enabled(self, owner: User, endpoint_id: str) -> Endpoint:
        endpoint = self.get(owner, endpoint_id)
        if not endpoint.enabled:
            raise Conflict("The endpoint is disabled; enable it first (PATCH {\"enabled\": true}).",
                           code="webhook_disabled", details={"disabled_reason": endpoint.disabled_reason})
        return endpoint

    def send_test(self, owner: User, endpoint_id: str) -> Delivery:
        endpoint = self._enabled(owner, endpoint_id)
        now = utcnow()
        notification = Notification(
            event_id=new_id("evt"), event_type=TEST_EVENT, tenant_id=owner.user_id, session_id=endpoint.session_id,
            occurred_at=now, data={"session_id": endpoint.session_id, "endpoint_id": endpoint.endpoint_id,
                                   "message": "A test from Whatsam: this endpoint receives and verifies webhooks."})
        return self._fanout.enqueue(endpoint, notification)

    # ------------------------------------------------------------ deliveries

    def deliveries(self, owner: User, endpoint_id: str, *, limit: int, cursor: str | None,
                   status: DeliveryStatus | None) -> tuple[list[Delivery], str | None]:
        endpoint = self.get(owner, endpoint_id)
        return self._deliveries.page(endpoint.endpoint_id, limit=limit, cursor=cursor, status=status)

    def redeliver(self, owner: User, endpoint_id: str, delivery_id: str) -> Delivery:
        endpoint = self._enabled(owner, endpoint_id)
        delivery = self._deliveries.get(delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.endpoint_id:
            raise NotFound("No such delivery.", code="delivery_not_found")
        if delivery.status is DeliveryStatus.PENDING:
            raise Conflict("The delivery is still being attempted.", code="delivery_in_progress")
        if delivery.round >= MAX_ROUNDS:
            raise Conflict(f"A delivery can be sent in at most {MAX_ROUNDS} rounds.", code="redeliver_limit_reached")
        started = self._start_round(delivery)
        if started is None:
            raise Conflict("The delivery changed meanwhile; try again.", code="delivery_in_progress")
        return started

    def recover(self, owner: User, endpoint_id: str, *, since: datetime, until: datetime | None) -> RecoverResult:
        """Send again every failed (or skipped while disabled) delivery created in [since, until]."""
        endpoint = self._enabled(owner, endpoint_id)
        now = utcnow()
        until = min(until or now, now)
        if since >= until:
            raise ValidationFailed("`since` must be before `until` (and before now).", code="invalid_range")
        if since < now - self._retention:
            raise ValidationFailed(f"Deliveries are kept {self._retention.days} days; `since` is older.",
                                   code="invalid_range", details={"retention_days": self._retention.days})
        recovered = 0
        next_since: datetime | None = None
        for delivery in self._deliveries.in_range(endpoint.endpoint_id, since, until, RECOVERABLE):
            if recovered >= RECOVER_LIMIT:
                # The rest in another call, from here on.
                next_since = delivery.created_at
                break
            if delivery.round < MAX_ROUNDS and self._start_round(delivery) is not None:
                recovered += 1
        return RecoverResult(recovered=recovered, next_since=next_since)

    def _start_round(self, delivery: Delivery) -> Delivery | None:
        now = utcnow()
        started = self._deliveries.start_round(delivery, now)
        if started is None:
            return None
        try:
            self._jobs.put(DeliveryJob(delivery_id=started.delivery_id, round=started.round, attempt=1))
        except Exception:
            self._deliveries.restore(started, utcnow())
            raise
        return started
