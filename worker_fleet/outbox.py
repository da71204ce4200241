"""Sending a session's messages: one sender thread per held session drains the session's
pending messages from the log, in the order they were accepted, paced with jitter.

Each message goes queued → sending (stamped with our lease's fence) → sent, by conditional
writes, so a redelivered command, a sweep and a second worker cannot send it twice. The
pacing gap is waited out and the message prepared *before* it is marked `sending`: the mark
is the last step before the engine call, so `sending` means "may have reached WhatsApp".
The engine's shard marks the attempt handed (a conditional write) right before it sends. A
message found `sending` and handed under an older fence was in flight when its worker died:
whether WhatsApp got it cannot be known (neonize 0.5.2 lets us choose no message id WhatsApp
would deduplicate by), so it is failed as `delivery_unknown` rather than risk sending it
twice. One never handed provably never left: it is requeued (which also stops the old shard
from taking it) and sent; one still `queued` is simply sent by the next holder.

A message leaves the outbox only after the event of its outcome is published: one found
`sent` or `failed` in the outbox lost its event with a killed worker, and is announced again."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whatsam.adapters.messages import MessageRepository
from whatsam.contracts.events import MessageStatusKind
from whatsam.messaging.media import MediaStore
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.status import PENDING, MessageStatus
from worker_fleet.engines.base import SendResult
from worker_fleet.engines.outgoing import Media, MessageRef
from worker_fleet.media_fetch import failure_reason
from worker_fleet.outgoing_builder import UnsendableMessage, build_outgoing
from worker_fleet.supervisor import ShardGone, ShardOperationError, ShardSupervisor

log = logging.getLogger("whatsam.outbox")

# Engine errors after which the same message may be tried again once the socket is back.
_RETRYABLE = frozenset({"EngineNotConnectedError", "TimeoutError"})
SWEEP_SECONDS = 30.0

FetchUrl = Callable[[str], tuple[bytes, str | None]]


@dataclass(frozen=True)
class Pacing:
    min_gap: float
    jitter: float

    def next_gap(self) -> float:
        return self.min_gap + random.uniform(0, self.jitter)  # noqa: S311 (pacing, not crypto)


@dataclass
class OutboxContext:
    """What a session's sender needs from its host; `fence()` and `holds()` read the live lease."""

    session_id: str
    tenant_id: str
    fence: Callable[[], int]
    holds: Callable[[], bool]
    # (event type, fields): the host stamps the envelope (fenced seq, worker id) and sends it.
    emit: Callable[[MessageStatusKind, dict[str, Any]], None]


