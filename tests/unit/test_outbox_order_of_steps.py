"""The outbox's order of steps, against an in-memory message log: the pacing gap is waited
out before a message is marked `sending` (so a worker killed while pacing leaves it `queued`,
for the next holder to send, not `delivery_unknown`), and a message leaves the outbox only
once the event of its outcome is published (so a lost publish is announced again)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import PENDING, MessageStatus
from worker_fleet.engines.base import SendResult
from worker_fleet.outbox import OutboxContext, Pacing, SessionSender


class MessageLog:
    """The outbox state machine of MessageRepository, in memory, with a step log."""

    def __init__(self, *records: MessageRecord) -> None:
        self.records = {r.message_id: r for r in records}
        self.in_outbox = set(self.records)
        self.steps: list[str] = []

    def pending(self, session_id: str, limit: int = 50) -> list[MessageRecord]:
        return [self.records[m] for m in sorted(self.in_outbox)][:limit]

    def start_sending(self, record: MessageRecord, fence: int) -> bool:
        self.steps.append(f"sending {record.message_id}")
        if self.records[record.message_id].status is not MessageStatus.QUEUED:
            return False
        self.records[record.message_id] = replace(record, status=MessageStatus.SENDING, sending_fence=fence)
        return True

    def mark_sent(self, record: MessageRecord, fence: int, wa_id: str, at: datetime) -> bool:
        self.steps.append(f"sent {record.message_id}")
        self.records[record.message_id] = replace(record, status=MessageStatus.SENT, wa_id=wa_id)
        return True

    def mark_failed(self, record: MessageRecord, error: str) -> bool:
        self.steps.append(f"failed {record.message_id}")
        self.records[record.message_id] = replace(record, status=MessageStatus.FAILED, error=error)
        return True

    def settle(self, record: MessageRecord) -> bool:
        self.steps.append(f"settled {record.message_id}")
        if self.records[record.message_id].status in PENDING:
            return False
        self.in_outbox.discard(record.message_id)
        return True

    def back_to_queue(self, record: MessageRecord, fence: int) -> bool:
        return True

    def get(self, message_id: str) -> MessageRecord | None:
        return self.records.get(message_id)

    def requeue_unhanded(self, record: MessageRecord) -> bool:
        self.steps.append(f"requeued {record.message_id}")
        self.records[record.message_id] = replace(record, status=MessageStatus.QUEUED)
        return True


class Engine:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps

    def call(self, op: str, session_id: str, **kwargs: Any) -> SendResult:
        self.steps.append(f"engine {kwargs['message'].text}")
        return SendResult(message_id=f"WA-{kwargs['message'].text}", timestamp=datetime.now(UTC))


def _queued(message_id: str, status: MessageStatus = MessageStatus.QUEUED, **fields: Any) -> MessageRecord:
    return MessageRecord(message_id=message_id, session_id="ses_1", tenant_id="usr_1", direction="out",
                         chat_jid="15550001111@s.whatsapp.net", type="text", payload={"text": message_id},
                         status=status, created_at=datetime.now(UTC), **fields)


def _sender(log: MessageLog, emitted: list[str], gap: float = 0.0,
            emit: Any = None) -> SessionSender:
    context = OutboxContext(session_id="ses_1", tenant_id="usr_1", fence=lambda: 7, holds=lambda: True,
                            emit=emit or (lambda kind, fields: emitted.append(f"{kind} {fields['message_id']}")))
    return SessionSender(context, log, None, Engine(log.steps), Pacing(min_gap=gap, jitter=0.0),  # type: ignore[arg-type]
                         lambda url: (b"", None))


def test_the_gap_is_waited_out_before_a_message_is_marked_sending() -> None:
    log = MessageLog(_queued("m1"), _queued("m2"))
    sender = _sender(log, [], gap=5.0)
    sender.start()
    deadline = time.monotonic() + 10
    while "settled m1" not in log.steps:  # the first send needs no gap
        assert time.monotonic() < deadline, log.steps
        time.sleep(0.01)
    sender.stop()  # the worker goes away while m2 waits out its gap
    assert log.steps == ["sending m1", "engine m1", "sent m1", "settled m1"], "m2 was neither marked nor sent"
    assert log.records["m2"].status is MessageStatus.QUEUED, "the next holder sends it; it is not unknown"


def test_a_message_leaves_the_outbox_only_after_its_event_is_published() -> None:
    log = MessageLog(_queued("m1"))

    def publish_fails(kind: str, fields: dict[str, Any]) -> None:
        raise ConnectionError("the events queue is unreachable")

    failing = _sender(log, [], emit=publish_fails)
    with contextlib.suppress(ConnectionError):
        failing.drain()
    assert log.records["m1"].status is MessageStatus.SENT and "m1" in log.in_outbox

    emitted: list[str] = []
    _sender(log, emitted).drain()  # the next round (or the next holder) announces it
    assert emitted == ["message.sent m1"]
    assert log.steps.count("engine m1") == 1, "announced again, never sent again"
    assert "m1" not in log.in_outbox


def test_an_attempt_its_dead_worker_never_handed_over_is_sent_first() -> None:
    """Found `sending` under an older fence and never handed to an engine: it never left, so it
    is sent, and before the messages accepted after it."""
    log = MessageLog(_queued("m1", MessageStatus.SENDING, sending_fence=3), _queued("m2"))
    emitted: list[str] = []
    _sender(log, emitted).drain()
    assert [s for s in log.steps if s.startswith(("requeued", "engine"))] == ["requeued m1", "engine m1", "engine m2"]
    assert emitted == ["message.sent m1", "message.sent m2"], "not delivery_unknown"
