"""Group commit: items arriving during a call share the next one, each caller gets its own answer."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from services.runtime.group_commit import GroupCommit


async def settle() -> None:
    """Let every ready task run until all wait."""
    for _ in range(5):
        await asyncio.sleep(0)


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.fail_on = fail_on
        self.release = asyncio.Event()

    async def flush(self, items: list[int]) -> list[int]:
        self.calls.append(items)
        await self.release.wait()
        if self.fail_on in items:
            raise ValueError(f"refused {self.fail_on}")
        return [item * 10 for item in items]


async def test_the_first_item_goes_alone_and_the_rest_wait_for_the_next_call() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.flush)
    calls = [asyncio.create_task(commit(1))]
    await settle()
    calls += [asyncio.create_task(commit(n)) for n in range(2, 6)]
    await settle()
    recorder.release.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40, 50]
    assert recorder.calls == [[1], [2, 3, 4, 5]]


async def test_a_failed_call_fails_its_items_only() -> None:
    recorder = Recorder(fail_on=1)
    commit = GroupCommit(recorder.flush)
    first = asyncio.create_task(commit(1))
    await settle()
    later = [asyncio.create_task(commit(n)) for n in (2, 3)]
    recorder.release.set()
    with pytest.raises(ValueError, match="refused 1"):
        await first
    assert await asyncio.gather(*later) == [20, 30]


async def test_batches_are_capped_and_a_caller_that_gives_up_leaves_the_others_served() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.flush, max_batch=2)
    calls = [asyncio.create_task(commit(1))]
    await settle()
    calls += [asyncio.create_task(commit(n)) for n in range(2, 6)]
    await settle()
    calls[2].cancel()
    recorder.release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 2] == [10, 20, 40, 50]
    assert recorder.calls == [[1], [2, 3], [4, 5]]


async def test_a_wrong_number_of_answers_fails_the_batch_instead_of_hanging() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    commit = GroupCommit(short)
    with pytest.raises(RuntimeError, match="answered 0 of 1"):
        await asyncio.wait_for(commit(1), 1)


DEADLINE: contextvars.ContextVar[str] = contextvars.ContextVar("deadline", default="none")


async def test_the_shared_call_runs_outside_the_first_callers_context() -> None:
    """A caller's deadline (PyMongo keeps it in a context variable) must not bound the others'."""
    seen: list[str] = []

    async def flush(items: list[int]) -> list[int]:
        seen.append(DEADLINE.get())
        return items

    async def caller() -> int:
        DEADLINE.set("the first caller's")
        return await GroupCommit(flush)(1)

    assert await caller() == 1
    assert seen == ["none"]
