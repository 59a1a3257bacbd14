"""The FastStream Kafka broker with telemetry, the event publisher, and topic creation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from contracts.envelope import Envelope
from contracts.topics import CORE_TOPICS, TopicSpec, per_department_spec

from .outbox import wire_message
from .settings import ServiceSettings

log = logging.getLogger(__name__)


def build_broker(settings: ServiceSettings, tracer_provider: TracerProvider) -> KafkaBroker:
    """Not connected: `start()` connects. Producer idempotence on, acks from all replicas."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=settings.kafka_access().faststream_security(),
        client_id=f"motcua-{settings.service_name}",
        middlewares=(KafkaTelemetryMiddleware(tracer_provider=tracer_provider),),
        logger=logging.getLogger(f"motcua.{settings.service_name}.broker"),
        log_level=logging.DEBUG,  # one line per message only when asked for
        graceful_timeout=settings.graceful_timeout_s,
        enable_idempotence=True,
        acks="all",
        allow_auto_create_topics=False,
        # metadata: Kafka's default age (5 min; refreshed at once on an error); a pattern
        # subscription sets its own (`ServiceRuntime.subscribe_family`)
    )


class EventPublisher:
    """Publishes envelopes in the CloudEvents Kafka binding, keyed by record id.

    The trace context is not written here: the telemetry middleware injects `traceparent` from
    the current span, so the publish span becomes part of the record's trace.
    """

    def __init__(self, broker: KafkaBroker, settings: ServiceSettings) -> None:
        self._broker = broker
        self._settings = settings

    async def publish(self, envelope: Envelope[Any], topic: str | None = None) -> None:
        """Publish to a logical topic (default: the payload's own); returns once the broker has it."""
        topic = topic or envelope.data.topic
        if "{" in topic:
            raise ValueError(f"{envelope.type} travels on a per-department topic: name it")
        message = wire_message(envelope)
        trace.get_current_span().set_attribute("motcua.record_id", envelope.record_id)
        await self._broker.publish(
            message.value,
            topic=self._settings.topic(topic),
            key=message.key,
            headers={name: value.decode() for name, value in message.headers},
        )


def topic_spec(name: str) -> TopicSpec:
    """How a logical topic is created: the contract's spec, or a department topic's."""
    for core in CORE_TOPICS:
        if core.name == name:
            return core
    spec = per_department_spec(name)
    if spec is None:
        raise ValueError(f"topic {name!r} is neither a core topic nor a department's topic")
    return spec


class TopicAdmin:
    """Creates topics explicitly (never auto-created: partitions and retention are the
    contract's choice), each with its `.dlq`, through one admin connection kept while the
    service runs: a SCRAM login costs a key derivation, and a service creates department topics
    as departments appear."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._client: AIOKafkaAdminClient | None = None

    async def ensure(self, names: Iterable[str]) -> set[str]:
        """Create the missing ones in one request; returns the physical names created. Asking
        for all (not listing the cluster's topics first) is cheaper on a broker with many."""
        specs = [topic_spec(name) for name in set(names)]
        specs += [spec.dead_letter() for spec in specs]
        if not specs:
            return set()
        settings = self._settings
        try:
            client = await self._connected()
            response = await client.create_topics([NewTopic(
                settings.topic(spec.name), spec.partitions, settings.kafka_replication_factor,
                topic_configs=spec.config()) for spec in specs])
        except Exception:
            await self.close()  # the next call starts from a fresh connection
            raise
        created: set[str] = set()
        for topic, code, *message in response.topic_errors:
            if code == TopicAlreadyExistsError.errno:
                continue  # it exists (or another instance created it first)
            if code != 0:
                raise RuntimeError(f"cannot create topic {topic}: error {code} {message}")
            created.add(topic)
        if created:
            await self._until_led(client, sorted(created))
            log.info("created topics", extra={"topics": sorted(created)})
        return created

    async def _until_led(self, client: AIOKafkaAdminClient, topics: list[str],
                         within_s: float = 10.0) -> None:
        """Wait until every partition of new topics has a leader. A first send before that
        meets NotLeaderForPartition, and aiokafka's idempotent producer can turn the retries
        of such sends into OutOfOrderSequenceNumber, which stops its sender for good."""
        deadline = asyncio.get_running_loop().time() + within_s
        while asyncio.get_running_loop().time() < deadline:
            described = await client.describe_topics(topics)
            if all(topic["error_code"] == 0 and topic["partitions"]
                   and all(p["leader"] >= 0 for p in topic["partitions"])
                   for topic in described):
                return
            await asyncio.sleep(0.1)
        log.warning("new topics still without a leader", extra={"topics": topics})

    async def _connected(self) -> AIOKafkaAdminClient:
        if self._client is None:
            client = AIOKafkaAdminClient(**self._settings.kafka_access().client_options(),
                                         client_id=f"motcua-{self._settings.service_name}-admin")
            await client.start()
            self._client = client
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


async def ensure_topics(settings: ServiceSettings, names: Iterable[str]) -> set[str]:
    """Create missing topics once, through a connection of its own (tools and tests)."""
    admin = TopicAdmin(settings)
    try:
        return await admin.ensure(names)
    finally:
        await admin.close()
