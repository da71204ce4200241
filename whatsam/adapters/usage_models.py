"""PynamoDB models of usage records and monthly statements (spec §3.5).

Both are billing evidence: no TTL, and the template retains the tables."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


class UsageModel(Model):
    """One user's counts of one hour and session: `slot` is `2024-02-01T13#ses_…` (`#-` for
    counts of no session). User `_platform` holds the whole platform's counts per hour."""

    class Meta:
        logical_name = "usage"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    user_id = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    hour = NumberAttribute(null=True)
    day = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    messages_sent = NumberAttribute(null=True)
    messages_received = NumberAttribute(null=True)
    api_calls = NumberAttribute(null=True)
    session_minutes = NumberAttribute(null=True)
    # The Redis claims already added into this record: the fold's idempotency key.
    folded_claims = UnicodeSetAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class StatementModel(Model):
    """A closed month of one user, written once (conditional put) and never changed."""

    class Meta:
        logical_name = "statements"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    user_id = UnicodeAttribute(hash_key=True)
    month = UnicodeAttribute(range_key=True)  # YYYY-MM
    tier = UnicodeAttribute()
    currency = UnicodeAttribute()
    total_cents = NumberAttribute()
    # The statement as GET /v1/billing/statements/{month} shows it (JSON), frozen at closing.
    document = UnicodeAttribute()
    closed_at = UTCDateTimeAttribute()
