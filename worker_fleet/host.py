"""The session host: the sessions this worker holds, from claim to hand-back.

A session is claimed with a lease (new fence), its auth state restored from S3, and opened
on an engine shard. Engine events become control-plane events numbered from the fence, so
whoever holds the session later always numbers higher. The lease is renewed on a cadence;
the moment a renewal fails the client is closed. Logged out deletes the credentials and
never reconnects; stream replaced and bans end the session rather than fight back."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as MetricCounter

from whatsam.adapters.auth_state import AuthStateStore, StaleFence
from whatsam.adapters.leases import Lease, LeaseRepository
from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.contracts.commands import (
    ConnectSession,
    DevInbound,
    DevScan,
    DevSimulateGroup,
    DisconnectSession,
    EngineCall,
    GroupRequest,
    LogoutSession,
    MarkRead,
    RequestPairingCode,
    RestartSession,
    SendPending,
    SendPresence,
    SessionCommand,
)
from whatsam.contracts.events import (
    ChatReadEvent,
    MessageStatusEvent,
    MessageStatusKind,
    SessionQrEvent,
    SessionState,
    SessionStatusEvent,
    make_seq,
)
from whatsam.domain.model import CONNECT_IN_PROGRESS, ENDED_BY_OWNER, SessionCard, SessionStatus, utcnow
from whatsam.domain.settings import SessionSettings
from whatsam.messaging.media import MediaStore
from whatsam.services.routing import CommandRouter
from whatsam.services.session_proxy import ProxySealer
from whatsam.services.sessions import CONNECT_QUEUE
from worker_fleet.config import WorkerConfig
from worker_fleet.emitter import EventSink
from worker_fleet.engine_calls import EngineCalls
from worker_fleet.engines.base import (
    AuthStateChanged,
    Connected,
    Disconnected,
    EngineEvent,
    LoggedOut,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    StreamReplaced,
    TemporaryBan,
)
from worker_fleet.engines.chats import ChatRead, HistoryBatch
from worker_fleet.engines.outgoing import Media
from worker_fleet.engines.profile import PROFILE_ENGINE_EVENTS, CallOffered
from worker_fleet.event_lanes import EngineEventLanes
from worker_fleet.group_requests import GROUP_ENGINE_EVENTS, GroupRequests, group_event
from worker_fleet.history import HistoryIntake
from worker_fleet.inbound import InboundMessages
from worker_fleet.outbox import FetchUrl, OutboxContext, Pacing, SessionSender
from worker_fleet.profile_events import CallRejecter, contact_event
from worker_fleet.snapshots import Debouncer, restore_store, snapshot_store
from worker_fleet.supervisor import ShardGone, ShardOperationError, ShardSupervisor

log = logging.getLogger("whatsam.host")

RECEIPT_STATUS: dict[str, MessageStatusKind] = {"delivered": "message.delivered", "read": "message.read",
                                                "played": "message.played"}

# A card disconnected or logged out after a connect was asked for (ENDED_BY_OWNER, newer
# version) has overtaken that connect.


@dataclass(frozen=True)
class HostDeps:
    leases: LeaseRepository
    auth_state: AuthStateStore
    sessions: SessionRepository
    cache: SessionCache
    router: CommandRouter
    queues: QueuePublisher
    sink: EventSink
    messages: MessageRepository
    media: MediaStore
    pacing: Pacing
    fetch_url: FetchUrl
    session_settings: SessionSettingsRepository = field(default_factory=SessionSettingsRepository)
    # Opens sessions' sealed proxy URLs; None: a session with a proxy cannot be opened here.
    proxies: ProxySealer | None = None


@dataclass
class HostedSession:
    session_id: str
    tenant_id: str
    lease: Lease
    store_path: Path
    status: str = "connecting"
    phone: str | None = None
    jid: str | None = None
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    snapshotter: Debouncer | None = None
    sender: SessionSender | None = None


class HostMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge("whatsam_worker_sessions", "Sessions held, by status", ["status"],
                              registry=self.registry)
        self.reconnects = MetricCounter("whatsam_worker_reconnects", "Engine reconnect attempts",
                                        registry=self.registry)
        self.lease_losses = MetricCounter("whatsam_worker_lease_losses", "Leases lost while held",
                                          registry=self.registry)
        self.shard_crashes = MetricCounter("whatsam_worker_shard_crashes", "Engine shards that died",
                                           registry=self.registry)
        self.snapshots = MetricCounter("whatsam_worker_auth_snapshots", "Auth-state snapshots stored",
                                       registry=self.registry)


class SessionHost:
    def __init__(self, config: WorkerConfig, deps: HostDeps, supervisor: ShardSupervisor | None = None):
        self.config = config
        self._deps = deps
        self._lock = threading.RLock()
        self._sessions: dict[str, HostedSession] = {}
        self.metrics = HostMetrics()
        self.draining = False
        # Engine events arrive on shard reader threads; one thread applies them, in order within
        # each lane (see event_lanes), and may call back into shards, which a reader thread must
        # never do.
        self._inbox: EngineEventLanes[HostedSession] = EngineEventLanes()
        self._event_thread = threading.Thread(target=self._event_loop, name="engine-events", daemon=True)
        self._event_thread.start()
        self._inbound = InboundMessages(deps.media, self.supervisor_call)
        self._groups = GroupRequests(self.supervisor_call, deps.cache, deps.media)
        self._engine_calls = EngineCalls(self.supervisor_call, deps.cache, deps.media)
        self._calls = CallRejecter(self.supervisor_call, deps.session_settings, deps.sessions, deps.messages)
        self._history = HistoryIntake(self._history_sync)
        self.supervisor = supervisor or ShardSupervisor(
            config.engine, config.shards, on_event=lambda sid, ev: self._inbox.put(sid, ev, self._get(sid)),
            on_crash=self._on_shard_crash, engine_options=dict(config.engine_options))

    def supervisor_call(self, op: str, session_id: str, **args: Any) -> Any:
        return self.supervisor.call(op, session_id, **args)

    # ------------------------------------------------------------------ claims

    @property
    def free_capacity(self) -> int:
        with self._lock:
            return max(0, self.config.capacity - len(self._sessions))

    def hosts(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    def claim(self, command: ConnectSession) -> bool:
        """Take the session if we may; True when the command is settled (delete it),
        False to leave it on the queue for another worker."""
        if self.draining:
            return False
        if self.hosts(command.session_id):
            return True
        card = self._deps.sessions.get(command.session_id)
        if card is None or card.tenant_id != command.tenant_id:
            return True
        if not command.via_holder and card.status in ENDED_BY_OWNER and card.status_version > command.status_version:
            return True
        lease = self._deps.leases.acquire(card.session_id, card.tenant_id, self.config.worker_id)
        if lease is None:
            return True  # another worker holds it and answers for it
        hosted = HostedSession(card.session_id, card.tenant_id, lease, self._store_path(card.session_id))
        hosted.snapshotter = Debouncer(self.config.snapshot_debounce_seconds, lambda: self._snapshot(hosted))
        with self._lock:
            self._sessions[card.session_id] = hosted
        try:
            image = self._deps.auth_state.load(lease)
            if image is not None:
                restore_store(hosted.store_path, image)
            else:
                _remove_store(hosted.store_path)
            self._deps.cache.set_route(card.session_id, self.config.worker_id, self._route_ttl)
            self._emit_status(hosted, "reconnecting" if _taken_over(card, self.config.worker_id) else "connecting")
            self._open(hosted)
            hosted.sender = self._new_sender(hosted)
            hosted.sender.start()
        except Exception:
            log.exception("claiming %s failed; releasing it", card.session_id)
            self._forget(hosted)
            self._deps.leases.release(lease)
            raise
        log.info("claimed %s (fence %d, restored=%s) %.1fs after the connect was asked for", card.session_id,
                 lease.fence, image is not None, (utcnow() - command.requested_at).total_seconds())
        return True

    def _history_sync(self, session_id: str) -> str:
        """The session's `history_sync` setting, read when its history arrives."""
        return (self._deps.session_settings.get(session_id) or SessionSettings()).history_sync

    def _open(self, hosted: HostedSession) -> None:
        """Open the session's client, through its proxy if its settings name one."""
        args: dict[str, Any] = {"store_path": str(hosted.store_path)}
        settings = self._deps.session_settings.get(hosted.session_id)
        if settings is not None and settings.proxy_sealed:
            if self._deps.proxies is None:
                raise RuntimeError(f"{hosted.session_id} has a proxy this worker cannot open")
            args["proxy_url"] = self._deps.proxies.open(settings.proxy_sealed, tenant_id=hosted.tenant_id,
                                                        session_id=hosted.session_id)
        self.supervisor.call("open", hosted.session_id, **args)

    # ------------------------------------------------------------------ inbox commands

    def connect_from_inbox(self, command: ConnectSession) -> None:
        """A connect sent to our inbox: because we held the session when it was asked for (by
        now the disconnect or logout before it has run), or handed to us by the reaper from a
        dead worker. Claim it here, or let any worker take it."""
        if self.hosts(command.session_id):
            return
        if self.free_capacity == 0 or not self.claim(command):
            self._deps.queues.publish(CONNECT_QUEUE, command)

    def handle(self, command: SessionCommand) -> None:
        hosted = self._get(command.session_id)
        if hosted is None:
            self._forward(command)
            return
        if isinstance(command, DisconnectSession):
            self._end(hosted, "disconnected", reason="requested")
        elif isinstance(command, LogoutSession):
            self._call_quietly("logout", hosted.session_id)
            self._end(hosted, "logged_out", reason="requested", forget_credentials=True)
        elif isinstance(command, RestartSession):
            self._call_quietly("close", hosted.session_id)
            self._snapshot(hosted)
            self._emit_status(hosted, "connecting", reason="restart")
            self._open(hosted)
        elif isinstance(command, RequestPairingCode):
            self._reply_pairing_code(hosted, command)
        elif isinstance(command, DevScan):
            self._best_effort(command, "simulate_scan", hosted.session_id)
        elif isinstance(command, DevInbound):
            media = None
            if command.media_key:
                media = Media(data=self._deps.media.get(command.media_key),
                              mimetype=command.media_mimetype or "application/octet-stream")
            self._best_effort(command, "inject_inbound", hosted.session_id, from_phone=command.from_phone,
                              text=command.text, media=media, wa_id=command.wa_id)
        elif isinstance(command, SendPending):
            if hosted.sender is not None:
                hosted.sender.wake()
        elif isinstance(command, MarkRead):
            self._best_effort(command, "mark_read", hosted.session_id, chat_jid=command.chat_jid,
                              message_ids=command.message_ids, sender_jid=command.sender_jid)
        elif isinstance(command, SendPresence):
            self._best_effort(command, "send_presence", hosted.session_id, chat_jid=command.chat_jid,
                              state=command.state)
        elif isinstance(command, GroupRequest | DevSimulateGroup):
            self._groups.handle(hosted.session_id, command)
        elif isinstance(command, EngineCall):
            self._engine_calls.handle(hosted.session_id, command)
        else:
            log.warning("ignoring unknown command %s", type(command).__name__)

    def _best_effort(self, command: SessionCommand, operation: str, *args: Any, **kwargs: Any) -> None:
        """Run a command nobody waits on. If the engine refuses it (the session is in the wrong
        state, the chat is unknown), that answer is final: raising would redeliver the command
        and, the inbox being FIFO per session, hold back every later command of the session
        behind one that can never succeed. A dead shard still raises, so the command is retried."""
        try:
            self.supervisor.call(operation, *args, **kwargs)
        except ShardOperationError as exc:
            log.warning("%s for %s refused by the engine, dropped: %s", type(command).__name__,
                        command.session_id, exc)

    def _reply_pairing_code(self, hosted: HostedSession, command: RequestPairingCode) -> None:
        try:
            code = self.supervisor.call("pair_phone", hosted.session_id, phone_e164=command.phone)
        except Exception as exc:
            self._deps.cache.push_reply(command.reply_to, {"ok": False, "code": "pairing_failed", "error": str(exc)})
            return
        self._deps.cache.push_reply(command.reply_to, {"ok": True, "code": str(code)})

    def _forward(self, command: SessionCommand) -> None:
        lease = self._deps.leases.get(command.session_id)
        if lease is not None and lease.live() and lease.worker_id != self.config.worker_id:
            self._deps.router.send(lease.worker_id, command.session_id, command)
            return
        if isinstance(command, RequestPairingCode | GroupRequest | EngineCall | DevSimulateGroup):
            self._deps.cache.push_reply(command.reply_to, {"ok": False, "code": "session_not_connecting",
                                                           "error": "No worker holds this session."})
        log.warning("dropping %s for %s: no worker holds it", type(command).__name__, command.session_id)

    # ------------------------------------------------------------------ engine events

    def _event_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            session_id, event, host_on_arrival = item
            hosted = self._get(session_id)
            if hosted is None or hosted is not host_on_arrival:
                continue  # the session ended (and may be hosted anew): the old client's news is moot
            try:
                self._apply_engine_event(hosted, event)
            except Exception:
                log.exception("applying %s for %s failed", type(event).__name__, session_id)

    def _apply_engine_event(self, hosted: HostedSession, event: EngineEvent) -> None:
        if isinstance(event, QRCode):
            hosted.status = "qr"
            self._deps.sink.emit(SessionQrEvent(**self._envelope(hosted), qr=event.code, expires_in=event.expires_in))
        elif isinstance(event, PairSuccess):
            hosted.phone, hosted.jid = event.phone, event.jid
            self._snapshot(hosted)
        elif isinstance(event, Connected):
            self._emit_status(hosted, "connected")
            self._snapshot(hosted)
            if hosted.sender is not None:
                hosted.sender.wake()
        elif isinstance(event, AuthStateChanged):
            if hosted.snapshotter is not None:
                hosted.snapshotter.poke()
        elif isinstance(event, Disconnected):
            if event.will_reconnect:
                self.metrics.reconnects.inc()
                self._emit_status(hosted, "connecting", reason=event.reason)
            else:
                # The engine gave up; keep the credentials so a later connect needs no scan.
                self._end(hosted, "failed", reason=event.reason)
        elif isinstance(event, LoggedOut):
            self._end(hosted, "logged_out", reason=event.reason, forget_credentials=True)
        elif isinstance(event, StreamReplaced):
            self._end(hosted, "disconnected", reason="stream_replaced")
        elif isinstance(event, TemporaryBan):
            self._end(hosted, "banned", reason=event.code)
        elif isinstance(event, Receipt):
            kind: MessageStatusKind = RECEIPT_STATUS[event.kind]
            for wa_id in event.message_ids:
                self._emit_message(hosted, kind, {"wa_id": wa_id, "chat_jid": event.chat_jid,
                                                  "phone": event.sender_phone, "lid": event.sender_lid})
        elif isinstance(event, MessageReceived):
            self._deps.sink.emit(self._inbound.to_event(self._envelope(hosted), event))
        elif isinstance(event, GROUP_ENGINE_EVENTS):
            self._deps.sink.emit(group_event(self._envelope(hosted), event))
        elif isinstance(event, PROFILE_ENGINE_EVENTS):
            self._deps.sink.emit(contact_event(self._envelope(hosted), event))
            if (isinstance(event, CallOffered) and self._calls.on_offer(hosted.session_id, hosted.tenant_id, event)
                    and hosted.sender is not None):
                hosted.sender.wake()
        elif isinstance(event, HistoryBatch):
            for history_event in self._history.events(hosted.session_id, event, lambda: self._envelope(hosted)):
                self._deps.sink.emit(history_event)
        elif isinstance(event, ChatRead):
            self._deps.sink.emit(ChatReadEvent(**self._envelope(hosted), chat_jid=event.chat_jid,
                                               read_at=event.timestamp))

    # ------------------------------------------------------------------ leases

    def renew_leases(self) -> None:
        for hosted in self._all():
            renewed = self._deps.leases.renew(hosted.lease)
            if renewed is None:
                self._lost(hosted)
                continue
            hosted.lease = renewed
            self._deps.cache.set_route(hosted.session_id, self.config.worker_id, self._route_ttl)

    def _lost(self, hosted: HostedSession) -> None:
        """Someone else holds the session now: close our socket at once, write nothing more."""
        log.error("lost the lease of %s; closing its client", hosted.session_id)
        self.metrics.lease_losses.inc()
        self._forget(hosted)
        current = self._deps.leases.get(hosted.session_id)
        # Revoked: the control plane ended the session (deleted, or its owner deactivated).
        # Unlink the device even if its LogoutSession never reaches us; keep no credentials.
        revoked = current is not None and current.revoked is not None
        if revoked:
            self._call_quietly("logout", hosted.session_id)
        self._call_quietly("close", hosted.session_id)
        if revoked:
            _remove_store(hosted.store_path)

    # ------------------------------------------------------------------ endings

    def _end(self, hosted: HostedSession, status: SessionState, *, reason: str,
             forget_credentials: bool = False) -> None:
        if not self._forget(hosted):
            return  # already ended by another path
        self._call_quietly("close", hosted.session_id)
        if forget_credentials:
            self._deps.auth_state.delete(hosted.tenant_id, hosted.session_id)
            _remove_store(hosted.store_path)
        else:
            self._snapshot(hosted)
        self._emit_status(hosted, status, reason=reason)
        self._deps.leases.release(hosted.lease)
        self._deps.cache.clear_route(hosted.session_id, self.config.worker_id)

    def hand_back(self, hosted: HostedSession, reason: str) -> None:
        """Give the session to the fleet: close, snapshot, release, and re-queue its connect."""
        if not self._forget(hosted):
            return
        self._call_quietly("close", hosted.session_id)
        self._snapshot(hosted)
        self._emit_status(hosted, "reconnecting", reason=reason)
        self._deps.leases.release(hosted.lease)
        self._deps.cache.clear_route(hosted.session_id, self.config.worker_id)
        self._requeue(hosted.session_id)

    def hand_back_all(self, reason: str) -> int:
        sessions = self._all()
        for hosted in sessions:
            try:
                self.hand_back(hosted, reason)
            except Exception:
                log.exception("handing back %s failed; its lease will expire", hosted.session_id)
        return len(sessions)

    def _on_shard_crash(self, session_ids: set[str]) -> None:
        self.metrics.shard_crashes.inc()
        for session_id in session_ids:
            hosted = self._get(session_id)
            if hosted is None or not self._forget(hosted):
                continue
            # The socket died with the shard; the last snapshot in S3 brings it back.
            self._deps.leases.release(hosted.lease)
            self._deps.cache.clear_route(session_id, self.config.worker_id)
            self._emit_status(hosted, "reconnecting", reason="engine_crashed")
            self._requeue(session_id)

    def _requeue(self, session_id: str) -> None:
        card = self._deps.sessions.get(session_id)
        if card is None:
            return
        self._deps.queues.publish(CONNECT_QUEUE, ConnectSession(
            session_id=card.session_id, tenant_id=card.tenant_id, status_version=card.status_version,
            requested_at=utcnow()))

    # ------------------------------------------------------------------ helpers

    def _snapshot(self, hosted: HostedSession) -> None:
        image = snapshot_store(hosted.store_path)
        if image is None:
            return
        try:
            self._deps.auth_state.save(hosted.lease, image)
        except StaleFence:
            self._lost(hosted)
            return
        self.metrics.snapshots.inc()

    def _emit_status(self, hosted: HostedSession, status: SessionState, *, reason: str | None = None) -> None:
        hosted.status = status
        self._deps.sink.emit(SessionStatusEvent(**self._envelope(hosted), status=status, phone=hosted.phone,
                                                jid=hosted.jid, reason=reason))

    def _emit_message(self, hosted: HostedSession, kind: MessageStatusKind, fields: dict[str, Any]) -> None:
        self._deps.sink.emit(MessageStatusEvent(**self._envelope(hosted), type=kind, **fields))

    def _new_sender(self, hosted: HostedSession) -> SessionSender:
        context = OutboxContext(session_id=hosted.session_id, tenant_id=hosted.tenant_id,
                                fence=lambda: hosted.lease.fence,
                                holds=lambda: self._get(hosted.session_id) is hosted,
                                emit=lambda kind, fields: self._emit_message(hosted, kind, fields))
        return SessionSender(context, self._deps.messages, self._deps.media, self.supervisor, self._deps.pacing,
                             self._deps.fetch_url)

    def _envelope(self, hosted: HostedSession) -> dict[str, Any]:
        return {"session_id": hosted.session_id, "tenant_id": hosted.tenant_id,
                "seq": make_seq(hosted.lease.fence, next(hosted.counter)), "worker_id": self.config.worker_id}

    def _call_quietly(self, op: str, session_id: str) -> None:
        try:
            self.supervisor.call(op, session_id, timeout=30)
        except (LookupError, ShardGone, RuntimeError, TimeoutError) as exc:
            log.info("%s of %s: %s", op, session_id, exc)

    def _get(self, session_id: str) -> HostedSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def _all(self) -> list[HostedSession]:
        with self._lock:
            return list(self._sessions.values())

    def _forget(self, hosted: HostedSession) -> bool:
        with self._lock:
            if self._sessions.get(hosted.session_id) is not hosted:
                return False
            del self._sessions[hosted.session_id]
        if hosted.snapshotter is not None:
            hosted.snapshotter.cancel()
        if hosted.sender is not None:
            hosted.sender.stop()
        self._history.forget(hosted.session_id)
        return True

    def _store_path(self, session_id: str) -> Path:
        return self.config.data_dir / self.config.worker_id / f"{session_id}.sqlite3"

    @property
    def _route_ttl(self) -> int:
        return int(self.config.lease_ttl_seconds * 2)

    def hosted_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    def connected_sessions(self) -> list[tuple[str, str]]:
        """(tenant id, session id) of every session held with its socket connected."""
        return [(h.tenant_id, h.session_id) for h in self._all() if h.status == "connected"]

    def status_breakdown(self) -> dict[str, int]:
        counts = Counter(h.status for h in self._all())
        for status in ("connecting", "qr", "connected"):
            self.metrics.sessions.labels(status=status).set(counts.get(status, 0))
        return dict(counts)

    def stop(self) -> None:
        self._inbox.close()
        self.supervisor.close()


def _taken_over(card: SessionCard, worker_id: str) -> bool:
    """The card shows the session on (or lost by) another worker: we take it over, no scan
    needed, and it reads `reconnecting` until its socket is up."""
    if card.status is SessionStatus.RECONNECTING:
        return True
    return card.worker_id not in (None, worker_id) and card.status in CONNECT_IN_PROGRESS


def _remove_store(store_path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
