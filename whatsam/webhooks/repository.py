"""Endpoints and deliveries over their PynamoDB models.

Every step of a delivery is a conditional write on (round, attempts made in the round), so
duplicate queue messages, a crashed handler's redelivery and a concurrent redeliver all
resolve to at most one recorded outcome per attempt."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist
from pynamodb.expressions.update import Action

from whatsam.adapters.conditions import conditional_failed, save_if, update_if
from whatsam.adapters.cursors import decode_cursor, encode_cursor, from_last_key, start_key
from whatsam.adapters.dynamo_models import UserModel
from whatsam.adapters.webhook_models import AttemptAttribute, WebhookDeliveryModel, WebhookEndpointModel
from whatsam.errors import ValidationFailed
from whatsam.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint

# Health bookkeeping on the endpoint item is refreshed at most this often while nothing
# changes, so a busy endpoint's item is not rewritten on every delivery.
_HEALTH_REFRESH = timedelta(seconds=60)


def _endpoint(item: WebhookEndpointModel) -> Endpoint:
    return Endpoint(
        endpoint_id=item.endpoint_id, tenant_id=item.tenant_id, url=item.url,
        event_types=tuple(item.event_types or ()), secret_sealed=item.secret_sealed, session_id=item.session_id,
        description=item.description or "", enabled=bool(item.enabled), disabled_reason=item.disabled_reason,
        disabled_at=item.disabled_at, previous_secret_sealed=item.previous_secret_sealed,
        previous_secret_expires_at=item.previous_secret_expires_at, created_at=item.created_at,
        updated_at=item.updated_at, last_success_at=item.last_success_at, last_failure_at=item.last_failure_at,
        failing_since=item.failing_since, failed_deliveries=int(item.failed_deliveries or 0))


class EndpointRepository:
    """The tenant's endpoint count lives on its user item, and a create first takes a slot
    there with one conditional update, so parallel creates cannot pass the limit (counting the
    tenant's endpoints first let them: each read the count before any of them was written).
    Single-item conditions rather than a transaction: a refused create changes nothing, and the
    emulator (moto) cancels a transaction by restoring whole tables, undoing its neighbours."""

    def add(self, endpoint: Endpoint, *, limit: int) -> bool:
        """Store the endpoint if the tenant has fewer than `limit`; False when it has not."""
        self._count_if_uncounted(endpoint.tenant_id)
        owner = UserModel(user_id=endpoint.tenant_id)
        if not update_if(owner, [UserModel.webhook_count.add(1)], UserModel.webhook_count < limit):
            return False
        try:
            WebhookEndpointModel(
                endpoint.endpoint_id, tenant_id=endpoint.tenant_id, session_id=endpoint.session_id, url=endpoint.url,
                description=endpoint.description, event_types=list(endpoint.event_types), enabled=endpoint.enabled,
                secret_sealed=endpoint.secret_sealed, created_at=endpoint.created_at,
                updated_at=endpoint.updated_at, failed_deliveries=0,
            ).save(condition=WebhookEndpointModel.endpoint_id.does_not_exist())
        except Exception:
            self._release_slot(endpoint.tenant_id)
            raise
        return True

    def get(self, endpoint_id: str) -> Endpoint | None:
        try:
            return _endpoint(WebhookEndpointModel.get(endpoint_id, consistent_read=True))
        except DoesNotExist:
            return None

    def list_for_tenant(self, tenant_id: str) -> list[Endpoint]:
        return [_endpoint(item) for item in WebhookEndpointModel.tenant_index.query(tenant_id)]

    def count_for_tenant(self, tenant_id: str) -> int:
        return sum(1 for _ in WebhookEndpointModel.tenant_index.query(tenant_id, attributes_to_get=["endpoint_id"]))

    def _release_slot(self, tenant_id: str) -> None:
        update_if(UserModel(user_id=tenant_id), [UserModel.webhook_count.add(-1)], UserModel.webhook_count > 0)

    def _count_if_uncounted(self, tenant_id: str) -> None:
        """Users from before the counter get it once, from what the index lists."""
        try:
            counted = UserModel.get(tenant_id, consistent_read=True, attributes_to_get=["user_id", "webhook_count"])
        except DoesNotExist:
            return
        if counted.webhook_count is None:
            update_if(UserModel(user_id=tenant_id), [UserModel.webhook_count.set(self.count_for_tenant(tenant_id))],
                      UserModel.user_id.exists() & UserModel.webhook_count.does_not_exist())

    def update(self, endpoint: Endpoint, *, url: str | None, event_types: tuple[str, ...] | None,
               description: str | None, enabled: bool | None, now: datetime) -> bool:
        m = WebhookEndpointModel
        actions: list[Action] = [m.updated_at.set(now)]
        if url is not None:
            actions.append(m.url.set(url))
        if event_types is not None:
            actions.append(m.event_types.set(list(event_types)))
        if description is not None:
            actions.append(m.description.set(description))
        if enabled is True:
            # Re-enabled by its owner: a clean slate for the failure clock.
            actions += [m.enabled.set(True), m.disabled_reason.remove(), m.disabled_at.remove(),
                        m.failing_since.remove()]
        elif enabled is False:
            actions += [m.enabled.set(False), m.disabled_reason.set("disabled by its owner"), m.disabled_at.set(now)]
        return update_if(m(endpoint.endpoint_id), actions, m.endpoint_id.exists())

    def rotate(self, endpoint: Endpoint, *, new_sealed: str, previous_sealed: str, previous_expires_at: datetime,
               now: datetime) -> bool:
        m = WebhookEndpointModel
        return update_if(m(endpoint.endpoint_id), [
            m.secret_sealed.set(new_sealed), m.previous_secret_sealed.set(previous_sealed),
            m.previous_secret_expires_at.set(previous_expires_at), m.updated_at.set(now),
        ], m.endpoint_id.exists() & (m.secret_sealed == endpoint.secret_sealed))

    def delete(self, endpoint: Endpoint) -> bool:
        """False when it was already gone (a concurrent delete got there first)."""
        self._count_if_uncounted(endpoint.tenant_id)
        try:
            WebhookEndpointModel(endpoint.endpoint_id).delete(condition=WebhookEndpointModel.endpoint_id.exists())
        except DeleteError as exc:
            if conditional_failed(exc):
                return False
            raise
        self._release_slot(endpoint.tenant_id)
        return True

    def record_success(self, endpoint: Endpoint, now: datetime) -> None:
        stale = endpoint.last_success_at is None or now - endpoint.last_success_at > _HEALTH_REFRESH
        if endpoint.failing_since is None and not stale:
            return
        m = WebhookEndpointModel
        update_if(m(endpoint.endpoint_id), [m.last_success_at.set(now), m.failing_since.remove()],
                  m.endpoint_id.exists())

    def record_failure(self, endpoint: Endpoint, now: datetime) -> None:
        m = WebhookEndpointModel
        if endpoint.failing_since is None:
            update_if(m(endpoint.endpoint_id), [m.failing_since.set(now), m.last_failure_at.set(now)],
                      m.endpoint_id.exists() & m.failing_since.does_not_exist())
        elif endpoint.last_failure_at is None or now - endpoint.last_failure_at > _HEALTH_REFRESH:
            update_if(m(endpoint.endpoint_id), [m.last_failure_at.set(now)], m.endpoint_id.exists())

    def count_failed_delivery(self, endpoint_id: str) -> None:
        m = WebhookEndpointModel
        update_if(m(endpoint_id), [m.failed_deliveries.add(1)], m.endpoint_id.exists())

    def disable(self, endpoint_id: str, reason: str, now: datetime) -> bool:
        """Disable it; False when it was already disabled (or is gone), so only one caller
        tells the owner."""
        m = WebhookEndpointModel
        return update_if(m(endpoint_id), [m.enabled.set(False), m.disabled_reason.set(reason),
                                          m.disabled_at.set(now), m.updated_at.set(now)],
                         m.endpoint_id.exists() & (m.enabled == True))  # noqa: E712 (a DynamoDB condition)


# ---------------------------------------------------------------- deliveries


def _attempt(item: AttemptAttribute) -> Attempt:
    return Attempt(number=int(item.number), round=int(item.round), at=item.at,
                   status_code=None if item.status_code is None else int(item.status_code),
                   latency_ms=int(item.latency_ms), error=item.error)


def _delivery(item: WebhookDeliveryModel) -> Delivery:
    return Delivery(
        delivery_id=item.delivery_id, endpoint_id=item.endpoint_id, tenant_id=item.tenant_id,
        event_id=item.event_id, event_type=item.event_type, payload=item.payload, session_id=item.session_id,
        status=DeliveryStatus(item.status), round=int(item.round), round_attempts=int(item.round_attempts),
        attempt_count=int(item.attempt_count), next_attempt_at=item.next_attempt_at,
        last_status_code=None if item.last_status_code is None else int(item.last_status_code),
        last_error=item.last_error, attempts=tuple(_attempt(a) for a in item.attempts or ()),
        created_at=item.created_at, updated_at=item.updated_at,
        claim_until=None if item.claim_until is None else float(item.claim_until))


_CURSOR_KEY = ("delivery_id", "endpoint_id", "created_at")


def _cursor_start(cursor: str, endpoint_id: str) -> dict[str, dict[str, str]]:
    """The start key of a delivery-log cursor, which must be this endpoint's."""
    key = decode_cursor(cursor, _CURSOR_KEY)
    if key["endpoint_id"] != endpoint_id:
        raise ValidationFailed("`cursor` is not a cursor this list returned.", code="invalid_cursor")
    return start_key(key)


class DeliveryRepository:
    def __init__(self, retention_days: int):
        self._retention = timedelta(days=retention_days)

    def _ttl(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())

    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False if it already exists (the event was seen before)."""
        item = WebhookDeliveryModel(
            delivery.delivery_id, endpoint_id=delivery.endpoint_id, tenant_id=delivery.tenant_id,
            session_id=delivery.session_id, event_id=delivery.event_id, event_type=delivery.event_type,
            payload=delivery.payload, status=delivery.status.value, round=delivery.round,
            round_attempts=0, attempt_count=0, next_attempt_at=delivery.next_attempt_at, attempts=[],
            created_at=delivery.created_at, updated_at=delivery.updated_at, ttl=self._ttl(delivery.created_at))
        return save_if(item, WebhookDeliveryModel.delivery_id.does_not_exist())

    def get(self, delivery_id: str) -> Delivery | None:
        try:
            return _delivery(WebhookDeliveryModel.get(delivery_id, consistent_read=True))
        except DoesNotExist:
            return None

    def claim(self, delivery_id: str, round_no: int, attempt: int, *, now: float, until: float) -> bool:
        """Take attempt `attempt` of round `round_no` for one handler, until `until`."""
        m = WebhookDeliveryModel
        return update_if(m(delivery_id), [m.claim_until.set(until)],
                         (m.status == DeliveryStatus.PENDING.value) & (m.round == round_no)
                         & (m.round_attempts == attempt - 1)
                         & (m.claim_until.does_not_exist() | (m.claim_until < now)))

    def record_attempt(self, delivery_id: str, round_no: int, attempt: Attempt, *, round_attempt: int,
                       status: DeliveryStatus, next_attempt_at: datetime | None, now: datetime) -> bool:
        m = WebhookDeliveryModel
        entry = AttemptAttribute(number=attempt.number, round=attempt.round, at=attempt.at,
                                 status_code=attempt.status_code, latency_ms=attempt.latency_ms, error=attempt.error)
        actions: list[Action] = [
            m.round_attempts.set(round_attempt), m.attempt_count.add(1),
            m.attempts.set((m.attempts | []).append([entry])), m.status.set(status.value),
            m.updated_at.set(now), m.claim_until.remove(),
        ]
        actions.append(m.last_status_code.set(attempt.status_code) if attempt.status_code is not None
                       else m.last_status_code.remove())
        actions.append(m.last_error.set(attempt.error) if attempt.error else m.last_error.remove())
        actions.append(m.next_attempt_at.set(next_attempt_at) if next_attempt_at else m.next_attempt_at.remove())
        return update_if(m(delivery_id), actions,
                         (m.status == DeliveryStatus.PENDING.value) & (m.round == round_no)
                         & (m.round_attempts == round_attempt - 1))

    def abandon(self, delivery_id: str, round_no: int, reason: str, now: datetime) -> bool:
        """End a pending round without an attempt (the endpoint is gone or disabled)."""
        m = WebhookDeliveryModel
        return update_if(m(delivery_id), [m.status.set(DeliveryStatus.FAILED.value), m.last_error.set(reason),
                                          m.next_attempt_at.remove(), m.claim_until.remove(), m.updated_at.set(now)],
                         (m.status == DeliveryStatus.PENDING.value) & (m.round == round_no))

    def start_round(self, delivery: Delivery, now: datetime) -> Delivery | None:
        """A new round (redeliver, recover) from the state `delivery` was read in; None if
        it changed meanwhile."""
        m = WebhookDeliveryModel
        started = update_if(m(delivery.delivery_id), [
            m.status.set(DeliveryStatus.PENDING.value), m.round.set(delivery.round + 1), m.round_attempts.set(0),
            m.next_attempt_at.set(now), m.claim_until.remove(), m.updated_at.set(now), m.ttl.set(self._ttl(now)),
        ], (m.round == delivery.round) & (m.status == delivery.status.value))
        if not started:
            return None
        return replace(delivery, status=DeliveryStatus.PENDING, round=delivery.round + 1, round_attempts=0,
                       next_attempt_at=now, claim_until=None, updated_at=now)

    def restore(self, delivery: Delivery, now: datetime) -> None:
        """Undo `start_round` when its first attempt could not be queued."""
        m = WebhookDeliveryModel
        update_if(m(delivery.delivery_id), [m.status.set(DeliveryStatus.FAILED.value),
                                            m.last_error.set("enqueue_failed"), m.next_attempt_at.remove(),
                                            m.updated_at.set(now)],
                  (m.round == delivery.round) & (m.round_attempts == 0)
                  & (m.status == DeliveryStatus.PENDING.value))

    def page(self, endpoint_id: str, *, limit: int, cursor: str | None,
             status: DeliveryStatus | None) -> tuple[list[Delivery], str | None]:
        """Newest first."""
        m = WebhookDeliveryModel
        results = m.endpoint_index.query(
            endpoint_id, scan_index_forward=False, limit=limit,
            filter_condition=(m.status == status.value) if status is not None else None,
            last_evaluated_key=_cursor_start(cursor, endpoint_id) if cursor else None)
        items = [_delivery(item) for item in results]
        last = results.last_evaluated_key
        return items, encode_cursor(from_last_key(last)) if last and len(items) >= limit else None

    def in_range(self, endpoint_id: str, since: datetime, until: datetime,
                 statuses: frozenset[DeliveryStatus]) -> Iterator[Delivery]:
        """Oldest first, created in [since, until], in one of `statuses`."""
        m = WebhookDeliveryModel
        condition = m.status.is_in(*[s.value for s in statuses])
        for item in m.endpoint_index.query(endpoint_id, m.created_at.between(since, until),
                                           filter_condition=condition, scan_index_forward=True):
            yield _delivery(item)
