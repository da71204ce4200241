from __future__ import annotations

import asyncio

from worker_fleet.engines.process_lock import ProcessReadWriteLock


def test_readers_share_and_a_writer_excludes_everyone() -> None:
    async def scenario() -> None:
        lock = ProcessReadWriteLock(poll_interval=0.001)
        timeline: list[str] = []
        readers_inside = asyncio.Event()

        async def reader(name: str) -> None:
            async with lock.shared():
                timeline.append(f"{name} in")
                if lock.readers == 2:
                    readers_inside.set()
                await readers_inside.wait()
                timeline.append(f"{name} out")

        async def writer() -> None:
            await readers_inside.wait()
            async with lock.exclusive():
                assert lock.readers == 0
                timeline.append("writer in")
                await asyncio.sleep(0.01)
                timeline.append("writer out")

        await asyncio.gather(reader("a"), reader("b"), writer())
        assert timeline.index("writer in") > max(timeline.index("a out"), timeline.index("b out"))

    asyncio.run(scenario())


def test_a_waiting_writer_goes_before_new_readers() -> None:
    async def scenario() -> None:
        lock = ProcessReadWriteLock(poll_interval=0.001)
        order: list[str] = []
        first_reader_in = asyncio.Event()
        release_first_reader = asyncio.Event()

        async def first_reader() -> None:
            async with lock.shared():
                first_reader_in.set()
                await release_first_reader.wait()
            order.append("first reader")

        async def writer() -> None:
            async with lock.exclusive():
                order.append("writer")

        async def late_reader() -> None:
            async with lock.shared():
                order.append("late reader")

        reading = asyncio.create_task(first_reader())
        await first_reader_in.wait()
        writing = asyncio.create_task(writer())
        await asyncio.sleep(0.01)  # the writer is now waiting
        late = asyncio.create_task(late_reader())
        await asyncio.sleep(0.01)
        assert order == []
        release_first_reader.set()
        await asyncio.gather(reading, writing, late)
        assert order == ["first reader", "writer", "late reader"]

    asyncio.run(scenario())


def test_a_cancelled_writer_does_not_block_readers() -> None:
    async def scenario() -> None:
        lock = ProcessReadWriteLock(poll_interval=0.001)
        hold = asyncio.Event()

        async def long_reader() -> None:
            async with lock.shared():
                await hold.wait()

        async def writer() -> None:
            async with lock.exclusive():
                raise AssertionError("must not get in while the reader holds the lock")

        reading = asyncio.create_task(long_reader())
        await asyncio.sleep(0.005)
        writing = asyncio.create_task(writer())
        await asyncio.sleep(0.005)
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        async with asyncio.timeout(1):
            async with lock.shared():
                pass
        hold.set()
        await reading

    asyncio.run(scenario())
