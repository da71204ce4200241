"""One worker process of the fleet: registers, heartbeats, consumes the connect queue while
it has capacity and its own inbox always, hosts sessions on engine shards, and drains
cleanly on SIGTERM (stop taking work, finish the inbox, snapshot, hand sessions back)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from whatsam import __version__
from whatsam.adapters.auth_state import AuthStateStore
from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import bind_models
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.redis_client import redis_from_url
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.adapters.workers import WorkerInfo, WorkerRepository
from whatsam.config import Settings
from whatsam.contracts.commands import ConnectSession, SessionCommand, decode_command
from whatsam.domain.model import utcnow
from whatsam.messaging.media import MediaStore
from whatsam.metering.counters import UsageCounters
from whatsam.services.routing import CommandRouter, inbox_queue_name
from whatsam.services.session_proxy import ProxySealer
from whatsam.services.sessions import CONNECT_QUEUE
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.ssrf import SsrfGuard
from worker_fleet.config import WorkerConfig
from worker_fleet.emitter import EventSink, HttpSink, QueueSink
from worker_fleet.host import HostDeps, SessionHost
from worker_fleet.http_server import start_http_server
from worker_fleet.media_fetch import MediaFetcher
from worker_fleet.outbox import Pacing
from worker_fleet.session_minutes import SessionMinuteTicker
from worker_fleet.stats import ProcessStats

log = logging.getLogger("whatsam.worker")

# Deliveries of one inbox command before it is given up (see `_receive`).
MAX_INBOX_ATTEMPTS = 5
# A received connect stays hidden this long (not the queue's 120 s): a worker killed while
# claiming, or even while its long poll was still open, keeps no session waiting long. A
# claim that takes longer lets another worker see the command, whose lease grant then fails.
CONNECT_CLAIM_SECONDS = 8


def side_by_side(messages: list[dict[str, Any]], settle: Callable[[dict[str, Any]], None]) -> None:
    """Settle each message group's messages in the order received, the groups side by side.
    The inbox is FIFO per session (its message group): a session's commands keep their order,
    and the reaper handing a dead worker's sessions here has them connect at once, not one
    after another behind each other's lease, credentials and engine start."""
    def settle_in_order(group: list[dict[str, Any]]) -> None:
        for message in group:
            settle(message)

    groups: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        groups.setdefault(message.get("Attributes", {}).get("MessageGroupId", ""), []).append(message)
    if len(groups) <= 1:
        settle_in_order(messages)
        return
    lanes = [threading.Thread(target=settle_in_order, args=(group,), daemon=True) for group in groups.values()]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()


def _receive_count(message: dict[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))


