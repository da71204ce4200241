"""The message log and the event journal in DynamoDB.

Outbound messages move queued → sending → sent (→ delivered → read) or → failed, each step
a conditional write, so a redelivered command or a second worker can never send one twice:
only the worker holding the session's lease (its fence stamped on `sending`) may finish it.
A message leaves the outbox (`pending_seq`) only once the event of its outcome is published
(`settle`), so a worker killed in between leaves it to the next holder to announce."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.operand import Path
from pynamodb.models import Model

from whatsam.adapters.conditions import save_if, update_if
from whatsam.adapters.message_models import JournalModel, MessageModel
from whatsam.contracts.events import AnyEvent
from whatsam.domain.model import iso_z, utcnow
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import PENDING, MessageStatus, advances


def _record(item: MessageModel) -> MessageRecord:
    return MessageRecord(
        message_id=item.message_id, session_id=item.session_id, tenant_id=item.tenant_id, direction=item.direction,
        chat_jid=item.chat_jid, type=item.type, payload=json.loads(item.payload), status=MessageStatus(item.status),
        created_at=item.created_at, send_seq=int(item.send_seq) if item.send_seq is not None else None,
        sending_fence=int(item.sending_fence) if item.sending_fence is not None else None,
        handed_fence=int(item.handed_fence) if item.handed_fence is not None else None,
        attempts=int(item.attempts or 0), wa_id=item.wa_id, timeline=json.loads(item.timeline), error=item.error,
        request_hash=item.request_hash, revoked=bool(item.revoked),
        poll_votes=item.poll_votes.as_dict() if item.poll_votes else {}, source=item.source or "live")


# The seq of the event that journaled each status of an outbound message.
_JOURNALED = {MessageStatus.SENT: MessageModel.journaled_sent,
              MessageStatus.DELIVERED: MessageModel.journaled_delivered,
              MessageStatus.READ: MessageModel.journaled_read, MessageStatus.PLAYED: MessageModel.journaled_played,
              MessageStatus.FAILED: MessageModel.journaled_failed}


# Tries of one receipt against concurrent others (sent, delivered and read: a few at most).
_ADVANCE_ATTEMPTS = 5


def _stamp(timeline: list[dict[str, Any]], status: MessageStatus, at: datetime) -> str:
    return json.dumps([*timeline, {"status": status.value, "at": iso_z(at)}])


class MessageRepository:
    def __init__(self, retention_days: int = 30):
        self.retention_seconds = retention_days * 86400

    def add(self, record: MessageRecord) -> bool:
        """Store a new message; False if one with this id exists (an idempotent replay)."""
        item = MessageModel(
            message_id=record.message_id, session_id=record.session_id, tenant_id=record.tenant_id,
            direction=record.direction, chat_jid=record.chat_jid, session_chat=f"{record.session_id}#{record.chat_jid}",
            type=record.type, payload=json.dumps(record.payload), status=record.status.value,
            created_at=record.created_at, sort_key=f"{record.created_at.isoformat()}#{record.message_id}",
            send_seq=record.send_seq, pending_seq=record.send_seq if record.status is MessageStatus.QUEUED else None,
            wa_id=record.wa_id, session_wa=f"{record.session_id}#{record.wa_id}" if record.wa_id else None,
            timeline=_stamp([], record.status, record.created_at), request_hash=record.request_hash,
            source=None if record.source == "live" else record.source,
            ttl=int(time.time()) + self.retention_seconds)
        return save_if(item, MessageModel.message_id.does_not_exist())

    def get(self, message_id: str) -> MessageRecord | None:
        try:
            return _record(MessageModel.get(message_id, consistent_read=True))
        except DoesNotExist:
            return None

    def pending(self, session_id: str, limit: int = 50) -> list[MessageRecord]:
        """The session's unsent messages, in the order they were accepted."""
        return [_record(i) for i in MessageModel.pending_index.query(session_id, scan_index_forward=True,
                                                                      limit=limit)]

    def find_by_wa_id(self, session_id: str, wa_id: str) -> MessageRecord | None:
        for key in MessageModel.wa_id_index.query(f"{session_id}#{wa_id}", limit=1):
            return self.get(key.message_id)
        return None

    def history(self, session_id: str, *, chat_jid: str | None, before: str | None,
                limit: int) -> tuple[list[MessageRecord], str | None]:
        """Newest first; `before` is the cursor (a sort key) returned by the previous page."""
        condition = MessageModel.sort_key < before if before else None
        if chat_jid:
            pages = MessageModel.chat_time_index.query(f"{session_id}#{chat_jid}", range_key_condition=condition,
                                                       scan_index_forward=False, limit=limit)
        else:
            pages = MessageModel.session_time_index.query(session_id, range_key_condition=condition,
                                                          scan_index_forward=False, limit=limit)
        items = list(pages)
        cursor = items[-1].sort_key if len(items) == limit else None
        return [_record(i) for i in items], cursor

    # ------------------------------------------------------------------ the outbox state machine

    def start_sending(self, record: MessageRecord, fence: int) -> bool:
        """queued → sending, stamped with the holder's fence; False if someone else moved it."""
        return update_if(MessageModel(message_id=record.message_id),
                         [MessageModel.status.set(MessageStatus.SENDING.value), MessageModel.sending_fence.set(fence),
                          MessageModel.attempts.add(1)],
                         MessageModel.status == MessageStatus.QUEUED.value)

    def mark_sent(self, record: MessageRecord, fence: int, wa_id: str, at: datetime) -> bool:
        return update_if(MessageModel(message_id=record.message_id),
                         [MessageModel.status.set(MessageStatus.SENT.value), MessageModel.wa_id.set(wa_id),
                          MessageModel.session_wa.set(f"{record.session_id}#{wa_id}"), MessageModel.error.remove(),
                          MessageModel.timeline.set(_stamp(record.timeline, MessageStatus.SENT, at))],
                         (MessageModel.status == MessageStatus.SENDING.value) & (MessageModel.sending_fence == fence))

    def hand_to_engine(self, message_id: str, fence: int) -> bool:
        """Written by the engine's process right before it sends: this attempt (still ours,
        still `sending`) is about to reach WhatsApp. False: the next holder took the message
        back, and this attempt must not send it."""
        return update_if(MessageModel(message_id=message_id), [MessageModel.handed_fence.set(fence)],
                         (MessageModel.status == MessageStatus.SENDING.value)
                         & (MessageModel.sending_fence == fence))

    def requeue_unhanded(self, record: MessageRecord) -> bool:
        """sending → queued for an attempt whose worker died before the engine took it in hand:
        it provably never left, so the next holder sends it (not `delivery_unknown`)."""
        fence = record.sending_fence
        return update_if(MessageModel(message_id=record.message_id),
                         [MessageModel.status.set(MessageStatus.QUEUED.value)],
                         (MessageModel.status == MessageStatus.SENDING.value) & (MessageModel.sending_fence == fence)
                         & (MessageModel.handed_fence.does_not_exist() | (MessageModel.handed_fence != fence)))

    def back_to_queue(self, record: MessageRecord, fence: int) -> bool:
        """sending → queued: the attempt did not reach WhatsApp (socket down); try again later."""
        return update_if(MessageModel(message_id=record.message_id),
                         [MessageModel.status.set(MessageStatus.QUEUED.value)],
                         (MessageModel.status == MessageStatus.SENDING.value) & (MessageModel.sending_fence == fence))

    def mark_failed(self, record: MessageRecord, error: str) -> bool:
        """Pending → failed, for good; False if it was no longer pending."""
        return update_if(MessageModel(message_id=record.message_id),
                         [MessageModel.status.set(MessageStatus.FAILED.value), MessageModel.error.set(error),
                          MessageModel.timeline.set(_stamp(record.timeline, MessageStatus.FAILED, utcnow()))],
                         MessageModel.status.is_in(MessageStatus.QUEUED.value, MessageStatus.SENDING.value))

    def settle(self, record: MessageRecord) -> bool:
        """Out of the outbox: the event of its outcome (sent or failed) is published."""
        return update_if(MessageModel(message_id=record.message_id), [MessageModel.pending_seq.remove()],
                         ~MessageModel.status.is_in(*(s.value for s in PENDING)))

    def journal_status(self, record: MessageRecord, status: MessageStatus, seq: int) -> bool:
        """Claim the journal entry of one status of the message for the event numbered `seq`.
        False when another event already took it: a re-emission by a later lease holder, or a
        receipt the engine reported again after a reconnect."""
        attribute = _JOURNALED[status]
        return update_if(MessageModel(message_id=record.message_id), [attribute.set(seq)],
                         attribute.does_not_exist() | (attribute == seq))

    def advance(self, record: MessageRecord, status: MessageStatus, at: datetime) -> MessageRecord | None:
        """Move to `status` if that is forward (receipts arrive out of order); the updated
        record, or None when it is not forward. A receipt applied at the same moment (events
        are ingested concurrently) makes it read the record again and retry."""
        current: MessageRecord | None = record
        for _ in range(_ADVANCE_ATTEMPTS):
            if current is None or not advances(current.status, status):
                return None
            if update_if(MessageModel(message_id=current.message_id),
                         [MessageModel.status.set(status.value),
                          MessageModel.timeline.set(_stamp(current.timeline, status, at))],
                         MessageModel.status == current.status.value):
                return replace(current, status=status)
            current = self.get(current.message_id)
        raise RuntimeError(f"message {record.message_id} kept changing; {status.value} not applied")

    def record_vote(self, record: MessageRecord, voter: str, options: list[str], at: datetime) -> bool:
        """`voter`'s vote in the poll `record`, replacing an earlier one of theirs (none chosen: the
        vote is taken back); False when the poll holds a later vote of theirs already (or is gone).
        Each voter is one entry of the poll's map, so others' votes written at once never collide."""
        item, stamp = MessageModel(message_id=record.message_id), iso_z(at)
        # A nested SET needs its map: made once, by whichever vote comes first.
        update_if(item, [MessageModel.poll_votes.set({})],
                  MessageModel.message_id.exists() & MessageModel.poll_votes.does_not_exist())
        entry = cast(Path, MessageModel.poll_votes[voter])  # a raw map's element is a document path
        return update_if(item, [entry.set({"options": options, "at": stamp})],
                         MessageModel.poll_votes.exists() & (entry.does_not_exist() | (entry["at"] <= stamp)))

    def mark_revoked(self, record: MessageRecord) -> None:
        update_if(MessageModel(message_id=record.message_id), [MessageModel.revoked.set(True)],
                  MessageModel.message_id.exists())

    def purge_session(self, session_id: str) -> int:
        """Delete every message of the session (it was deleted); how many."""
        return delete_all(MessageModel, MessageModel.session_time_index.query(session_id))


class JournalRepository:
    def __init__(self, retention_days: int = 30):
        self.retention_seconds = retention_days * 86400

    def append(self, event: AnyEvent) -> bool:
        """Journal the event once; False if its (session, seq) is already there (a redelivery)."""
        item = JournalModel(session_id=event.session_id, seq=event.seq, type=event.type, body=event.to_json(),
                            ttl=int(time.time()) + self.retention_seconds)
        return save_if(item, JournalModel.seq.does_not_exist())

    def after(self, session_id: str, seq: int, limit: int) -> list[dict[str, Any]]:
        return [json.loads(i.body) for i in JournalModel.query(session_id, JournalModel.seq > seq, limit=limit)]

    def purge_session(self, session_id: str) -> int:
        """Delete the session's whole journal (it was deleted); how many events."""
        return delete_all(JournalModel, JournalModel.query(session_id))


def delete_all(model: type[Model], items: Iterable[Model]) -> int:
    """Delete `items` of `model` in batches; how many."""
    count = 0
    with model.batch_write() as batch:
        for item in items:
            batch.delete(item)
            count += 1
    return count
