"""The outbox relay: publishes events stored with their records, then marks them sent.

At-least-once: a crash between publish and mark republishes the same message (same event id),
which consumers deduplicate. While Kafka is down, records keep their pending events and the
relay retries with backoff; intake keeps accepting applications meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.runtime.errors import is_transient
from services.runtime.settings import ServiceSettings

from .store import OutboxMessage, RecordStore

log = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()


class OutboxRelay:
    def __init__(self, store: RecordStore, broker: KafkaBroker, settings: ServiceSettings,
                 metrics: CollectorRegistry, *, batch_size: int = 200,
                 lease: timedelta = timedelta(seconds=30), idle_poll_s: float = 1.0) -> None:
        self._store = store
        self._broker = broker
        self._settings = settings
        self._batch_size = batch_size
        self._lease = lease
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self._published = Counter("motcua_outbox_published", "events published from the outbox",
                                  registry=metrics)
        self._failures = Counter("motcua_outbox_publish_failures",
                                 "outbox batches the broker did not take", registry=metrics)
        self._pending = Gauge("motcua_outbox_pending", "records with unsent events (last seen)",
                              registry=metrics)

    def wake(self) -> None:
        """A new record was stored: publish now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                sent = await self.publish_batch()
                failures = 0
            except Exception as error:
                if not is_transient(error):
                    log.exception("outbox relay failed")
                failures += 1
                self._failures.inc()
                delay = min(10.0, 0.2 * 2 ** min(failures, 6)) * random.uniform(0.5, 1.0)
                log.warning("outbox relay backing off", extra={
                    "error": type(error).__name__, "retry_in_s": round(delay, 2)})
                await asyncio.sleep(delay)
                continue
            if sent == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll_s)
                except TimeoutError:
                    self._pending.set(await self._store.pending_count())

    async def publish_batch(self) -> int:
        """Publish one leased batch; returns how many events went out."""
        token, messages = await self._store.claim_pending(self._batch_size, self._lease)
        if not messages:
            return 0
        try:
            confirmations = [await self._send(message) for message in messages]
            await asyncio.gather(*confirmations)
        except BaseException:
            await self._store.release(token)
            raise
        await self._store.mark_sent(token, messages)
        self._published.inc(len(messages))
        return len(messages)

    async def _send(self, message: OutboxMessage) -> asyncio.Future[object]:
        """Hand one message to the producer (not awaiting the broker) inside its request's trace."""
        parent = _propagator.extract({"traceparent": message.traceparent or ""})
        token = otel_context.attach(parent)
        try:
            future: asyncio.Future[object] = await self._broker.publish(
                message.message.value,
                topic=self._settings.topic(message.topic),
                key=message.message.key,
                headers=message.message.header_map(),
                no_confirm=True,
            )
            return future
        finally:
            otel_context.detach(token)
