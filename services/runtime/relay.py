"""The outbox relay: publishes messages a service stored with its state, then marks them sent.

What a process stores it hands over in memory and the relay publishes at once, in batches; a
sweep (at start and every `sweep_interval`) asks the outbox for what an earlier or another
process left unsent. At-least-once: a crash between publish and mark republishes the same
message (same event id), which consumers deduplicate. While the broker or the database is down
the relay retries with backoff; the service goes on storing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge

from .outbox import StoredMessage
from .retrying import until_done
from .waits import next_within

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)  # no slots: a frozen slotted generic breaks `Pending[K](...)` on 3.11
class Pending(Generic[K]):
    """A stored message not yet known to be sent, and the key its store marks it sent by."""

    key: K
    message: StoredMessage


class Outbox(Protocol[K]):
    """A service's store, as the relay needs it."""

    async def mark_sent(self, keys: Sequence[K]) -> None: ...

    async def stale(self, limit: int) -> Sequence[Pending[K]]:
        """Up to `limit` messages stored longer than a lease ago and still unsent, held for the
        caller for another lease; none when a sweep is done."""
        ...


class Send(Protocol):
    async def __call__(self, messages: Sequence[StoredMessage]) -> None: ...


class OutboxRelay(Generic[K]):
    def __init__(self, outbox: Outbox[K], send: Send, metrics: CollectorRegistry, *,
                 batch_size: int = 200,
                 sweep_interval: timedelta = timedelta(seconds=30)) -> None:
        self._outbox = outbox
        self._send = send
        self._batch_size = batch_size
        self._sweep_interval_s = sweep_interval.total_seconds()
        self._queue: asyncio.Queue[Pending[K]] = asyncio.Queue()
        self._in_flight = 0
        self._published = Counter("motcua_outbox_published", "messages published from the outbox",
                                  registry=metrics)
        self._failures = Counter("motcua_outbox_publish_failures",
                                 "outbox steps the broker or the database failed", registry=metrics)
        Gauge("motcua_outbox_backlog_messages", "stored messages this relay holds to publish",
              registry=metrics).set_function(lambda: self.backlog)

    @property
    def backlog(self) -> int:
        return self._queue.qsize() + self._in_flight

    def enqueue(self, pending: Sequence[Pending[K]]) -> None:
        """Messages just stored: publish them now (no need to read them back)."""
        for item in pending:
            self._queue.put_nowait(item)

    async def run(self) -> None:
        await self._retrying(self.sweep)
        next_sweep = time.monotonic() + self._sweep_interval_s
        while True:
            batch = await self._take(max(0.0, next_sweep - time.monotonic()))
            if batch:
                await self._retrying(partial(self.publish, batch))
                self._in_flight = 0
            if time.monotonic() >= next_sweep:
                await self._retrying(self.sweep)
                next_sweep = time.monotonic() + self._sweep_interval_s

    async def _take(self, wait_s: float) -> list[Pending[K]]:
        first = await next_within(self._queue, wait_s)
        batch = [first] if first is not None else []
        while len(batch) < self._batch_size and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        self._in_flight = len(batch)
        return batch

    async def sweep(self) -> int:
        """Publish what the outbox reports left unsent, batch by batch; how many were."""
        total = 0
        while found := await self._outbox.stale(self._batch_size):
            total += await self.publish(found)
        if total:
            log.info("outbox sweep published messages left unsent", extra={"messages": total})
        return total

    async def publish(self, pending: Sequence[Pending[K]]) -> int:
        """Publish, wait for the broker's acknowledgements, then mark them sent."""
        await self._send([item.message for item in pending])
        await self._outbox.mark_sent([item.key for item in pending])
        self._published.inc(len(pending))
        return len(pending)

    async def _retrying(self, step: Callable[[], Awaitable[T]]) -> T:
        return await until_done(step, log, "outbox relay step", self._failures.inc)