class Worker:
    def __init__(self, config: WorkerConfig, settings: Settings):
        self.config = config
        self.settings = settings
        bind_models(settings)
        self._sqs = client("sqs", settings)
        self._workers = WorkerRepository()
        leases = LeaseRepository(ttl_ms=int(config.lease_ttl_seconds * 1000))
        queues = QueuePublisher(settings)
        redis = redis_from_url(settings.redis_url)
        cache = SessionCache(redis)
        sink: EventSink = (HttpSink(config.events_url, settings.worker_token) if config.events_url
                           else QueueSink(queues))
        self.host = SessionHost(config, HostDeps(
            leases=leases, auth_state=AuthStateStore(settings, leases), sessions=SessionRepository(), cache=cache,
            router=CommandRouter(settings, leases, cache), queues=queues, sink=sink,
            messages=MessageRepository(settings.message_retention_days), media=MediaStore(settings),
            pacing=Pacing(settings.send_min_gap_seconds, settings.send_jitter_seconds),
            fetch_url=MediaFetcher(allow_insecure=settings.dev_mode, max_bytes=settings.max_media_bytes).fetch,
            proxies=ProxySealer(SecretBox(settings), SsrfGuard(allow_insecure=settings.dev_mode),
                                dev_mode=settings.dev_mode)))
        self._minutes = SessionMinuteTicker(self.host.connected_sessions, UsageCounters(redis),
                                            every_seconds=config.session_minute_seconds)
        self._stop = threading.Event()
        self._drained = threading.Event()
        self._stats = ProcessStats()
        self._threads: list[threading.Thread] = []
        self.inbox_url = ""
        self.connect_url = queues.url(CONNECT_QUEUE)
        self.http = start_http_server(config.http_host, config.http_port, self.health, self.host.metrics.registry)
        self.endpoint = f"http://{config.http_host}:{self.http.server_address[1]}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.inbox_url = self._sqs.create_queue(
            QueueName=inbox_queue_name(self.settings, self.config.worker_id),
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"})["QueueUrl"]
        now = utcnow()
        self._workers.register(WorkerInfo(
            worker_id=self.config.worker_id, status="online", endpoint=self.endpoint, inbox_url=self.inbox_url,
            capacity=self.config.capacity, version=__version__, engine=self.config.engine, started_at=now,
            last_heartbeat=now, stats=self._heartbeat_stats()))
        for target, name in ((self._consume_connect, "connect-consumer"), (self._consume_inbox, "inbox-consumer"),
                             (self._renew_loop, "lease-renewer"), (self._heartbeat_loop, "heartbeat"),
                             (self._count_session_minutes, "session-minutes")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s online: engine=%s capacity=%d shards=%d http=%s", self.config.worker_id,
                 self.config.engine, self.config.capacity, self.config.shards, self.endpoint)

    def drain(self) -> int:
        """Stop taking work, finish the inbox, hand every session back. Returns how many."""
        if self.host.draining:
            self._drained.wait(self.config.drain_timeout_seconds)
            return 0
        started = time.monotonic()
        self.host.draining = True
        self._workers.set_status(self.config.worker_id, "draining")
        self._sweep_inbox()
        handed = self.host.hand_back_all("worker_draining")
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._sweep_inbox()
        self._workers.set_status(self.config.worker_id, "offline")
        self._delete_inbox()
        self.host.stop()
        self.http.shutdown()
        self._drained.set()
        log.info("worker %s drained %d session(s) in %.1fs", self.config.worker_id, handed,
                 time.monotonic() - started)
        return handed

    def health(self) -> dict[str, Any]:
        return {"status": "draining" if self.host.draining else "ok", "worker_id": self.config.worker_id,
                "sessions": self.host.status_breakdown(), "hosted": self.host.hosted_ids(),
                "capacity": self.config.capacity,
                "shard_crashes": self.host.supervisor.crashes}

    # ------------------------------------------------------------------ loops

    def _consume_connect(self) -> None:
        while not self._stop.is_set():
            if self.host.draining or self.host.free_capacity == 0:
                self._stop.wait(1.0)
                continue
            self._receive(self.connect_url, wait=5, handle=self._on_connect, visibility=CONNECT_CLAIM_SECONDS)

    def _consume_inbox(self) -> None:
        while not self._stop.is_set():
            self._receive(self.inbox_url, wait=5, handle=self._on_inbox)

    def _sweep_inbox(self) -> None:
        while self._receive(self.inbox_url, wait=0, handle=self._on_inbox):
            pass

    def _receive(self, url: str, *, wait: int, handle: Any, visibility: int | None = None) -> int:
        options: dict[str, Any] = {} if visibility is None else {"VisibilityTimeout": visibility}
        try:
            messages = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10 if url == self.inbox_url else 1,
                                                 WaitTimeSeconds=wait,
                                                 AttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
                                                 **options).get("Messages", [])
        except ClientError:
            log.exception("receiving from %s failed", url)
            self._stop.wait(1.0)
            return 0
        side_by_side(messages, lambda message: self._settle(url, message, handle))
        return len(messages)

    def _settle(self, url: str, message: dict[str, Any], handle: Any) -> None:
        try:
            done = handle(message["Body"])
        except Exception:
            if url == self.inbox_url and _receive_count(message) >= MAX_INBOX_ATTEMPTS:
                # The inbox is FIFO per session and has no dead-letter queue (it is this
                # worker's own): a command failing for good would hold back every later
                # command of its session. Sends lose nothing: the outbox is the truth.
                log.exception("dropping a command after %d failed attempts: %s", MAX_INBOX_ATTEMPTS,
                              message["Body"][:200])
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                log.exception("handling a message from %s failed; it will be redelivered", url)
            return
        if done:
            self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        else:
            # Declined (we are draining): hand it to another worker now, not after the
            # visibility timeout.
            self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=0)

    def _on_connect(self, body: str) -> bool:
        command = self._decode(body)
        if not isinstance(command, ConnectSession):
            return True
        return self.host.claim(command)

    def _on_inbox(self, body: str) -> bool:
        command = self._decode(body)
        if isinstance(command, SessionCommand):
            self.host.handle(command)
        elif isinstance(command, ConnectSession):
            self.host.connect_from_inbox(command)
        return True

    @staticmethod
    def _decode(body: str) -> object | None:
        try:
            return decode_command(body)
        except ValidationError:
            log.error("dropping an undecodable command: %s", body[:200])
            return None

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.config.renew_every_seconds):
            try:
                self.host.renew_leases()
            except Exception:
                log.exception("lease renewal round failed")

    def _count_session_minutes(self) -> None:
        self._minutes.run(self._stop)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.config.heartbeat_every_seconds):
            try:
                status = self._workers.heartbeat(self.config.worker_id, self._heartbeat_stats())
            except Exception:
                log.exception("heartbeat failed")
                continue
            if status == "draining" and not self.host.draining:
                log.info("an admin asked %s to drain", self.config.worker_id)
                threading.Thread(target=self.drain, name="drain", daemon=True).start()
            elif status is None:
                # The reaper declared us dead and moved our sessions: we must not keep any socket.
                log.error("worker %s was declared offline; handing everything back", self.config.worker_id)
                threading.Thread(target=self.drain, name="drain", daemon=True).start()

    def _heartbeat_stats(self) -> dict[str, Any]:
        return {"sessions": self.host.status_breakdown(),
                **self._stats.sample([os.getpid(), *self.host.supervisor.pids()])}

    def _delete_inbox(self) -> None:
        try:
            self._sqs.delete_queue(QueueUrl=self.inbox_url)
        except ClientError:
            log.exception("deleting the inbox failed")

    def wait_drained(self, timeout: float | None = None) -> bool:
        return self._drained.wait(timeout)

