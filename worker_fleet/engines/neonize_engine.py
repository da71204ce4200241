"""The production engine: real WhatsApp Web multi-device sessions through neonize (whatsmeow).

How neonize 0.5.2 runs a session, and what this module does about it:

- ``NewAClient.connect()`` starts the Go call ``Neonize()`` in a thread of the event loop's default
  executor. It blocks for the whole life of the session: first in the QR loop (codes arrive
  through the QR callback), then in ``CallbackFunction`` which forwards events, each as an event
  code plus serialized protobuf, to ``Event.execute``. ``execute`` parses them and schedules the
  registered handler on one process-wide loop (``neonize.aioze.events.event_global_loop``).
  One parked thread per session means the default executor (min(32, cpus + 4) threads) would run
  dry after a handful of sessions, and every neonize call waits for a thread; so the engine gives
- The Go side keeps clients in unsynchronised maps: starts and stops are serialised process-wide,
  every other call shares the lock (see `process_lock`).
- ``CallbackFunction`` first waits, without a timeout, until the device has an ID. A client
  stopped while still waiting for a QR scan would later dereference a deleted client and abort
  the process; such clients are only disconnected and stay parked, leaving one idle Go thread
  behind. Every connect attempt uses a fresh Go client id for the same reason.
- neonize's finalizer calls Go ``Stop()`` when a client object is garbage collected. Every client
  Go may still call back, or that is parked, is therefore kept referenced (`_GO_CLIENTS_IN_USE`).
- whatsmeow reconnects by itself right after an unexpected disconnect. The engine gives it that
  chance and, if the session is still down when the jittered backoff delay ends, replaces the Go
  client with a fresh one. Logged out, stream replaced, temporary ban and outdated client end the
  session: no reconnect. whatsmeow itself deletes the device from the store on logout; the engine
  deletes nothing.
- The QR login outcome ("success", "timeout", "err-...") reaches Python only through the login
  status callback, which neonize ignores; `GatewayNeonizeClient` reports it.
- Sending: `outgoing_rules` checks the message, `neonize_outgoing` builds its protobuf (pure), and
  `send` only uploads media and hands the protobuf to Go. Link previews are fetched through
  `NeonizeOptions.fetch_url` (the host's SSRF-guarded fetcher), never by neonize itself: its
  preview code fetches whatever URL a message names, and the page's image URL, unchecked.
- Receiving media: the event carries only the media's keys. The client keeps them (not the
  bytes) for the latest `media_held` media messages, and `download_media` fetches through neonize;
  the keys never go into `MessageReceived.raw`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import functools
import logging
import pathlib
import random
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from worker_fleet.engines.base import (
    AuthStateChanged,
    ChatPresenceState,
    Connected,
    Disconnected,
    Emit,
    EngineError,
    EngineEvent,
    EngineNotConnectedError,
    LoggedOut,
    MessageReceived,
    QRCode,
    SendResult,
    StreamReplaced,
    e164_digits,
)
from worker_fleet.engines.channels import NEWSLETTER_SERVER
from worker_fleet.engines.event_sink import EventSink
from worker_fleet.engines.neonize_channels import NeonizeChannels
from worker_fleet.engines.neonize_chat_mapping import chat_read_from
from worker_fleet.engines.neonize_chats import NeonizeChats
from worker_fleet.engines.neonize_groups import NeonizeGroups
from worker_fleet.engines.neonize_mapping import (
    Downloadable,
    connect_failure_reason,
    downloadable_from,
    jid_from_text,
    logged_out_from,
    message_received_from,
    pair_success_from,
    receipt_from,
    temporary_ban_from,
)
from worker_fleet.engines.neonize_outgoing import (
    LINK_THUMBNAIL_SIDE,
    LinkPreviewData,
    Thumbnail,
    build_wire_message,
    first_link,
    jpeg_thumbnail,
    parse_link_preview,
    upload_media_type,
    with_link_preview,
)
from worker_fleet.engines.neonize_profile import NeonizeProfile
from worker_fleet.engines.neonize_runtime import (
    ChatPresence,
    ChatPresenceMedia,
    ClientName,
    ClientType,
    DeviceProps,
    MediaType,
    NeonizeError,
    NewAClient,
    ProxySettings,
    ReceiptType,
    neonize_events,
    neonize_proto,
)
from worker_fleet.engines.neonize_votes import NeonizeVotes
from worker_fleet.engines.outgoing import Document, Image, Media, Outgoing, Text, Video
from worker_fleet.engines.outgoing_rules import MEDIA_KINDS, check_outgoing, media_of
from worker_fleet.engines.process_lock import ProcessReadWriteLock
from worker_fleet.engines.profile import OfferedCalls
from worker_fleet.engines.reconnect import ReconnectPolicy

log = logging.getLogger(__name__)

# whatsmeow's QR channel: the first code is valid for 60 seconds, every later one for 20.
FIRST_QR_TTL = 60.0
NEXT_QR_TTL = 20.0
_SETTLE_POLL_INTERVAL = 0.02

_GO_RUNTIME = ProcessReadWriteLock()
_GO_CLIENTS_IN_USE: set[GatewayNeonizeClient] = set()
_LOOPS_WITH_BLOCKING_THREADS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

_CHAT_PRESENCE: dict[ChatPresenceState, tuple[Any, Any]] = {
    "composing": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
    "recording": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO),
    "paused": (ChatPresence.CHAT_PRESENCE_PAUSED, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
}


@dataclass(frozen=True, slots=True)
class NeonizeOptions:
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    # Longest a connect may hold the process-wide start lock before showing a sign of life.
    settle_timeout: float = 30.0
    stop_timeout: float = 10.0
    # Shown on the phone under "Linked devices".
    device_name: str = "Whatsam Gateway"
    proxy_url: str | None = None
    # Size of the default executor the engine installs on its event loop; None leaves the loop alone.
    blocking_threads: int | None = 256
    # GET a URL for a link preview, through the host's SSRF guard (size-capped): the body, or an
    # exception. None: texts go out without previews.
    fetch_url: Callable[[str], Awaitable[bytes]] | None = None
    # How many inbound media messages per session `download_media` can still fetch.
    media_held: int = 1024


class NeonizePhase(Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    AWAITING_PAIRING = "awaiting_pairing"
    CONNECTED = "connected"
    RECONNECT_WAIT = "reconnect_wait"


_ACTIVE_PHASES = frozenset(
    {NeonizePhase.CONNECTING, NeonizePhase.AWAITING_PAIRING, NeonizePhase.CONNECTED, NeonizePhase.RECONNECT_WAIT}
)


class GatewayNeonizeClient(NewAClient):
    """neonize's async client, plus the QR login outcome that neonize drops."""

    def __init__(self, *, store_path: pathlib.Path, go_id: str, device_name: str) -> None:
        props = DeviceProps(os=device_name, platformType=DeviceProps.CHROME)
        super().__init__(name=str(store_path), uuid=go_id, props=props)
        # Called from a Go thread with "success", "timeout" or an "err-..." code.
        self.on_login_status: Callable[[str], None] | None = None

    # neonize hands `self.__onLoginStatus` to Go; inside NewAClient that name is mangled to this one.
    def _NewAClient__onLoginStatus(self, _go_id: int, status: int) -> None:
        if self.on_login_status is not None:
            self.on_login_status(ctypes.string_at(status).decode(errors="replace"))


