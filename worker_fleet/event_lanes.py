"""The order in which a worker applies its engines' events: two lanes, so a session's QR
code or `connected` never waits behind thousands of other sessions' receipts.

Every event is applied on one thread (the session host's), and applying one publishes an
event to the control plane, a network round trip. After a burst of sends, that thread has
three receipts per message queued; a new session's QR behind them would wait for minutes.
The status lane jumps that queue. It carries only events that leave the session hosted
(QR, pairing, connected, a reconnect under way), so jumping ahead of a session's own
receipts can never make them find the session gone. Events that end a session (logged out,
a final disconnect, stream replaced, ban) stay in the ordinary lane, behind what came before
them, so nothing the engine reported is dropped by an ending that overtook it.

Each event keeps who hosted its session when it arrived: the session may have ended and been
claimed again (a logout, then a connect) before the event is applied, and the old client's
last words must not reach the new one."""

from __future__ import annotations

import itertools
import queue
from typing import Any, Generic, TypeVar

from worker_fleet.engines.base import Connected, Disconnected, EngineEvent, PairSuccess, QRCode

_STATUS_LANE, _ORDINARY_LANE, _LAST = 0, 1, 2

H = TypeVar("H")


def lane_of(event: EngineEvent) -> int:
    if isinstance(event, QRCode | PairSuccess | Connected):
        return _STATUS_LANE
    if isinstance(event, Disconnected) and event.will_reconnect:
        return _STATUS_LANE
    return _ORDINARY_LANE


class EngineEventLanes(Generic[H]):
    """First in, first out within a lane; the status lane first. `close()` ends `get()` once
    everything put before it has been taken. `H` is whatever hosted the session on arrival."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._arrival = itertools.count()

    def put(self, session_id: str, event: EngineEvent, host: H | None) -> None:
        self._queue.put((lane_of(event), next(self._arrival), (session_id, event, host)))

    def close(self) -> None:
        self._queue.put((_LAST, next(self._arrival), None))

    def get(self) -> tuple[str, EngineEvent, H | None] | None:
        """The next event to apply, with its session's host on arrival; None once closed."""
        item: tuple[str, EngineEvent, H | None] | None = self._queue.get()[2]
        return item
