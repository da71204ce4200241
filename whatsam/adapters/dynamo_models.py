"""PynamoDB models of every table. Table names, endpoint and region are bound at start-up
by `bind_models`, so one code base serves every stack prefix and emulator."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from whatsam.adapters.chat_models import ChatModel
from whatsam.adapters.identity_models import IdentityModel
from whatsam.adapters.message_models import JournalModel, MessageModel
from whatsam.adapters.usage_models import StatementModel, UsageModel
from whatsam.adapters.webhook_models import WebhookDeliveryModel, WebhookEndpointModel
from whatsam.config import Settings


class UserModel(Model):
    class Meta:
        logical_name = "users"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    password_hash = UnicodeAttribute()
    role = UnicodeAttribute(default="user")
    tier = UnicodeAttribute(default="BASIC")
    active = BooleanAttribute(default=True)
    # Counted in the same transaction that creates or deletes a card, so the tier limit
    # holds under concurrent creates.
    session_count = NumberAttribute(default=0)
    # Likewise the webhook endpoints (`EndpointRepository`); absent on users from before it.
    webhook_count = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class UserEmailModel(Model):
    """Claims an email address: DynamoDB has no unique secondary keys, so uniqueness is a
    conditional put of this item in the same transaction as the user."""

    class Meta:
        logical_name = "user-emails"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class TenantIndex(GlobalSecondaryIndex["SessionModel"]):
    class Meta:
        index_name = "tenant-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SessionModel(Model):
    class Meta:
        logical_name = "sessions"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    session_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="disconnected")
    status_version = NumberAttribute(default=0)
    phone = UnicodeAttribute(null=True)
    worker_id = UnicodeAttribute(null=True)
    # Sequence number of the last worker event applied; older events are dropped.
    event_seq = NumberAttribute(default=0)
    # Counts accepted outbound messages: their order of acceptance, which is their send order.
    send_seq = NumberAttribute(default=0)
    # Session settings (`domain.settings`), one attribute each so that two changes of different
    # settings never overwrite each other; unset means the default.
    reject_calls = BooleanAttribute(null=True)
    reject_message = UnicodeAttribute(null=True)
    history_sync = UnicodeAttribute(null=True)
    proxy = UnicodeAttribute(null=True)  # shown: the URL with its password masked
    proxy_sealed = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    tenant_index = TenantIndex()


class ApiKeySessionIndex(GlobalSecondaryIndex["ApiKeyModel"]):
    class Meta:
        index_name = "session-index"
        projection = AllProjection()

    session_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ApiKeyModel(Model):
    """Keyed by the key's hash: authentication is one strongly consistent read."""

    class Meta:
        logical_name = "api-keys"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    prefix = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    session_index = ApiKeySessionIndex()


class RefreshTokenModel(Model):
    class Meta:
        logical_name = "refresh-tokens"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    token_hash = UnicodeAttribute(hash_key=True)
    family_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = NumberAttribute()
    used_at = UTCDateTimeAttribute(null=True)
    # Only for storage clean-up; correctness checks `expires_at`, never the TTL.
    ttl = NumberAttribute(null=True)


class RefreshFamilyModel(Model):
    """One login's chain of refresh tokens; revoking it ends every token of the chain."""

    class Meta:
        logical_name = "refresh-families"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    family_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    expires_at = NumberAttribute()
    ttl = NumberAttribute(null=True)


class IdempotencyModel(Model):
    """Idempotency records, in the layout of Powertools' DynamoDB persistence layer."""

    class Meta:
        logical_name = "idempotency"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)
    in_progress_expiration = NumberAttribute(null=True)
    validation = UnicodeAttribute(null=True)


class LeaseModel(Model):
    """Who holds a session's socket. `fence` grows on every grant and guards every write a
    holder makes (auth state, events), so a holder that lost the lease cannot clobber."""

    class Meta:
        logical_name = "leases"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    session_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    worker_id = UnicodeAttribute(null=True)
    fence = NumberAttribute(default=0)
    # Epoch milliseconds; 0 once released.
    expires_at = NumberAttribute(default=0)
    # The current auth-state snapshot in S3 and the fence it was written under.
    auth_key = UnicodeAttribute(null=True)
    auth_fence = NumberAttribute(null=True)
    # Set when the control plane took the lease back to end the session's link, and no grant
    # while set: "deleted" (for good) or "deactivated" (the owner's; lifted on reactivation).
    revoked = UnicodeAttribute(null=True)


class WorkerModel(Model):
    """The worker registry: one item per worker process, refreshed by its heartbeat."""

    class Meta:
        logical_name = "workers"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    worker_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(default="online")
    endpoint = UnicodeAttribute(default="")
    inbox_url = UnicodeAttribute(default="")
    capacity = NumberAttribute(default=0)
    version = UnicodeAttribute(default="")
    engine = UnicodeAttribute(default="")
    started_at = UTCDateTimeAttribute()
    last_heartbeat = UTCDateTimeAttribute()
    # JSON: {"sessions": {"connected": 3, ...}, "cpu_percent": 4.2, "rss_bytes": ...}
    stats = UnicodeAttribute(default="{}")


ALL_MODELS: tuple[type[Model], ...] = (
    UserModel,
    UserEmailModel,
    SessionModel,
    ApiKeyModel,
    RefreshTokenModel,
    RefreshFamilyModel,
    IdempotencyModel,
    LeaseModel,
    WorkerModel,
    MessageModel,
    JournalModel,
    ChatModel,
    WebhookEndpointModel,
    WebhookDeliveryModel,
    UsageModel,
    StatementModel,
    IdentityModel,
)

# Attributes DynamoDB expires for storage hygiene (never relied on for correctness).
TTL_ATTRIBUTES: dict[str, str] = {
    "refresh-tokens": "ttl", "refresh-families": "ttl", "idempotency": "expiration", "messages": "ttl", "events": "ttl",
    "webhook-deliveries": "ttl",
}


def bind_models(settings: Settings) -> None:
    for model in ALL_MODELS:
        meta = model.Meta
        meta.table_name = settings.table_name(meta.logical_name)  # type: ignore[attr-defined]
        meta.host = settings.aws_endpoint_url
        meta.region = settings.aws_region
        # PynamoDB caches its connection per model; drop it so the new endpoint is used.
        model._connection = None
