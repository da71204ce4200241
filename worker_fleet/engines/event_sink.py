"""Hands engine events to the host one at a time, in the order they happened.

Engines learn about events from several places (library callbacks, timers, API calls). Calling
the host's `emit` directly from each would let a slow async `emit` reorder them, e.g. a read
receipt overtaking its delivered receipt. One queue drained by one task keeps the order, and a
failing `emit` is logged instead of killing the engine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging

from worker_fleet.engines.base import Emit, EngineEvent

log = logging.getLogger(__name__)


class EventSink:
    def __init__(self, emit: Emit, *, session_id: str) -> None:
        self._emit = emit
        self._session_id = session_id
        self._queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self._drain_task: asyncio.Task[None] | None = None

    def push(self, event: EngineEvent) -> None:
        """Queue `event`; call from the event loop's thread."""
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())
        self._queue.put_nowait(event)

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything pushed so far was handed to `emit`."""
        if self._drain_task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            log.warning("session %s: host still busy with engine events after %.0fs", self._session_id, timeout)

    async def close(self) -> None:
        await self.flush()
        if self._drain_task is not None:
            self._drain_task.cancel()
            await asyncio.gather(self._drain_task, return_exceptions=True)
            self._drain_task = None

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                outcome = self._emit(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("session %s: emit failed for %s", self._session_id, type(event).__name__)
            finally:
                self._queue.task_done()
