"""PynamoDB model of the identity map (spec §3.9): who is who in each session's WhatsApp."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


class IdentityModel(Model):
    """One person as one session knows them, stored under each identity it has: `key` is
    ``pn:<E.164 digits>`` or ``lid:<LID JID>``, so either finds the other in one read. An item
    with one of `phone`/`lid` only is someone who wrote before the pair was known."""

    class Meta:
        logical_name = "identities"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    session_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    phone = UnicodeAttribute(null=True)
    lid = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
