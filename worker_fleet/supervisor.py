"""Runs engine shards as subprocesses, places sessions on them, relays operations, and
notices a crashed shard so its sessions can be handed back and reconnected."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from worker_fleet.engines.base import EngineEvent
from worker_fleet.shard import shard_main

log = logging.getLogger("whatsam.supervisor")

# "spawn": a fresh interpreter per shard, so no Go runtime or lock state is inherited.
_CONTEXT = multiprocessing.get_context("spawn")

EventHandler = Callable[[str, EngineEvent], None]
CrashHandler = Callable[[set[str]], None]


class ShardGone(RuntimeError):
    """The shard hosting the session died before answering."""


class ShardOperationError(RuntimeError):
    """The operation raised inside the shard; `kind` is the exception's class name there
    (e.g. `EngineNotConnectedError`), so callers can tell retryable from final."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.detail = message


@dataclass
class _ShardHandle:
    index: int
    process: BaseProcess
    conn: Connection
    sessions: set[str] = field(default_factory=set)
    pending: dict[str, Future] = field(default_factory=dict)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    alive: bool = True


class ShardSupervisor:
    def __init__(self, engine_name: str, shard_count: int, on_event: EventHandler, on_crash: CrashHandler,
                 engine_options: dict[str, Any] | None = None):
        self._engine_name = engine_name
        self._engine_options = engine_options or {}
        self._on_event = on_event
        self._on_crash = on_crash
        self._lock = threading.Lock()
        self._shards: list[_ShardHandle] = []
        self._closing = False
        self.crashes = 0
        for index in range(max(1, shard_count)):
            self._shards.append(self._spawn(index))

    def _spawn(self, index: int) -> _ShardHandle:
        parent, child = _CONTEXT.Pipe(duplex=True)
        process = _CONTEXT.Process(target=shard_main, args=(self._engine_name, child, self._engine_options),
                                   name=f"whatsam-shard-{index}", daemon=True)
        process.start()
        child.close()
        handle = _ShardHandle(index=index, process=process, conn=parent)
        threading.Thread(target=self._read, args=(handle,), name=f"shard-{index}-reader", daemon=True).start()
        return handle

    def _read(self, handle: _ShardHandle) -> None:
        while True:
            try:
                message = handle.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "event":
                _, session_id, event = message
                try:
                    self._on_event(session_id, event)
                except Exception:
                    log.exception("handling %s for %s failed", type(event).__name__, session_id)
            elif message[0] == "reply":
                _, request_id, ok, value = message
                future = handle.pending.pop(request_id, None)
                if future is not None:
                    if ok:
                        future.set_result(value)
                    else:
                        kind, message = value
                        future.set_exception(ShardOperationError(kind, message))
        self._shard_died(handle)

    def _shard_died(self, handle: _ShardHandle) -> None:
        handle.process.join(timeout=5)
        with self._lock:
            handle.alive = False
            orphans = set(handle.sessions)
            handle.sessions.clear()
            for future in handle.pending.values():
                future.set_exception(ShardGone(f"shard {handle.index} exited"))
            handle.pending.clear()
            if self._closing:
                return
            self.crashes += 1
            log.error("shard %d died (exit code %s) with %d session(s); restarting it", handle.index,
                      handle.process.exitcode, len(orphans))
            self._shards[handle.index] = self._spawn(handle.index)
        if orphans:
            self._on_crash(orphans)

    def _shard_for(self, session_id: str, *, place: bool) -> _ShardHandle:
        with self._lock:
            for handle in self._shards:
                if session_id in handle.sessions:
                    return handle
            if not place:
                raise LookupError(f"session {session_id} is not hosted here")
            handle = min((h for h in self._shards if h.alive), key=lambda h: len(h.sessions))
            handle.sessions.add(session_id)
            return handle

    def call(self, op: str, session_id: str, timeout: float = 60.0, **args: Any) -> Any:
        """Run an operation on the shard hosting the session (placing it first on `open`)."""
        handle = self._shard_for(session_id, place=op == "open")
        future: Future = Future()
        request_id = uuid.uuid4().hex
        handle.pending[request_id] = future
        try:
            with handle.send_lock:
                handle.conn.send((op, request_id, session_id, args))
        except (OSError, BrokenPipeError) as exc:
            handle.pending.pop(request_id, None)
            raise ShardGone(f"shard {handle.index} is gone") from exc
        try:
            result = future.result(timeout=timeout)
        except Exception:
            if op == "open":
                self.forget(session_id)
            raise
        if op in {"close", "logout"}:
            self.forget(session_id)
        return result

    def forget(self, session_id: str) -> None:
        with self._lock:
            for handle in self._shards:
                handle.sessions.discard(session_id)

    def hosted(self) -> set[str]:
        with self._lock:
            return set().union(*(h.sessions for h in self._shards))

    def pids(self) -> list[int]:
        with self._lock:
            return [h.process.pid for h in self._shards if h.process.pid is not None]

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closing = True
            shards = list(self._shards)
        for handle in shards:
            try:
                with handle.send_lock:
                    handle.conn.send(("shutdown", uuid.uuid4().hex, "", {}))
            except OSError:
                pass
        for handle in shards:
            handle.process.join(timeout)
            if handle.process.is_alive():
                handle.process.kill()
                handle.process.join()
