"""Group commit: requests that arrive while a database call is under way share the next call.

Each HTTP request makes its own small writes; one call per request spent most of intake's CPU in
the driver (a third of it, more than the HTTP framework). Here the first caller's item goes out
at once, alone (no added latency when idle); items arriving meanwhile wait and go together in
one call as soon as it returns. The batch size follows the load by itself.

The shared call runs in its own task with an empty context: a caller's deadline or cancellation
never cuts short the others' write; the store bounds the call itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(self, flush: Callable[[list[Item]], Awaitable[Sequence[Result]]],
                 max_batch: int = 256) -> None:
        """`flush` answers for every item, in order, or raises for the whole batch."""
        self._flush = flush
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[:self._max_batch]
            del self._waiting[:self._max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"a group commit answered {len(results)} of "
                                       f"{len(batch)} items")
            except asyncio.CancelledError:
                for _, future in (*batch, *self._waiting):
                    future.cancel()
                self._waiting.clear()
                raise
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # its caller may have given up meanwhile
                    future.set_result(result)
