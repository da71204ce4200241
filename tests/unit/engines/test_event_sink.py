from __future__ import annotations

import asyncio
import random

from worker_fleet.engines.base import EngineEvent, Receipt
from worker_fleet.engines.event_sink import EventSink


def receipt(n: int) -> Receipt:
    from datetime import UTC, datetime

    return Receipt((f"id-{n}",), "15550001111@s.whatsapp.net", "delivered", datetime.now(UTC))


def test_slow_async_emit_still_sees_events_in_push_order() -> None:
    async def scenario() -> None:
        seen: list[EngineEvent] = []
        rng = random.Random(3)

        async def slow_emit(event: EngineEvent) -> None:
            await asyncio.sleep(rng.random() / 200)
            seen.append(event)

        sink = EventSink(slow_emit, session_id="s")
        pushed = [receipt(n) for n in range(20)]
        for event in pushed:
            sink.push(event)
        await sink.flush()
        assert seen == pushed
        await sink.close()

    asyncio.run(scenario())


def test_a_failing_emit_does_not_stop_delivery() -> None:
    async def scenario() -> None:
        seen: list[EngineEvent] = []

        def flaky_emit(event: EngineEvent) -> None:
            if event == first:
                raise RuntimeError("host hiccup")
            seen.append(event)

        first, second = receipt(1), receipt(2)
        sink = EventSink(flaky_emit, session_id="s")
        sink.push(first)
        sink.push(second)
        await sink.close()
        assert seen == [second]

    asyncio.run(scenario())
