"""PynamoDB models of webhook endpoints and deliveries (with their attempt log)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class EndpointTenantIndex(GlobalSecondaryIndex["WebhookEndpointModel"]):
    class Meta:
        index_name = "tenant-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class WebhookEndpointModel(Model):
    class Meta:
        logical_name = "webhook-endpoints"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    endpoint_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    url = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    event_types: ListAttribute[str] = ListAttribute()
    enabled = BooleanAttribute(default=True)
    disabled_reason = UnicodeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)
    # KMS ciphertexts (base64) of the signing secret and, during a rotation, the previous one.
    secret_sealed = UnicodeAttribute()
    previous_secret_sealed = UnicodeAttribute(null=True)
    previous_secret_expires_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_success_at = UTCDateTimeAttribute(null=True)
    last_failure_at = UTCDateTimeAttribute(null=True)
    failing_since = UTCDateTimeAttribute(null=True)
    failed_deliveries = NumberAttribute(default=0)
    tenant_index = EndpointTenantIndex()


class AttemptAttribute(MapAttribute):
    number = NumberAttribute()
    round = NumberAttribute()
    at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    latency_ms = NumberAttribute()
    error = UnicodeAttribute(null=True)


class DeliveryEndpointIndex(GlobalSecondaryIndex["WebhookDeliveryModel"]):
    """An endpoint's deliveries by time: the delivery log and `recover`'s range."""

    class Meta:
        index_name = "endpoint-index"
        projection = AllProjection()

    endpoint_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class WebhookDeliveryModel(Model):
    class Meta:
        logical_name = "webhook-deliveries"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    # `msg_…`, derived from endpoint and event: the `webhook-id` header.
    delivery_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    # The exact body sent on every attempt.
    payload = UnicodeAttribute()
    status = UnicodeAttribute()
    round = NumberAttribute(default=1)
    round_attempts = NumberAttribute(default=0)
    attempt_count = NumberAttribute(default=0)
    # Epoch seconds until which one handler owns the attempt in flight.
    claim_until = NumberAttribute(null=True)
    next_attempt_at = UTCDateTimeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    attempts = ListAttribute(of=AttemptAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    ttl = NumberAttribute(null=True)
    endpoint_index = DeliveryEndpointIndex()
