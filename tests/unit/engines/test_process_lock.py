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
                await asyncio.sleep(0)  # let the readers run, were they able to
                assert lock.readers == 0
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

        # Set just before a task asks for the lock: nothing awaits between the set and the
        # first attempt, so once the event is seen the task has tried and is waiting.
        writer_waiting = asyncio.Event()
        late_reader_waiting = asyncio.Event()

        async def writer() -> None:
            writer_waiting.set()
            async with lock.exclusive():
                order.append("writer")

        async def late_reader() -> None:
            late_reader_waiting.set()
            async with lock.shared():
                order.append("late reader")

        reading = asyncio.create_task(first_reader())
        await first_reader_in.wait()
        writing = asyncio.create_task(writer())
        await writer_waiting.wait()
        late = asyncio.create_task(late_reader())
        await late_reader_waiting.wait()
        assert order == [] and lock.readers == 1 and not lock.writer_active
        release_first_reader.set()
        await asyncio.gather(reading, writing, late)
        assert order == ["first reader", "writer", "late reader"]

    asyncio.run(scenario())


def test_a_cancelled_writer_does_not_block_readers() -> None:
    async def scenario() -> None:
        lock = ProcessReadWriteLock(poll_interval=0.001)
        hold = asyncio.Event()
        reader_in = asyncio.Event()
        writer_waiting = asyncio.Event()

        async def long_reader() -> None:
            async with lock.shared():
                reader_in.set()
                await hold.wait()

        async def writer() -> None:
            writer_waiting.set()  # nothing awaits between this and its first attempt
            async with lock.exclusive():
                raise AssertionError("must not get in while the reader holds the lock")

        reading = asyncio.create_task(long_reader())
        await reader_in.wait()
        writing = asyncio.create_task(writer())
        await writer_waiting.wait()
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        async with asyncio.timeout(1):
            async with lock.shared():
                pass
        hold.set()
        await reading

    asyncio.run(scenario())
