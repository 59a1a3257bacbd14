"""The outbox relay: publishes events stored with their records, then marks them sent.

Records accepted by this process are handed over in memory and published at once; a sweep (at
start and every `sweep_interval`) picks up what an earlier or another process left unsent.
At-least-once: a crash between publish and mark republishes the same message (same event id),
which consumers deduplicate. While Kafka is down, the relay retries with backoff and intake keeps
accepting applications.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.runtime.outbox import StoredSender
from services.runtime.retrying import until_done
from services.runtime.waits import next_within

from .ports import OutboxMessage, RecordStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class OutboxRelay:
    def __init__(self, store: RecordStore, sender: StoredSender, metrics: CollectorRegistry, *,
                 batch_size: int = 200,
                 lease: timedelta = timedelta(seconds=30),
                 sweep_interval: timedelta = timedelta(seconds=30)) -> None:
        self._store = store
        self._sender = sender
        self._batch_size = batch_size
        self.lease = lease
        self._sweep_interval_s = sweep_interval.total_seconds()
        self._queue: asyncio.Queue[list[OutboxMessage]] = asyncio.Queue()
        self._in_flight = 0
        self._published = Counter("motcua_outbox_published", "events published from the outbox",
                                  registry=metrics)
        self._failures = Counter("motcua_outbox_publish_failures",
                                 "outbox batches the broker did not take", registry=metrics)
        Gauge("motcua_outbox_backlog", "records this relay knows to have unsent events",
              registry=metrics).set_function(lambda: self._queue.qsize() + self._in_flight)

    def enqueue(self, messages: list[OutboxMessage]) -> None:
        """A record was stored with pending events: publish them now (no need to read them)."""
        self._queue.put_nowait(messages)

    async def run(self) -> None:
        await self._sweep_until_done()
        next_sweep = time.monotonic() + self._sweep_interval_s
        while True:
            batch = await self._take(max(0.0, next_sweep - time.monotonic()))
            if batch:
                await self._publish_until_done(batch)
            if time.monotonic() >= next_sweep:
                await self._sweep_until_done()
                next_sweep = time.monotonic() + self._sweep_interval_s

    async def _take(self, wait_s: float) -> list[list[OutboxMessage]]:
        first = await next_within(self._queue, wait_s)
        batch = [first] if first else []
        while len(batch) < self._batch_size and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        self._in_flight = len(batch)
        return batch

    async def _sweep_until_done(self) -> None:
        codes = await self._retrying(lambda: self._store.stale_pending(10 * self._batch_size,
                                                                       self.lease))
        found = 0
        for code in codes:
            unsent = await self._retrying(partial(self._store.unsent_messages, code))
            if unsent:
                self.enqueue(unsent)
                found += 1
        if found:
            log.info("outbox sweep found unsent events", extra={"records": found})

    async def _publish_until_done(self, batch: list[list[OutboxMessage]]) -> None:
        messages = [message for group in batch for message in group]
        await self._retrying(lambda: self.publish(messages))
        self._in_flight = 0

    async def _retrying(self, step: Callable[[], Awaitable[T]]) -> T:
        return await until_done(step, log, "outbox relay step", self._failures.inc)

    async def publish(self, messages: list[OutboxMessage]) -> int:
        """Publish events, wait for the broker, then note them sent."""
        await self._sender.send([m.message for m in messages])
        await self._store.record_sent(messages)
        self._published.inc(len(messages))
        return len(messages)
