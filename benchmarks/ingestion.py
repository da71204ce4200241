"""Throughput of message-event ingestion in the local stack: the events-queue pollers of
`whatsam dev` feeding the very handler Lambda calls, against a moto server over HTTP.

    .venv/bin/python benchmarks/ingestion.py [--messages 300] [--sessions 5] [--filler 1000]

Seeds `--sessions` leased sessions of one tenant (with a webhook endpoint, so every applied
event fans out as in the chaos run) and `--messages` sent messages spread over them, plus
`--filler` older messages (a table that has grown, as in a long run: moto answers a query by
scanning the whole table). Then queues what a worker reports for each message (sent,
delivered, read: three events, receipts naming WhatsApp's id only), starts the pollers and
times until every message reads `read` and the queue is empty. Prints events per second and
the load average (the machine is shared: compare runs made under similar load)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from whatsam.adapters.aws import client  # noqa: E402
from whatsam.adapters.leases import LeaseRepository  # noqa: E402
from whatsam.adapters.messages import MessageRepository  # noqa: E402
from whatsam.config import Settings  # noqa: E402
from whatsam.contracts.events import MessageStatusEvent, make_seq  # noqa: E402
from whatsam.dev.processes import aws_test_credentials, start_moto_server, start_redis_server  # noqa: E402
from whatsam.dev.stack import POLLERS_PER_QUEUE  # noqa: E402
from whatsam.domain.ids import new_id  # noqa: E402
from whatsam.domain.model import User, utcnow  # noqa: E402
from whatsam.domain.tiers import Tier  # noqa: E402
from whatsam.messaging.record import MessageRecord  # noqa: E402
from whatsam.messaging.status import MessageStatus  # noqa: E402

WORKER = "bench-worker"
CHAT = "14155552671@s.whatsapp.net"


def _environment(aws_endpoint: str, redis_url: str) -> None:
    os.environ.update({
        **aws_test_credentials(), "AWS_ENDPOINT_URL": aws_endpoint, "REDIS_URL": redis_url,
        "WHATSAM_PREFIX": f"b{uuid.uuid4().hex[:8]}", "WHATSAM_DEV_MODE": "1",
        **{name: secrets.token_urlsafe(48) for name in (
            "WHATSAM_JWT_SECRET", "WHATSAM_REFRESH_TOKEN_KEY", "WHATSAM_API_KEY_PEPPER", "WHATSAM_WORKER_TOKEN")},
    })


def _record(session_id: str, tenant_id: str, number: int) -> MessageRecord:
    return MessageRecord(message_id=new_id("msg"), session_id=session_id, tenant_id=tenant_id, direction="out",
                         chat_jid=CHAT, type="text", payload={"text": f"bench {number}"}, status=MessageStatus.SENT,
                         created_at=utcnow(), wa_id=f"3EB0{uuid.uuid4().hex[:16].upper()}")


def _events(records: list[MessageRecord], fences: dict[str, int]) -> list[MessageStatusEvent]:
    """What the worker reports per message, numbered per session as a worker numbers them."""
    counters: dict[str, int] = {}
    events = []
    for kind in ("message.sent", "message.delivered", "message.read"):
        for record in records:
            counters[record.session_id] = counters.get(record.session_id, 0) + 1
            events.append(MessageStatusEvent(
                type=kind, session_id=record.session_id, tenant_id=record.tenant_id, worker_id=WORKER,
                seq=make_seq(fences[record.session_id], counters[record.session_id]), chat_jid=CHAT,
                wa_id=record.wa_id, message_id=record.message_id if kind == "message.sent" else None))
    return events


def _queue(settings: Settings, events: list[MessageStatusEvent]) -> str:
    sqs = client("sqs", settings)
    url: str = sqs.get_queue_url(QueueName=settings.queue_name("events"))["QueueUrl"]
    for start in range(0, len(events), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": e.to_json(),
             "MessageAttributes": {"type": {"DataType": "String", "StringValue": e.type}}}
            for i, e in enumerate(events[start:start + 10])])
    return url


def _drained(settings: Settings, url: str) -> bool:
    counts = client("sqs", settings).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return all(int(count) == 0 for count in counts["Attributes"].values())


class CallTimes:
    """Every AWS call the process makes (boto3 and PynamoDB both go through botocore's
    `_make_api_call`): how many of each operation, and their wall-clock seconds."""

    def __init__(self) -> None:
        from botocore.client import BaseClient

        self.count: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        unpatched = BaseClient._make_api_call
        times = self

        def timed(client_self: BaseClient, operation: str, params: dict) -> object:
            started = time.monotonic()
            try:
                return unpatched(client_self, operation, params)
            finally:
                times.add(operation, time.monotonic() - started)

        BaseClient._make_api_call = timed  # type: ignore[method-assign]

    def add(self, operation: str, seconds: float) -> None:
        with self._lock:
            self.count[operation] = self.count.get(operation, 0) + 1
            self.seconds[operation] = self.seconds.get(operation, 0.0) + seconds

    def reset(self) -> None:
        with self._lock:
            self.count.clear()
            self.seconds.clear()

    def table(self, events: int) -> str:
        rows = sorted(self.count, key=lambda op: -self.seconds[op])
        return "\n".join(f"  {op:<24} {self.count[op] / events:5.2f} per event, "
                         f"{1000 * self.seconds[op] / self.count[op]:7.1f} ms each" for op in rows)


def run(messages: int, sessions: int, filler: int, pollers: int) -> None:
    from whatsam.bootstrap import container
    from whatsam.dev.app_loader import load_app
    from whatsam.dev.event_sources import SqsPoller, split_sources
    from whatsam.resources import provision
    from whatsam.security.passwords import hash_password

    settings = Settings.from_env()
    provision(settings)
    services = container()
    owner = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="bench",
                 password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(owner)
    services.webhooks.service.create(owner, url="http://127.0.0.1:9/hooks", event_types=("*",), session_id=None,
                                     description="bench")
    leases = LeaseRepository()
    fences = {}
    for index in range(sessions):
        card, _, _ = services.sessions.create(owner, name=f"bench-{index}", description="")
        lease = leases.acquire(card.session_id, owner.user_id, WORKER)
        assert lease is not None
        fences[card.session_id] = lease.fence
    ids = list(fences)
    repository = MessageRepository()
    for number in range(filler):
        repository.add(_record(ids[number % sessions], owner.user_id, number))
    records = [_record(ids[number % sessions], owner.user_id, number) for number in range(messages)]
    for record in records:
        repository.add(record)
    events = _events(records, fences)
    url = _queue(settings, events)
    print(f"seeded {filler} + {messages} messages over {sessions} sessions; {len(events)} events queued "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)

    calls = CallTimes()
    app = load_app()
    source = next(s for s in split_sources(app)[0] if s.queue == "events")
    stop = threading.Event()
    threads = [SqsPoller(app, source, settings, stop) for _ in range(pollers)]
    calls.reset()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while not _drained(settings, url):
        time.sleep(1.0)  # seldom: the check itself is a call the emulator must answer
    elapsed = time.monotonic() - started
    print("AWS calls while ingesting (pollers' receives and deletes included):\n" + calls.table(len(events)))
    stop.set()
    for thread in threads:
        thread.join(10)
    unread = [r.message_id for r in records if (got := repository.get(r.message_id)) is None
              or got.status is not MessageStatus.READ]
    print(f"{len(events)} events ingested in {elapsed:.1f} s: {len(events) / elapsed:.1f} events/s "
          f"({pollers} pollers; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    if unread:
        print(f"NOT READ: {len(unread)} messages, e.g. {unread[:3]}")
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--filler", type=int, default=1000, help="older messages already in the table")
    parser.add_argument("--pollers", type=int, default=POLLERS_PER_QUEUE,
                        help="pollers on the events queue (whatsam dev's count)")
    args = parser.parse_args(argv)
    moto, redis = start_moto_server(), start_redis_server()
    try:
        _environment(moto.url, redis.url)
        run(args.messages, args.sessions, args.filler, args.pollers)
    finally:
        moto.stop()
        redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
