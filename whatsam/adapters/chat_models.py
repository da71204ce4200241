"""PynamoDB model of the chat list: one item per chat of a session, kept by ingestion."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class ActivityIndex(GlobalSecondaryIndex["ChatModel"]):
    """A session's chats by last activity: `activity_key` is `"{ISO time}#{wa_id}"` of the
    newest message, so newest-first paging is a backwards query."""

    class Meta:
        index_name = "activity-index"
        projection = AllProjection()

    session_id = UnicodeAttribute(hash_key=True)
    activity_key = UnicodeAttribute(range_key=True)


class ChatModel(Model):
    class Meta:
        logical_name = "chats"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    session_id = UnicodeAttribute(hash_key=True)
    chat_jid = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # direct | group | channel
    name = UnicodeAttribute(null=True)
    # "0" until the chat has a message: listed last.
    activity_key = UnicodeAttribute(default="0")
    last_message_id = UnicodeAttribute(null=True)
    last_type = UnicodeAttribute(null=True)
    last_preview = UnicodeAttribute(null=True)
    last_from_me = BooleanAttribute(null=True)
    last_at = UTCDateTimeAttribute(null=True)
    # Changed only by atomic ADD (a message) and SET 0 (a read): concurrent events lose nothing.
    unread_count = NumberAttribute(default=0)
    # Messages at or before this time are read; older messages arriving late count nothing.
    read_through = UTCDateTimeAttribute(null=True)
    archived = BooleanAttribute(null=True)
    pinned = BooleanAttribute(null=True)
    muted = BooleanAttribute(null=True)
    muted_until = UTCDateTimeAttribute(null=True)  # None while muted: for good
    disappearing_seconds = NumberAttribute(null=True)
    # Set by anything live (a message, a read, a setting): history, older news, no longer
    # overrides the chat's unread count and settings.
    live = BooleanAttribute(null=True)
    activity_index = ActivityIndex()
