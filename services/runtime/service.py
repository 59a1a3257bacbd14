"""The composition root's toolkit: one `ServiceRuntime` per process, built without connecting."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics as contract_topics
from contracts.envelope import Envelope

from .asyncapi import asyncapi_router
from .auth import Authenticator
from .clock import Clock, MovableClock, SystemClock
from .consumer import (
    BatchHandler,
    BatchProcessor,
    DeadLetters,
    Delivery,
    EventHandler,
    EventProcessor,
    RetryPolicy,
    SourcedHandler,
)
from .dead_letter_api import dead_letters_router
from .dead_letters import DeadLetterBox, Replayer
from .deadline import DatabaseDeadlineMiddleware
from .health import health_router, metrics_router, test_clock_router
from .kafka import EventPublisher, TopicAdmin, build_broker
from .kafka_access import TopicUse
from .lag import LAG_LABELS, LAG_METRIC, GroupReads, LagReader
from .outbox import StoredMessage, StoredSender
from .problems import CHASSIS_PATHS, BodyLimitMiddleware, document_problems, install_problem_handlers
from .producer import ProducerKeeper
from .sampled import Read, SampledGauge
from .settings import ServiceSettings
from .telemetry import build_tracer_provider

log = logging.getLogger(__name__)
SAMPLE_TIMEOUT_S = 10.0
"""Longest read of a sampled gauge: a dead broker or database empties it, never blocks it."""
FETCH_MIN_BYTES = 64 * 1024
"""A fetch the broker answers before the linger is up: a few dozen messages."""

Document = dict[str, Any]
Hook = Callable[[], Awaitable[None]]
Notice = Callable[[], dict[str, Any] | None]


async def _body_as_is(message: StreamMessage[Any]) -> bytes:
    """Skip FastStream's JSON decoding: the contract codec decodes, and dead-letters what fails."""
    return message.body


async def _tolerant_parser(records: tuple[ConsumerRecord[bytes, bytes], ...],
                           original: Callable[[tuple[ConsumerRecord[bytes, bytes], ...]],
                                              Awaitable[StreamMessage[Any]]]) -> StreamMessage[Any]:
    """FastStream reads every header as UTF-8 and drops a whole batch in which one header is
    not, without dead-lettering anything. Such a batch is parsed with its headers made readable
    for FastStream's own use (telemetry), but keeps the original records, whose unreadable
    message the contract codec refuses and the runtime dead-letters with the reason."""
    try:
        return await original(records)
    except UnicodeDecodeError:
        readable = tuple(dataclasses.replace(record, headers=[
            (name, value.decode("utf-8", "replace").encode("utf-8"))
            for name, value in record.headers or ()]) for record in records)
        message = await original(readable)
        message.raw_message = records
        return message


