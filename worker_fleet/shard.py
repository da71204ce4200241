"""An engine shard: a subprocess hosting engine clients on one asyncio loop.

The neonize Go library can abort its whole process; hosting clients in shards means such a
crash takes down one shard, which the supervisor notices, never the worker. Connects are
serialised inside the engine; the shard only relays operations and events.

Wire protocol on the pipe (picklable tuples):
  parent → shard: (op, request_id, session_id, args)   op ∈ open|close|logout|shutdown|CLIENT_OPERATIONS
  shard → parent: ("event", session_id, engine_event) | ("reply", request_id, ok, value)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whatsam.config import Settings
from whatsam.logs import configure_logging
from worker_fleet.engines.base import Engine, EngineClient, EngineEvent, get_engine
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.groups import GROUP_OPERATIONS
from worker_fleet.engines.operations import ENGINE_CALL_OPERATIONS
from worker_fleet.media_fetch import MediaFetcher

if TYPE_CHECKING:
    from whatsam.adapters.messages import MessageRepository

log = logging.getLogger("whatsam.shard")

class SendTakenBack(RuntimeError):
    """The message's next holder took it back before this attempt reached the engine."""


# Client methods a worker may call through the pipe, with keyword arguments.
CLIENT_OPERATIONS = frozenset({"pair_phone", "send", "download_media", "mark_read", "send_presence",
                               "simulate_scan", "inject_inbound"}) | GROUP_OPERATIONS \
    | ENGINE_CALL_OPERATIONS


class Shard:
    def __init__(self, engine_name: str, conn: Connection, engine_options: dict[str, Any]):
        self._engine = _build_engine(engine_name, engine_options)
        self._conn = conn
        self._send_lock = threading.Lock()
        self._clients: dict[str, EngineClient] = {}
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._messages: MessageRepository | None = None

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        threading.Thread(target=self._read_pipe, name="shard-pipe", daemon=True).start()
        self._loop.run_until_complete(self._stopped.wait())
        self._loop.run_until_complete(self._close_all())

    def _read_pipe(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                # The worker is gone: nothing may keep a socket open on its behalf.
                self._loop.call_soon_threadsafe(self._stopped.set)
                return
            asyncio.run_coroutine_threadsafe(self._handle(*message), self._loop)

    async def _handle(self, op: str, request_id: str, session_id: str, args: dict[str, Any]) -> None:
        try:
            value = await self._dispatch(op, session_id, args)
        except Exception as exc:
            log.warning("shard op %s for %s failed: %s", op, session_id, exc)
            self.send(("reply", request_id, False, (type(exc).__name__, str(exc))))
            return
        self.send(("reply", request_id, True, value))

    async def _dispatch(self, op: str, session_id: str, args: dict[str, Any]) -> Any:
        if op == "open":
            if session_id in self._clients:
                await self._clients.pop(session_id).stop()
            opened = self._engine.open(session_id, Path(args["store_path"]), self._emitter(session_id),
                                       proxy_url=args.get("proxy_url"))
            self._clients[session_id] = opened
            await opened.start()
            return None
        if op == "shutdown":
            self._stopped.set()
            return None
        client = self._clients.get(session_id)
        if client is None:
            raise LookupError(f"session {session_id} is not open in this shard")
        if op == "close":
            self._clients.pop(session_id, None)
            await client.stop()
            return None
        if op == "logout":
            self._clients.pop(session_id, None)
            try:
                await client.logout()
            except Exception:
                # Not connected (or WhatsApp refused): the socket must still not outlive the session.
                await client.stop()
                raise
            return None
        if op == "send" and "handoff" in args:
            args = dict(args)
            self._take_in_hand(*args.pop("handoff"))
        if op in CLIENT_OPERATIONS:
            action = getattr(client, op, None)
            if action is None:
                raise EngineRefusedError("not_supported_by_engine", f"the {type(client).__name__} engine cannot {op}")
            result = action(**args)
            return await result if asyncio.iscoroutine(result) else result
        raise ValueError(f"unknown shard operation {op!r}")

    def _take_in_hand(self, message_id: str, fence: int) -> None:
        """Mark the message handed to the engine, right before the send and in this process (a
        killed worker leaves its shard to finish what it was given): an attempt not marked so
        provably never left, and its next holder sends it again. Blocking on purpose: nothing
        may run between the mark and the send."""
        if self._messages is None:
            from whatsam.adapters.dynamo_models import bind_models
            from whatsam.adapters.messages import MessageRepository

            bind_models(Settings.from_env())
            self._messages = MessageRepository()
        if not self._messages.hand_to_engine(message_id, fence):
            raise SendTakenBack(f"message {message_id} is no longer this attempt's to send")

    def _emitter(self, session_id: str) -> Any:
        def emit(event: EngineEvent) -> None:
            self.send(("event", session_id, event))

        return emit

    async def _close_all(self) -> None:
        for session_id, client in list(self._clients.items()):
            try:
                await client.stop()
            except Exception:
                log.exception("closing %s failed", session_id)
        self._clients.clear()


def _build_engine(name: str, options: dict[str, Any]) -> Engine:
    if name == "simulated" and options:
        from worker_fleet.engines.simulated import SimulatedEngine, SimulatedOptions

        return SimulatedEngine(SimulatedOptions(**options))
    if name == "neonize":
        from worker_fleet.engines.neonize_engine import NeonizeEngine, NeonizeOptions

        # Link previews fetch through our SSRF guard, never neonize's own unguarded fetch.
        settings = Settings.from_env()
        fetcher = MediaFetcher(allow_insecure=settings.dev_mode, max_bytes=settings.max_media_bytes)

        async def fetch(url: str) -> bytes:
            return (await asyncio.to_thread(fetcher.fetch, url))[0]

        return NeonizeEngine(NeonizeOptions(fetch_url=fetch))
    return get_engine(name)


def shard_main(engine_name: str, conn: Connection, engine_options: dict[str, Any]) -> None:
    """Entry point of the shard subprocess."""
    configure_logging("%(asctime)s %(levelname)s shard: %(message)s")
    # The worker decides when shards stop (after its drain): a Ctrl-C to the process group
    # must not kill sockets before their state is snapshotted. SIGTERM stays deadly, so
    # multiprocessing's exit handler can always terminate a shard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Shard(engine_name, conn, engine_options).run()
    # Clients are closed. Exit without waiting on executor threads: a neonize client that never
    # paired keeps one parked in Go forever, and interpreter shutdown would wait on it.
    logging.shutdown()
    os._exit(0)
