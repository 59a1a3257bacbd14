"""Bounded waits that never swallow a cancellation.

`asyncio.wait_for` of Python 3.11 returns the result instead of raising when the awaited thing
completes as the waiting task is cancelled (CPython gh-86296, fixed in 3.12). A background loop
woken at the moment the service stops would then run on for ever and `stop()` would never
return. `asyncio.timeout` has no such race, so every bounded wait of a loop goes through here.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def woken_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; True if it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def next_within(queue: asyncio.Queue[T], seconds: float) -> T | None:
    """The queue's next item if one comes within `seconds`, else None."""
    if seconds <= 0:
        return None if queue.empty() else queue.get_nowait()
    try:
        async with asyncio.timeout(seconds):
            return await queue.get()
    except TimeoutError:
        return None
