"""Keeps the service's Kafka producer able to send: one that can no longer send is replaced.

aiokafka's idempotent producer has states it never leaves: a batch refused with
OutOfOrderSequenceNumber (retries across a leader change) leaves a gap in the partition's
sequence, so the next batches are refused too; ProducerFenced ends its epoch; and a sender task
that ended fails every later send with a copy of its error. A service would then retry its
messages for ever on a producer that cannot send again. The keeper sits between FastStream and
the producer: every send's result is looked at, and on one of those signs (or the sender task's
end while the service runs) a new producer is started with the broker's own connection settings
and takes the old one's place. Sends that failed meanwhile are transient
(`errors.is_transient`): the runtime retries them on the new producer, and consumers
deduplicate by event id.

FastStream has no public way to replace its producer, so this reaches two of its attributes
(`KafkaBroker._connection_kwargs`, the fast producer's `_producer`); the integration test that
breaks a producer fails if an upgrade moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber, ProducerFenced
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.state import ProducerState
from prometheus_client import CollectorRegistry, Counter

from .retrying import until_done

log = logging.getLogger(__name__)
_STOP_OLD_S = 5.0
BROKEN = (OutOfOrderSequenceNumber, ProducerFenced)
"""Answers after which a producer's later sends fail too."""


class ProducerKeeper:
    def __init__(self, broker: KafkaBroker, registry: CollectorRegistry) -> None:
        self._broker = broker
        self._counter = Counter("motcua_kafka_producer_replaced",
                                "Kafka producers replaced because they could no longer send",
                                registry=registry)
        self._current: AIOKafkaProducer | None = None
        self._replacing: asyncio.Task[None] | None = None
        self._watching = False
        self._tracked: set[str] = set()
        self.replacements = 0

    def watch(self) -> None:
        """Take over the connected broker's producer (after `broker.start()`)."""
        fast = self._broker.config.producer
        self._current = fast._producer.producer  # type: ignore[attr-defined]
        fast._producer = _KeptState(self)  # type: ignore[attr-defined]
        self._watching = True
        self._follow(self.current)

    async def close(self) -> None:
        """Stop watching (before the broker stops: its own stop ends the sender)."""
        self._watching = False
        task, self._replacing = self._replacing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def track(self, topics: Iterable[str]) -> None:
        """Learn these topics' partitions in one metadata request, now and for every producer
        that replaces this one. Otherwise the producer asks the broker about every topic it
        knows each time it meets a new one: quadratic in the topics a service sends to (routing
        spent a fifth of its CPU decoding metadata while it met the department topics)."""
        self._tracked |= set(topics)
        try:
            await self._track(self.current)
        except Exception as error:  # an optimisation only: each send learns its topic anyway
            log.warning("could not learn the topics' partitions ahead",
                        extra={"error": type(error).__name__})

    async def _track(self, producer: AIOKafkaProducer) -> None:
        if self._tracked:
            client = producer.client
            await client.set_topics(self._tracked | client._topics)

    @property
    def current(self) -> AIOKafkaProducer:
        if self._current is None:
            raise RuntimeError("the producer exists only while the service runs")
        return self._current

    def sender(self) -> Any:
        """The current producer, its sends watched (for the runtime's own direct sends)."""
        return _Watched(self, self.current)

    def check(self, producer: AIOKafkaProducer, error: BaseException | None) -> None:
        """A send of `producer` ended with `error`: replace the producer if it is broken."""
        if isinstance(error, BROKEN):
            self._replace_soon(producer, type(error).__name__)

    def _follow(self, producer: AIOKafkaProducer) -> None:
        sender = producer._sender.sender_task
        if sender is not None:
            sender.add_done_callback(lambda task: self._replace_soon(
                producer, "cancelled" if task.cancelled() else type(task.exception()).__name__))

    def _replace_soon(self, producer: AIOKafkaProducer, why: str) -> None:
        if not self._watching or producer is not self._current or self._replacing is not None:
            return  # stopping, or that producer is being (or was) replaced already
        log.warning("Kafka producer can no longer send; replacing it", extra={"error": why})
        self._replacing = asyncio.get_running_loop().create_task(self._replace(producer),
                                                                 name="replace producer")

    async def _replace(self, old: AIOKafkaProducer) -> None:
        try:
            self._current = await until_done(self._started_producer, log, "Kafka producer start")
            self._follow(self._current)
            with contextlib.suppress(Exception):  # an optimisation: sends learn topics anyway
                await self._track(self._current)
            self._counter.inc()
            self.replacements += 1
            log.warning("Kafka producer replaced")
        finally:
            self._replacing = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.stop(), _STOP_OLD_S)

    async def _started_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**self._broker._connection_kwargs)
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer


class _KeptState(ProducerState):
    """FastStream's view of the producer: always the keeper's current one, watched."""

    __slots__ = ("_keeper",)

    def __init__(self, keeper: ProducerKeeper) -> None:
        self._keeper = keeper

    @property
    def producer(self) -> Any:
        return self._keeper.sender()

    def __bool__(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return bool(self._keeper.current._closed)

    async def stop(self) -> None:
        await self._keeper.current.stop()

    async def flush(self) -> None:
        await self._keeper.current.flush()


class _Watched:
    """A producer whose sends report their outcome to the keeper; everything else passes."""

    __slots__ = ("_keeper", "_producer")

    def __init__(self, keeper: ProducerKeeper, producer: AIOKafkaProducer) -> None:
        self._keeper = keeper
        self._producer = producer

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        try:
            future: asyncio.Future[Any] = await self._producer.send(*args, **kwargs)
        except Exception as error:
            self._keeper.check(self._producer, error)
            raise
        future.add_done_callback(self._sent)
        return future

    def _sent(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            self._keeper.check(self._producer, future.exception())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)
