"""A process-wide readers/writer lock for async code on any event loop.

Why it exists: neonize's Go side keeps every client in plain Go maps. Starting a client (and
stopping one) writes those maps; every other call reads them. Go aborts the whole process on a
concurrent map write ("concurrent map writes" / "concurrent map read and map write"), taking every
session of the worker down. Map writers take the lock exclusively, everything else shares it.

Waiting writers go before new readers, so a steady stream of sends cannot starve a connect. The
lock polls instead of using asyncio primitives because those bind to one event loop, and the Go
runtime is one per process, whatever the loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ProcessReadWriteLock:
    def __init__(self, poll_interval: float = 0.005) -> None:
        self._poll_interval = poll_interval
        self._guard = threading.Lock()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        while not self._try_enter_shared():
            await asyncio.sleep(self._poll_interval)
        try:
            yield
        finally:
            with self._guard:
                self._readers -= 1

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        with self._guard:
            self._writers_waiting += 1
        try:
            while not self._try_enter_exclusive():
                await asyncio.sleep(self._poll_interval)
        finally:
            with self._guard:
                self._writers_waiting -= 1
        try:
            yield
        finally:
            with self._guard:
                self._writer = False

    @property
    def readers(self) -> int:
        return self._readers

    @property
    def writer_active(self) -> bool:
        return self._writer

    def _try_enter_shared(self) -> bool:
        with self._guard:
            if self._writer or self._writers_waiting:
                return False
            self._readers += 1
            return True

    def _try_enter_exclusive(self) -> bool:
        with self._guard:
            if self._writer or self._readers:
                return False
            self._writer = True
            return True
