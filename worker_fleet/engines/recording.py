"""An `emit` target that records engine events and lets async code wait for them.

Useful wherever something needs to observe an engine without a host: tests, dev scripts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from worker_fleet.engines.base import EngineEvent

EventT = TypeVar("EventT")


class EventRecorder:
    def __init__(self, poll_interval: float = 0.01) -> None:
        self.events: list[EngineEvent] = []
        self._poll_interval = poll_interval

    def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def of_type(self, kind: type[EventT]) -> list[EventT]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for(
        self,
        kind: type[EventT],
        *,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[EventT], bool] | None = None,
    ) -> EventT:
        """The `count`-th recorded event of `kind` (matching `where`), waiting up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matching = [event for event in self.of_type(kind) if where is None or where(event)]
            if len(matching) >= count:
                return matching[count - 1]
            if loop.time() >= deadline:
                seen = ", ".join(type(event).__name__ for event in self.events) or "nothing"
                raise TimeoutError(f"no {count}x {kind.__name__} within {timeout}s; recorded: {seen}")
            await asyncio.sleep(self._poll_interval)
