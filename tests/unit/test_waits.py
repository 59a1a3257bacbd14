"""Bounded waits keep a cancellation that arrives as they are woken (the stop of a service)."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.waits import next_within, woken_within


async def _loop_on_event(event: asyncio.Event, passes: list[int]) -> None:
    while True:
        await woken_within(event, 0.2)
        event.clear()
        passes.append(1)


async def test_a_loop_woken_as_it_is_cancelled_stops() -> None:
    for _ in range(50):
        event = asyncio.Event()
        passes: list[int] = []
        task = asyncio.create_task(_loop_on_event(event, passes))
        await asyncio.sleep(0.001)
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)


async def _read_for_ever(queue: asyncio.Queue[int]) -> None:
    while True:
        await next_within(queue, 0.2)


async def test_a_queue_fed_as_its_reader_is_cancelled_stops_the_reader() -> None:
    for _ in range(50):
        queue: asyncio.Queue[int] = asyncio.Queue()

        task = asyncio.create_task(_read_for_ever(queue))
        await asyncio.sleep(0.001)
        queue.put_nowait(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)


async def test_the_waits_report_what_happened() -> None:
    event = asyncio.Event()
    assert await woken_within(event, 0.01) is False
    event.set()
    assert await woken_within(event, 0.01) is True
    queue: asyncio.Queue[str] = asyncio.Queue()
    assert await next_within(queue, 0.01) is None
    assert await next_within(queue, 0) is None
    queue.put_nowait("a")
    assert await next_within(queue, 0) == "a"
    queue.put_nowait("b")
    assert await next_within(queue, 0.01) == "b"