class ServiceRuntime:
    """Broker, database, clock, telemetry and background tasks of one service process.

    Building it connects to nothing; `start()` (run by the ASGI lifespan) connects, `stop()`
    drains the consumers, stops background tasks and closes the clients.
    """

    def __init__(self, settings: ServiceSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.tracer_provider = build_tracer_provider(settings)
        self.broker: KafkaBroker = build_broker(settings, self.tracer_provider)
        self.publisher = EventPublisher(self.broker, settings)
        self.clock: Clock = clock or _clock_of(settings)
        self.authenticator = Authenticator(settings.auth_issuer, settings.auth_audience,
                                           settings.auth_jwks_url, settings.auth_roles_claim)
        self.metrics = CollectorRegistry()
        self.producer_keeper = ProducerKeeper(self.broker, self.metrics)
        self._stored_sender = StoredSender(
            self.producer_keeper.sender, self.tracer_provider.get_tracer("motcua.outbox"), settings)
        """Sends messages a service stored before sending (its outbox)."""
        self._topics: set[str] = set()
        self.topic_use = TopicUse()
        """What this service does on the broker, recorded as it is composed: its ACLs are
        generated from it (`deploy.access`), so it holds exactly what it uses."""
        self.topic_admin = TopicAdmin(settings)
        self._group_reads: dict[str, GroupReads] = {}
        """What each consumer group reads (logical names): the consumer lag is read for these."""
        self._ensured: set[str] = set()
        self._ensuring: dict[str, asyncio.Future[set[str]]] = {}
        self._mongo: AsyncMongoClient[Document] | None = None
        self.dead_letter_box = DeadLetterBox(lambda: self.db, settings.topic_namespace)
        self._replayer = Replayer(self.dead_letter_box)
        self._on_start: list[Hook] = [self.dead_letter_box.create_indexes]
        self._loops: list[Callable[[], Coroutine[Any, Any, None]]] = [self._replayer.run]
        self._tasks: list[asyncio.Task[None]] = []
        self._notices: list[Notice] = []
        self.started = False
        self._lag = LagReader(settings, self._group_reads)
        self.sample_gauge(LAG_METRIC, "messages a consumer group of this service has yet to read",
                          LAG_LABELS, self._lag.read)
        self.sample_gauge("motcua_dead_letter_messages", "messages this service refused for good, "
                          "by topic and state (waiting for an operator, replaying, replayed, "
                          "discarded)", ("topic", "state"), self.dead_letter_box.samples)

    @property
    def mongo(self) -> AsyncMongoClient[Document]:
        if self._mongo is None:
            raise RuntimeError("the MongoDB client exists only while the service runs")
        return self._mongo

    @property
    def db(self) -> AsyncDatabase[Document]:
        return self.mongo[self.settings.mongodb_database]

    def declare_topics(self, *topics: str) -> None:
        """Logical topics this service publishes to; created (with their .dlq) at start."""
        self._topics.update(topics)
        self.topic_use.writes.update(topics)

    def declare_topic_families(self, *markers: str) -> None:
        """Per-department families this service creates and publishes to on first use
        (routing: `routed.{department_code}.v2`, ...)."""
        for marker in markers:
            contract_topics.family_prefix(marker)  # refuses what is not a family
        self.topic_use.write_families.update(markers)

    def subscribe(self, topic: str | Sequence[str], handler: EventHandler, *,
                  group: str | None = None, retry: RetryPolicy | None = None) -> None:
        """Consume logical topics (one consumer, one group join) with an explicit at-least-once
        policy and dead-lettering."""
        names = [topic] if isinstance(topic, str) else list(topic)
        self._record_reads(names, group)

        async def plain(envelope: Envelope[Any], delivery: Delivery) -> None:
            await handler(envelope)

        self._consume(plain, group, retry, topics=[self.settings.topic(name) for name in names])

    def subscribe_batch(self, topic: str | Sequence[str], handler: BatchHandler, *,
                        group: str | None = None, retry: RetryPolicy | None = None) -> None:
        """Like `subscribe`, but the handler gets each batch's events at once (one load, one
        bulk write, one round of publishes per batch)."""
        names = [topic] if isinstance(topic, str) else list(topic)
        self._record_reads(names, group)
        self._consume(handler, group, retry, topics=[self.settings.topic(name) for name in names],
                      batch=True)

    def subscribe_family(self, marker: str, handler: SourcedHandler, *, group: str,
                         retry: RetryPolicy | None = None) -> None:
        """Consume every topic of a per-department family (`updates.{department_code}.v1`),
        those created later included: they join at the next metadata refresh
        (`KAFKA_METADATA_MAX_AGE_S`). The handler is told which topic each message came on."""
        pattern = contract_topics.family_pattern(marker)
        self.topic_use.read_families.add(marker)
        self.topic_use.groups.add(group)
        self._group_reads.setdefault(group, GroupReads()).families.add(marker)
        physical = f"^{re.escape(self.settings.topic_namespace)}{pattern.removeprefix('^')}"
        self._consume(handler, group, retry, pattern=physical)

    def _record_reads(self, names: Sequence[str], group: str | None) -> None:
        logical_group = group or self.settings.consumer_group
        self._topics.update(names)
        self.topic_use.reads.update(names)
        self.topic_use.groups.add(logical_group)
        self._group_reads.setdefault(logical_group, GroupReads()).topics.update(names)

    def _consume(self, handler: SourcedHandler | BatchHandler, group: str | None,
                 retry: RetryPolicy | None, *, topics: Sequence[str] = (),
                 pattern: str | None = None, batch: bool = False) -> None:
        group_id = self.settings.group(group)
        dead_letters = DeadLetters(self.broker, self.settings.service_name, group_id,
                                   self.dead_letter_box)
        options: dict[str, Any] = {"namespace": self.settings.topic_namespace,
                                   "tracer": self.tracer_provider.get_tracer("motcua.consumer")}
        processor = (BatchProcessor(cast(BatchHandler, handler), dead_letters, retry, **options)
                     if batch else
                     EventProcessor(cast(SourcedHandler, handler), dead_letters, retry, **options,
                                    concurrency=self.settings.kafka_batch_concurrency))
        self._replayer.register(group_id, processor)

        at_once = pattern is not None or self.settings.kafka_fetch_linger_ms == 0
        subscriber = self.broker.subscriber(
            *topics,
            group_id=group_id,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            decoder=_body_as_is,
            parser=_tolerant_parser,
            pattern=pattern,
            batch=True,
            max_records=self.settings.kafka_batch_max_records,
            batch_timeout_ms=self.settings.kafka_batch_wait_ms,
            # At once, a message alone answers a fetch: at a moderate rate every message is a
            # batch of its own, with its reads, writes and commit; a linger makes fuller ones.
            # A pattern spans every department's topic: it always answers at the first message.
            fetch_min_bytes=1 if at_once else FETCH_MIN_BYTES,
            fetch_max_wait_ms=500 if at_once else self.settings.kafka_fetch_linger_ms,
        )
        if pattern is not None:
            # Only a pattern subscription needs fresh metadata (it is how a new topic joins), and
            # it asks for the whole cluster's: a short age on every client costs each process the
            # decoding of every topic's partitions every few seconds.
            discovery_ms = int(self.settings.kafka_metadata_max_age_s * 1000)
            subscriber._connection_args["metadata_max_age_ms"] = discovery_ms

        @subscriber
        async def consume(message: KafkaMessage) -> None:
            records = message.raw_message
            await processor.process_batch(records if isinstance(records, tuple) else (records,))

    async def send_stored(self, messages: Sequence[StoredMessage]) -> None:
        """Send messages kept in the service's documents; returns once all are acknowledged."""
        await self._stored_sender.send(messages)

    async def track_topics(self, logical: Iterable[str]) -> None:
        """Topics this service will send to, learnt by its producer in one request (a service
        that sends to many, as routing to every department, calls this once it knows them)."""
        await self.producer_keeper.track(self.settings.topic(name) for name in logical)

    async def ensure_topic(self, topic: str, *together: str) -> None:
        """Create logical topics on first use (department topics appear with departments), in
        one admin call for `topic` and those `together` with it; concurrent callers for the same
        topics (a batch's records for a new department) wait for that one call."""
        names = (topic, *together)
        missing = [name for name in names if name not in self._ensured and name not in self._ensuring]
        if missing:
            creating = asyncio.ensure_future(self.topic_admin.ensure(missing))
            for name in missing:
                self._ensuring[name] = creating
        pending = {id(task): task for name in names if (task := self._ensuring.get(name))}
        try:
            await asyncio.gather(*pending.values())
        finally:
            for name in names:
                task = self._ensuring.get(name)
                if task is not None and task.done():
                    del self._ensuring[name]
                    if not task.cancelled() and task.exception() is None:
                        self._ensured.add(name)

    def on_start(self, hook: Hook) -> None:
        """Run once connected, before consuming (e.g. create indexes)."""
        self._on_start.append(hook)

    def add_notice(self, notice: Notice) -> None:
        """Something operators must hear of that does not make the service unready (e.g. next
        year's calendar still provisional): shown under `notices` in `/health/ready`."""
        self._notices.append(notice)

    def notices(self) -> list[dict[str, Any]]:
        return [found for notice in self._notices if (found := notice()) is not None]

    def run_in_background(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A long-running task (relay, scheduler) started after the broker, cancelled at stop."""
        self._loops.append(loop)

    def sample_gauge(self, name: str, documentation: str, labels: Sequence[str],
                     read: Read) -> SampledGauge:
        """A gauge read from the broker or the database every `METRICS_REFRESH_S` in the
        background: a scrape shows the last read and never waits on either."""
        interval_s = self.settings.metrics_refresh_s
        gauge = SampledGauge(name, documentation, labels, read, timeout_s=SAMPLE_TIMEOUT_S)
        self.metrics.register(gauge)

        async def sample() -> None:
            await gauge.run(interval_s)

        sample.__qualname__ = f"sample {name}"
        self.run_in_background(sample)
        return gauge

    async def start(self) -> None:
        await self.topic_admin.ensure(self._topics)
        self._ensured = set(self._topics)
        self._mongo = mongo_client(self.settings)
        for hook in self._on_start:
            await hook()
        await self.broker.start()
        self.producer_keeper.watch()
        self._tasks = [asyncio.create_task(loop(), name=getattr(loop, "__qualname__", "loop"))
                       for loop in self._loops]
        self.started = True
        log.info("service started", extra={"topics": sorted(self._topics)})

    async def stop(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded too: a loop that ignored its cancellation must not hang the stop.
            _, running = await asyncio.wait(self._tasks, timeout=self.settings.graceful_timeout_s)
            for task in running:
                log.error("background loop did not stop", extra={"loop": task.get_name()})
        await self.producer_keeper.close()
        await self._lag.close()
        # Bounded: a dependency that is gone must not keep the process from exiting.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.broker.stop(), self.settings.graceful_timeout_s + 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.topic_admin.close(), 5)
        if self._mongo is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._mongo.close(), 5)
            self._mongo = None
        self.tracer_provider.shutdown()
        log.info("service stopped")

    def asgi(self, *routers: APIRouter, title: str, description: str = "",
             max_body_bytes: int = 1_000_000, json_paths: tuple[str, ...] = ()) -> FastAPI:
        """The service's HTTP face: its routers, health, metrics, its AsyncAPI document, problem
        details, and the test clock when enabled."""

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, description=description, lifespan=lifespan)
        app.state.runtime = self
        install_problem_handlers(app, self.metrics)
        document_problems(app, json_paths)
        app.add_middleware(DatabaseDeadlineMiddleware, seconds=self.settings.mongodb_timeout_s)
        app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes, json_paths=json_paths)
        app.add_middleware(
            OpenTelemetryMiddleware,  # the server span: parent of what the request publishes
            tracer_provider=self.tracer_provider,
            excluded_urls=",".join(CHASSIS_PATHS),
            exclude_spans=["receive", "send"],
        )
        app.include_router(health_router(self))
        app.include_router(metrics_router(self.metrics))
        app.include_router(dead_letters_router(self.dead_letter_box, self._replayer,
                                               self.settings.service_name))
        app.include_router(asyncapi_router())
        if isinstance(self.clock, MovableClock):
            app.include_router(test_clock_router(self.clock))
        for router in routers:
            app.include_router(router)
        return app


def mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """Durable by configuration: a write is acknowledged once a majority of the replica set has
    it in its journal, and reads see only majority-committed data, so nothing answered or
    committed on is rolled back by a crash or an election. Every wait is bounded."""
    timeout_ms = int(settings.mongodb_timeout_s * 1000)
    return AsyncMongoClient(settings.mongodb_uri, tz_aware=True,
                            appname=f"motcua-{settings.service_name}",
                            w="majority", journal=True, wTimeoutMS=timeout_ms,
                            readConcernLevel="majority",
                            serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                            socketTimeoutMS=2 * timeout_ms)


def _clock_of(settings: ServiceSettings) -> Clock:
    if not settings.test_clock:
        return SystemClock()
    start = settings.test_clock_start
    return MovableClock(start - SystemClock().now() if start is not None else timedelta(0))