@dataclass(eq=False)
class _Attempt:
    """One connect attempt: a fresh Go client and what is known about it."""

    generation: int
    native: GatewayNeonizeClient
    connect_task: asyncio.Task[Any] | None = None
    showed_life: bool = False
    qr_codes: int = 0
    closed: bool = False  # superseded or ended: its callbacks are ignored
    go_released: bool = False
    pending_failure: str | None = None  # explains the Disconnected that follows a ConnectFailure

    @property
    def settled(self) -> bool:
        task_done = self.connect_task is not None and self.connect_task.done()
        return self.showed_life or task_done or self.native.me is not None

    @property
    def go_stop_is_safe(self) -> bool:
        # Neonize() returned, or got past the wait for a device ID (it then delivered the Device
        # event, which neonize stores as `me`).
        task_done = self.connect_task is not None and self.connect_task.done()
        return task_done or self.native.me is not None


class NeonizeEngine:
    def __init__(
        self,
        options: NeonizeOptions | None = None,
        *,
        wait_before_reconnect: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options or NeonizeOptions()
        self._wait_before_reconnect = wait_before_reconnect
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    @property
    def name(self) -> str:
        return "neonize"

    def open(self, session_id: str, store_path: pathlib.Path, emit: Emit, *,
             proxy_url: str | None = None) -> NeonizeClient:
        # A session's own proxy (its settings) wins over the fleet's.
        options = dataclasses.replace(self.options, proxy_url=proxy_url) if proxy_url else self.options
        return NeonizeClient(session_id, store_path, emit, options, self._wait_before_reconnect, self._rng)


class NeonizeClient(NeonizeGroups, NeonizeProfile, NeonizeChannels, NeonizeVotes, NeonizeChats):
    def __init__(
        self,
        session_id: str,
        store_path: pathlib.Path,
        emit: Emit,
        options: NeonizeOptions,
        wait_before_reconnect: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self._session_id = session_id
        self._store_path = store_path
        self._emit = emit
        self._options = options
        self._wait_before_reconnect = wait_before_reconnect
        self._rng = rng
        self._phase = NeonizePhase.IDLE
        self._attempt: _Attempt | None = None
        self._generation = 0
        self._failures = 0  # consecutive failed attempts since the last Connected
        self._pending_reconnect: asyncio.Task[None] | None = None  # still waiting out its delay
        self._reconnect_tasks: set[asyncio.Task[None]] = set()
        self._release_tasks: set[asyncio.Task[None]] = set()
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._media: OrderedDict[tuple[str, str], Downloadable] = OrderedDict()
        self._dispatch_order = asyncio.Lock()
        self._offered_calls = OfferedCalls()

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def phase(self) -> NeonizePhase:
        return self._phase

    @property
    def native_client(self) -> GatewayNeonizeClient | None:
        """The neonize client of the latest connect attempt, for diagnostics."""
        return self._attempt.native if self._attempt is not None else None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._phase in _ACTIVE_PHASES:
            raise EngineError(f"session {self._session_id} is already started")
        self._loop = asyncio.get_running_loop()
        self._sink = EventSink(self._emit, session_id=self._session_id)
        self._failures = 0
        await self._connect()

    async def stop(self) -> None:
        self._phase = NeonizePhase.IDLE
        await self._cancel_reconnects()
        if self._attempt is not None:
            self._attempt.closed = True
            await self._release(self._attempt)
        await asyncio.gather(*self._release_tasks, return_exceptions=True)
        if self._sink is not None:
            await self._sink.close()
            self._sink = None

    async def logout(self) -> None:
        async with self._native_while(NeonizePhase.CONNECTED) as native:
            try:
                await native.logout()
            except NeonizeError as exc:
                raise EngineError(f"logout failed: {exc}") from exc
        attempt = self._attempt
        self._end_session()
        self._push(LoggedOut("logout_requested"))
        if attempt is not None:
            await self._release(attempt)

    async def _connect(self) -> None:
        self._prepare_event_loop()
        attempt = self._new_attempt()
        try:
            async with _GO_RUNTIME.exclusive():
                _GO_CLIENTS_IN_USE.add(attempt.native)
                attempt.connect_task = await attempt.native.connect(self._proxy_settings())
                attempt.connect_task.add_done_callback(functools.partial(self._on_connect_task_done, attempt))
                await self._wait_until_settled(attempt)
        except asyncio.CancelledError:
            attempt.closed = True
            self._release_later(attempt)
            raise
        except (NeonizeError, OSError) as exc:
            self._attempt_failed(attempt, f"connect failed: {exc}")

    def _new_attempt(self) -> _Attempt:
        self._generation += 1
        native = GatewayNeonizeClient(
            store_path=self._store_path,
            # A fresh Go id per attempt: a parked earlier client can never share maps with this one.
            go_id=f"{self._session_id}#{self._generation}",
            device_name=self._options.device_name,
        )
        attempt = _Attempt(generation=self._generation, native=native)
        native.on_login_status = functools.partial(self._from_go_thread, self._on_login_status, attempt)
        self._subscribe(attempt)
        self._attempt = attempt
        self._phase = NeonizePhase.CONNECTING
        return attempt

    def _prepare_event_loop(self) -> None:
        loop = asyncio.get_running_loop()
        bound = neonize_events.event_global_loop
        if bound is not loop:
            # neonize binds the first loop that ever connects and never lets go; a later loop (a new
            # asyncio.run, a test) would get its events sent to a dead loop.
            if bound is not None and bound.is_running() and not bound.is_closed():
                raise EngineError("neonize already dispatches events to another running event loop")
            neonize_events.event_global_loop = loop
        threads = self._options.blocking_threads
        if threads and loop not in _LOOPS_WITH_BLOCKING_THREADS:
            loop.set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="neonize"))
            _LOOPS_WITH_BLOCKING_THREADS.add(loop)

    def _proxy_settings(self) -> Any:
        return ProxySettings(proxy_address=self._options.proxy_url) if self._options.proxy_url else None

    async def _wait_until_settled(self, attempt: _Attempt) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.settle_timeout
        while not attempt.settled:
            if loop.time() >= deadline:
                timeout = self._options.settle_timeout
                log.warning("session %s: no sign of life from neonize after %.0fs", self._session_id, timeout)
                return
            await asyncio.sleep(_SETTLE_POLL_INTERVAL)

    def _on_connect_task_done(self, attempt: _Attempt, task: asyncio.Task[Any]) -> None:
        error = None if task.cancelled() else task.exception()
        if attempt.go_released or attempt.closed:
            return
        self._attempt_failed(attempt, f"connect failed: {error}" if error else "neonize session ended")

    def _attempt_failed(self, attempt: _Attempt, reason: str) -> None:
        if not self._accepts(attempt):
            return
        log.info("session %s: %s", self._session_id, reason)
        self._release_later(attempt)
        self._schedule_reconnect(reason)

    def _schedule_reconnect(self, reason: str) -> None:
        if self._pending_reconnect is not None:
            return
        policy = self._options.reconnect
        if not policy.allows(self._failures):
            self._end_session()
            self._push(Disconnected(reason, will_reconnect=False))
            return
        delay = policy.delay(self._failures, self._rng)
        self._failures += 1
        self._phase = NeonizePhase.RECONNECT_WAIT
        self._push(Disconnected(reason, will_reconnect=True))
        task = asyncio.get_running_loop().create_task(self._reconnect_after(delay))
        self._pending_reconnect = task
        self._reconnect_tasks.add(task)
        task.add_done_callback(self._reconnect_tasks.discard)

    async def _reconnect_after(self, delay: float) -> None:
        await self._wait_before_reconnect(delay)
        # From here on the reconnect is under way: events no longer cancel it, it supersedes them.
        self._pending_reconnect = None
        if self._phase is not NeonizePhase.RECONNECT_WAIT:
            return  # whatsmeow's own reconnect won, or the session ended meanwhile
        previous = self._attempt
        if previous is not None:
            previous.closed = True
            await self._release(previous)
        if self._phase is NeonizePhase.RECONNECT_WAIT:
            await self._connect()

    async def _cancel_reconnects(self) -> None:
        self._pending_reconnect = None
        tasks = list(self._reconnect_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _cancel_pending_reconnect(self) -> None:
        if self._pending_reconnect is not None:
            self._pending_reconnect.cancel()
            self._pending_reconnect = None

    def _end_session(self) -> None:
        """No more reconnects: logged out, replaced, banned, given up, or QR never scanned."""
        self._phase = NeonizePhase.IDLE
        self._cancel_pending_reconnect()
        if self._attempt is not None:
            self._attempt.closed = True
            self._release_later(self._attempt)

    def _release_later(self, attempt: _Attempt) -> None:
        task = asyncio.get_running_loop().create_task(self._release(attempt))
        self._release_tasks.add(task)
        task.add_done_callback(self._release_tasks.discard)

    async def _release(self, attempt: _Attempt) -> None:
        """Free the attempt's Go client, the one way that cannot abort the process."""
        if attempt.go_released:
            return
        attempt.go_released = True
        native = attempt.native
        if attempt.connect_task is None:  # Go never ran it
            _GO_CLIENTS_IN_USE.discard(native)
            return
        if attempt.go_stop_is_safe:
            async with _GO_RUNTIME.exclusive():
                await native.stop()
            # Stop() makes Neonize() return; give its executor thread the chance to finish.
            await asyncio.wait({attempt.connect_task}, timeout=self._options.stop_timeout)
            _GO_CLIENTS_IN_USE.discard(native)
            return
        async with _GO_RUNTIME.exclusive():
            await native.disconnect()
        log.warning(
            "session %s: neonize cannot stop a client still waiting for its first login; "
            "its Go thread stays parked until the process exits",
            self._session_id,
        )

    # -- events from neonize ----------------------------------------------------------------

    def _subscribe(self, attempt: _Attempt) -> None:
        handlers: dict[Any, Callable[[_Attempt, Any], Awaitable[None] | None]] = {
            neonize_proto.PairStatus: self._on_pair_status,
            neonize_proto.Connected: self._on_connected,
            neonize_proto.Disconnected: self._on_disconnected,
            neonize_proto.LoggedOut: self._on_logged_out,
            neonize_proto.StreamReplaced: self._on_stream_replaced,
            neonize_proto.TemporaryBan: self._on_temporary_ban,
            neonize_proto.ConnectFailure: self._on_connect_failure,
            neonize_proto.ClientOutdated: self._on_client_outdated,
            neonize_proto.Message: self._on_message,
            neonize_proto.Receipt: self._on_receipt,
            neonize_proto.JoinedGroup: self._on_joined_group,
            neonize_proto.GroupInfoEvent: self._on_group_info,
            **self._contact_handlers(),
            neonize_proto.HistorySync: self._on_history_sync,
        }
        for event_type, handler in handlers.items():
            attempt.native.event(event_type)(self._dispatcher(attempt, handler))
        attempt.native.event.qr(self._dispatcher(attempt, self._on_qr))

    def _dispatcher(
        self, attempt: _Attempt, handler: Callable[[_Attempt, Any], Awaitable[None] | None]
    ) -> Callable[[Any, Any], Awaitable[None]]:
        # neonize runs these via run_coroutine_threadsafe and never looks at the result, so an
        # exception would vanish silently: log it here.
        async def dispatch(_native: Any, payload: Any) -> None:
            attempt.showed_life = True
            # A handler may await neonize (group events look up phones and LIDs); the lock, FIFO,
            # keeps events reaching the host in the order neonize delivered them.
            async with self._dispatch_order:
                if not self._accepts(attempt):
                    return
                try:
                    outcome = handler(attempt, payload)
                    if outcome is not None:
                        await outcome
                except Exception:
                    log.exception("session %s: failed to handle %s", self._session_id, type(payload).__name__)

        return dispatch

    def _from_go_thread(self, handler: Callable[[_Attempt, str], None], attempt: _Attempt, value: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def run() -> None:
            attempt.showed_life = True
            if self._accepts(attempt):
                handler(attempt, value)

        with contextlib.suppress(RuntimeError):  # the loop closed after the check above
            loop.call_soon_threadsafe(run)

    def _accepts(self, attempt: _Attempt) -> bool:
        return attempt is self._attempt and not attempt.closed and self._phase in _ACTIVE_PHASES

    def _on_qr(self, attempt: _Attempt, code: bytes) -> None:
        expires_in = FIRST_QR_TTL if attempt.qr_codes == 0 else NEXT_QR_TTL
        attempt.qr_codes += 1
        self._phase = NeonizePhase.AWAITING_PAIRING
        self._push(QRCode(code.decode(), expires_in))

    def _on_login_status(self, _attempt: _Attempt, status: str) -> None:
        if status == "success":
            return  # the PairStatus event that follows carries the details
        # whatsmeow closed its QR channel without a pairing: "timeout" (nobody scanned) or "err-...".
        self._end_session()
        self._push(Disconnected(f"qr_{status}".replace("-", "_"), will_reconnect=False))

    def _on_pair_status(self, attempt: _Attempt, event: Any) -> None:
        if event.Status != neonize_proto.PairStatus.SUCCESS:
            log.warning("session %s: pairing failed: %s", self._session_id, event.Error)
            return
        self._push(pair_success_from(event, attempt.native.me))
        self._push(AuthStateChanged())

    def _on_connected(self, _attempt: _Attempt, _event: Any) -> None:
        self._failures = 0
        self._cancel_pending_reconnect()
        self._phase = NeonizePhase.CONNECTED
        self._push(Connected())
        # whatsmeow writes the store while logging in (pre-keys, identities, app state).
        self._push(AuthStateChanged())

    def _on_disconnected(self, attempt: _Attempt, _event: Any) -> None:
        reason, attempt.pending_failure = attempt.pending_failure or "connection_lost", None
        self._schedule_reconnect(reason)

    def _on_connect_failure(self, attempt: _Attempt, event: Any) -> None:
        # whatsmeow follows a connect failure with a Disconnected; remember why for that one.
        attempt.pending_failure = connect_failure_reason(event)

    def _on_logged_out(self, _attempt: _Attempt, event: Any) -> None:
        self._end_session()
        self._push(logged_out_from(event))

    def _on_stream_replaced(self, _attempt: _Attempt, _event: Any) -> None:
        self._end_session()
        self._push(StreamReplaced())

    def _on_temporary_ban(self, _attempt: _Attempt, event: Any) -> None:
        self._end_session()
        self._push(temporary_ban_from(event))

    def _on_client_outdated(self, _attempt: _Attempt, _event: Any) -> None:
        self._end_session()
        self._push(Disconnected("client_outdated", will_reconnect=False))

    async def _on_message(self, attempt: _Attempt, event: Any) -> None:
        received = message_received_from(event, attempt.native.me)
        if received.kind == "poll_vote":
            received = await self._with_decrypted_vote(event, received)
        downloadable = downloadable_from(event.Message)
        if downloadable is not None:
            self._hold_media(received, downloadable)
        self._push(received)
        # Decrypting advanced the Signal ratchet stored for this chat.
        self._push(AuthStateChanged())

    def _on_receipt(self, _attempt: _Attempt, event: Any) -> None:
        receipt = receipt_from(event)
        if receipt is not None:
            self._push(receipt)
        elif (read := chat_read_from(event)) is not None:
            self._push(read)

    async def _flush_events(self) -> None:
        if self._sink is not None:
            await self._sink.flush()

    def _push(self, event: EngineEvent) -> None:
        if self._sink is None:
            log.debug("session %s: dropped %s after stop", self._session_id, type(event).__name__)
            return
        self._sink.push(event)

    # -- operations --------------------------------------------------------------------------

    def _require(self, phase: NeonizePhase) -> None:
        if self._phase is not phase:
            raise EngineNotConnectedError(f"session {self._session_id} is {self._phase.value}, needs {phase.value}")

    def _own_device(self) -> Any:
        native = self.native_client
        return native.me if native is not None else None

    def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._native_while(NeonizePhase.CONNECTED)

    @contextlib.asynccontextmanager
    async def _native_while(self, phase: NeonizePhase) -> AsyncIterator[Any]:
        """The live neonize client, held so that no start or stop touches Go's maps meanwhile."""
        self._require(phase)
        async with _GO_RUNTIME.shared():
            attempt = self._attempt
            if self._phase is not phase or attempt is None or attempt.go_released:
                raise EngineNotConnectedError(f"session {self._session_id} is {self._phase.value}")
            yield attempt.native

    async def pair_phone(self, phone_e164: str) -> str:
        phone = e164_digits(phone_e164)
        async with self._native_while(NeonizePhase.AWAITING_PAIRING) as native:
            try:
                code = await native.PairPhone(phone, True, client_name=ClientName.LINUX, client_type=ClientType.CHROME)
            except NeonizeError as exc:
                raise EngineError(f"pairing code request failed: {exc}") from exc
        # whatsmeow formats it as XXXX-XXXX for display.
        return str(code).replace("-", "")

    async def send(self, to_jid: str, message: Outgoing) -> SendResult:
        check_outgoing(to_jid, message)
        chat = jid_from_text(to_jid)
        self._require(NeonizePhase.CONNECTED)  # before fetching anything for a preview
        if isinstance(message, Text | Image | Video | Document) and message.mention_all:
            message = await self._everyone_mentioned(to_jid, message)
        preview = None
        if isinstance(message, Text) and message.link_preview:
            preview = await self._link_preview(message.text)
        media = media_of(message)
        async with self._native_while(NeonizePhase.CONNECTED) as native:
            try:
                # A channel's media is not end-to-end encrypted: whatsmeow's newsletter upload.
                upload_to = native.upload_newsletter if chat.Server == NEWSLETTER_SERVER else native.upload
                upload = await upload_to(bytes(media.data), upload_media_type(message)) if media else None
                own = native.me.JID if native.me is not None else None
                # Thumbnails decode the picture: keep that off the event loop.
                wire = await asyncio.to_thread(build_wire_message, message, chat=chat, own_jid=own, upload=upload)
                if preview is not None:
                    wire = await self._with_link_preview(native, wire, *preview)
                response = await native.send_message(chat, wire)
            except NeonizeError as exc:
                raise EngineError(f"send failed: {exc}") from exc
        # Encrypting for the recipient advanced (or created) the stored Signal session.
        self._push(AuthStateChanged())
        return SendResult(message_id=response.ID, timestamp=datetime.fromtimestamp(response.Timestamp, UTC))

    async def download_media(self, message: MessageReceived) -> Media | None:
        if message.kind not in MEDIA_KINDS:
            return None
        held = self._media.get((message.chat_jid, message.message_id))
        if held is None:
            raise EngineError(
                f"session {self._session_id} no longer holds the media keys of message {message.message_id}"
            )
        async with self._native_while(NeonizePhase.CONNECTED) as native:
            try:
                data = await native.download_any(held.message)
            except NeonizeError as exc:
                raise EngineError(f"download failed: {exc}") from exc
        return Media(data=bytes(data), mimetype=held.mimetype, filename=held.filename)

    def _hold_media(self, received: MessageReceived, downloadable: Downloadable) -> None:
        key = (received.chat_jid, received.message_id)
        self._media[key] = downloadable
        self._media.move_to_end(key)
        while len(self._media) > max(self._options.media_held, 0):
            self._media.popitem(last=False)

    async def _link_preview(self, text: str) -> tuple[LinkPreviewData, Thumbnail | None] | None:
        """The preview of the text's first link, fetched through the host's fetcher; None when
        there is no fetcher, no link, or the page yields nothing (the text then goes out plain)."""
        fetch, url = self._options.fetch_url, first_link(text)
        if fetch is None or url is None:
            return None
        try:
            page = await fetch(url)
        except Exception as exc:  # a preview is optional: any failure sends the text without one
            log.info("session %s: no link preview for %s: %s", self._session_id, url, exc)
            return None
        preview = parse_link_preview(url, page.decode("utf-8", errors="replace"))
        if preview is None or preview.image_url is None:
            return (preview, None) if preview is not None else None
        try:
            image = await fetch(preview.image_url)
        except Exception as exc:
            log.info("session %s: no preview image from %s: %s", self._session_id, preview.image_url, exc)
            return preview, None
        return preview, await asyncio.to_thread(jpeg_thumbnail, image, LINK_THUMBNAIL_SIDE)

    async def _with_link_preview(
        self, native: Any, wire: Any, preview: LinkPreviewData, thumbnail: Thumbnail | None
    ) -> Any:
        thumbnail_upload = None
        if thumbnail is not None:
            try:
                thumbnail_upload = await native.upload(thumbnail.jpeg, MediaType.MediaLinkThumbnail)
            except NeonizeError as exc:  # the inline thumbnail still shows
                log.info("session %s: preview thumbnail upload failed: %s", self._session_id, exc)
        return with_link_preview(wire, preview, thumbnail=thumbnail, thumbnail_upload=thumbnail_upload)

    async def mark_read(self, chat_jid: str, message_ids: Sequence[str], *, sender_jid: str | None = None) -> None:
        chat = jid_from_text(chat_jid)
        sender = jid_from_text(sender_jid) if sender_jid else chat
        async with self._native_while(NeonizePhase.CONNECTED) as native:
            try:
                await native.mark_read(*message_ids, chat=chat, sender=sender, receipt=ReceiptType.READ)
            except NeonizeError as exc:
                raise EngineError(f"mark_read failed: {exc}") from exc

    async def send_presence(self, chat_jid: str, state: ChatPresenceState) -> None:
        if state not in _CHAT_PRESENCE:
            raise EngineError(f"unknown chat presence {state!r}")
        presence, media = _CHAT_PRESENCE[state]
        chat = jid_from_text(chat_jid)
        async with self._native_while(NeonizePhase.CONNECTED) as native:
            try:
                await native.send_chat_presence(chat, presence, media)
            except NeonizeError as exc:
                raise EngineError(f"send_presence failed: {exc}") from exc
