"""PynamoDB models of the message log and the per-session event journal."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class PendingIndex(GlobalSecondaryIndex["MessageModel"]):
    """Sparse: only messages still to send, or whose outcome is not announced yet, carry
    `pending_seq`, so this lists a session's outbox in the order accepted and nothing else."""

    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    session_id = UnicodeAttribute(hash_key=True)
    pending_seq = NumberAttribute(range_key=True)


class SessionTimeIndex(GlobalSecondaryIndex["MessageModel"]):
    class Meta:
        index_name = "session-time-index"
        projection = AllProjection()

    session_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class ChatTimeIndex(GlobalSecondaryIndex["MessageModel"]):
    class Meta:
        index_name = "chat-time-index"
        projection = AllProjection()

    session_chat = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class WhatsAppIdIndex(GlobalSecondaryIndex["MessageModel"]):
    """Receipts and revokes name WhatsApp's id; this finds our message from it."""

    class Meta:
        index_name = "wa-id-index"
        projection = KeysOnlyProjection()

    session_wa = UnicodeAttribute(hash_key=True)


class MessageModel(Model):
    class Meta:
        logical_name = "messages"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    message_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    direction = UnicodeAttribute()  # "out" | "in"
    chat_jid = UnicodeAttribute()
    session_chat = UnicodeAttribute()  # f"{session_id}#{chat_jid}"
    type = UnicodeAttribute()
    payload = UnicodeAttribute(default="{}")  # JSON; media as S3 keys, never bytes
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    sort_key = UnicodeAttribute()  # f"{created_at}#{message_id}": newest-first paging
    send_seq = NumberAttribute(null=True)
    pending_seq = NumberAttribute(null=True)
    sending_fence = NumberAttribute(null=True)
    # The fence of the attempt the engine's process took in hand (see MessageRepository.hand_to_engine).
    handed_fence = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    wa_id = UnicodeAttribute(null=True)
    session_wa = UnicodeAttribute(null=True)
    timeline = UnicodeAttribute(default="[]")  # JSON [{"status", "at"}]
    error = UnicodeAttribute(null=True)
    request_hash = UnicodeAttribute(null=True)
    revoked = BooleanAttribute(default=False)
    # A poll's votes, {voter JID: {"options": [...], "at": ISO time}}: each voter's latest, one map
    # entry per voter so that votes written at once never contend.
    poll_votes: MapAttribute[str, object] = MapAttribute(null=True)
    source = UnicodeAttribute(null=True)  # absent: "live"
    # Seq of the journaled event of each status: one journal entry (and webhook) per status.
    journaled_sent = NumberAttribute(null=True)
    journaled_delivered = NumberAttribute(null=True)
    journaled_read = NumberAttribute(null=True)
    journaled_played = NumberAttribute(null=True)
    journaled_failed = NumberAttribute(null=True)
    ttl = NumberAttribute(null=True)
    pending_index = PendingIndex()
    session_time_index = SessionTimeIndex()
    chat_time_index = ChatTimeIndex()
    wa_id_index = WhatsAppIdIndex()


class JournalModel(Model):
    """Every applied event of a session, by its sequence number, for GET …/events?after=SEQ."""

    class Meta:
        logical_name = "events"
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"

    session_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    body = UnicodeAttribute()  # the event as JSON, in the shared schema
    ttl = NumberAttribute(null=True)