class SessionSender:
    def __init__(self, context: OutboxContext, messages: MessageRepository, media: MediaStore,
                 supervisor: ShardSupervisor, pacing: Pacing, fetch_url: FetchUrl):
        self._ctx = context
        self._messages = messages
        self._media = media
        self._supervisor = supervisor
        self._pacing = pacing
        self._fetch_url = fetch_url
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._last_send = 0.0
        self.sends = 0
        # Sent, but the log did not take the news yet (a failed write): record it next round
        # instead of mistaking it for a send that died in flight.
        self._unrecorded: dict[str, SendResult] = {}
        self._thread = threading.Thread(target=self._run, name=f"sender-{context.session_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(SWEEP_SECONDS)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.drain()
            except Exception:
                log.exception("sending for %s failed; will retry", self._ctx.session_id)

    def drain(self) -> None:
        """Send everything pending, oldest first; stop at the first message that must wait."""
        while not self._stopped.is_set() and self._ctx.holds():
            pending = self._messages.pending(self._ctx.session_id, limit=20)
            if not pending:
                return
            for record in pending:
                if self._stopped.is_set() or not self._ctx.holds():
                    return
                if not self._send_one(record):
                    return

    def _send_one(self, record: MessageRecord) -> bool:
        """Handle one pending message; False when sending must pause (socket down, lease gone)."""
        fence = self._ctx.fence()
        if record.status not in PENDING:
            self._announce(record)
            return True
        if record.status is MessageStatus.SENDING:
            sent = self._unrecorded.get(record.message_id)
            if sent is not None and record.sending_fence == fence:
                self._record_sent(record, fence, sent)
            elif record.sending_fence != fence and record.handed_fence != record.sending_fence \
                    and self._messages.requeue_unhanded(record):
                # Its worker died before the engine took it: it never left. Send it now, before
                # the messages behind it (they are next in this very round).
                requeued = self._messages.get(record.message_id)
                return requeued is None or self._send_one(requeued)
            else:
                self._fail(record, "delivery_unknown")
            return True
        try:
            outgoing = build_outgoing(record.type, record.payload, self._resolve, self._load_media)
        except UnsendableMessage as exc:
            self._fail(record, str(exc))
            return True
        self._pace()
        if self._stopped.is_set() or not self._ctx.holds():
            return False  # stopped while pacing: nothing was marked, the next holder sends it
        if not self._messages.start_sending(record, fence):
            return True  # moved by someone else; the next read of the outbox shows how
        try:
            result = self._supervisor.call("send", record.session_id, to_jid=record.chat_jid, message=outgoing,
                                           handoff=(record.message_id, fence))
        except ShardOperationError as exc:
            if exc.kind == "SendTakenBack":
                return True  # the session's next holder has it; nothing went out here
            if exc.kind in _RETRYABLE:
                self._messages.back_to_queue(record, fence)
                return False
            self._fail(record, f"{exc.kind}: {exc.detail}")
            return True
        except (ShardGone, LookupError, TimeoutError):
            # The engine died (or vanished) with the send in flight: it may or may not have gone out.
            self._fail(record, "delivery_unknown")
            return False
        self.sends += 1
        self._unrecorded[record.message_id] = result
        self._record_sent(record, fence, result)
        return True

    def _record_sent(self, record: MessageRecord, fence: int, result: SendResult) -> None:
        recorded = self._messages.mark_sent(record, fence, result.message_id, result.timestamp)
        self._unrecorded.pop(record.message_id, None)
        if recorded:
            self._emit(record, "message.sent", wa_id=result.message_id)
            self._messages.settle(record)

    def _announce(self, record: MessageRecord) -> None:
        """Publish the outcome of a message whose event died with its worker (or its publish)."""
        if record.status is MessageStatus.FAILED:
            self._emit(record, "message.failed", error=record.error)
        else:  # sent, or even delivered/read already: receipts may overtake the sent event
            self._emit(record, "message.sent", wa_id=record.wa_id)
        self._messages.settle(record)

    def _resolve(self, ref: dict[str, Any]) -> MessageRef:
        if ref.get("wa_id"):
            return MessageRef(message_id=ref["wa_id"], sender_jid=ref.get("sender_jid"),
                              from_me=bool(ref.get("from_me")))
        target = self._messages.get(ref["message_id"])
        if target is None or not target.wa_id:
            raise UnsendableMessage(f"the message it refers to ({ref['message_id']}) was never sent")
        return MessageRef(message_id=target.wa_id, sender_jid=target.payload.get("sender_jid"),
                          from_me=target.direction == "out")

    def _load_media(self, media: dict[str, Any]) -> Media:
        if media.get("key"):
            return Media(data=self._media.get(media["key"]), mimetype=media["mimetype"],
                         filename=media.get("filename"))
        try:
            data, content_type = self._fetch_url(media["url"])
        except Exception as exc:
            raise UnsendableMessage(f"media_fetch_failed: {failure_reason(exc)}") from exc
        return Media(data=data, mimetype=media.get("mimetype") or content_type or "application/octet-stream",
                     filename=media.get("filename"))

    def _pace(self) -> None:
        wait = self._last_send + self._pacing.next_gap() - time.monotonic()
        if wait > 0:
            self._stopped.wait(wait)
        self._last_send = time.monotonic()

    def _fail(self, record: MessageRecord, error: str) -> None:
        if self._messages.mark_failed(record, error):
            self._emit(record, "message.failed", error=error)
            self._messages.settle(record)

    def _emit(self, record: MessageRecord, kind: MessageStatusKind, **fields: Any) -> None:
        self._ctx.emit(kind, {"message_id": record.message_id, "chat_jid": record.chat_jid, **fields})
