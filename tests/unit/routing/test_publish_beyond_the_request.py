"""Publishing a table moves records outside the request's database deadline, to the end."""

from __future__ import annotations

import asyncio

import pymongo
from pymongo import _csot

from services.routing.api import _beyond_the_request


async def test_the_move_runs_without_the_requests_database_deadline() -> None:
    seen: list[float | None] = []

    async def work() -> int:
        seen.append(_csot.get_timeout())
        return 3

    with pymongo.timeout(5.0):
        assert _csot.get_timeout() is not None
        assert await _beyond_the_request(work()) == 3
    assert seen == [None]


async def test_the_move_finishes_when_the_caller_goes_away() -> None:
    finished = asyncio.Event()

    async def work() -> int:
        await asyncio.sleep(0.05)
        finished.set()
        return 1

    caller = asyncio.ensure_future(_beyond_the_request(work()))
    await asyncio.sleep(0.01)
    caller.cancel()
    await asyncio.wait_for(finished.wait(), 2)
