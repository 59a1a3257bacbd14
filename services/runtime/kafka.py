"""The FastStream Kafka broker with telemetry, the event publisher, and topic creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from contracts.envelope import Envelope, encode
from contracts.topics import dead_letter_topic

from .settings import ServiceSettings

log = logging.getLogger(__name__)


def build_broker(settings: ServiceSettings, tracer_provider: TracerProvider) -> KafkaBroker:
    """Not connected: `start()` connects. Producer idempotence on, acks from all replicas."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"motcua-{settings.service_name}",
        middlewares=(KafkaTelemetryMiddleware(tracer_provider=tracer_provider),),
        logger=logging.getLogger(f"motcua.{settings.service_name}.broker"),
        log_level=logging.DEBUG,  # one line per message only when asked for
        graceful_timeout=settings.graceful_timeout_s,
        enable_idempotence=True,
        acks="all",
        allow_auto_create_topics=False,
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
        message = encode(envelope.model_copy(update={"traceparent": None, "tracestate": None}))
        trace.get_current_span().set_attribute("motcua.record_id", envelope.record_id)
        await self._broker.publish(
            message.value,
            topic=self._settings.topic(topic),
            key=message.key,
            headers={name: value.decode() for name, value in message.headers},
        )


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], partitions: int = 3, with_dead_letters: bool = True
) -> set[str]:
    """Create missing topics (and their `.dlq`) explicitly; returns the names created."""
    wanted = set(topics)
    if with_dead_letters:
        wanted |= {dead_letter_topic(name) for name in wanted}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="motcua-admin")
    await admin.start()
    try:
        missing = wanted - set(await admin.list_topics())
        created: set[str] = set()
        for name in sorted(missing):
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
                created.add(name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics", extra={"topics": sorted(created)})
        return created
    finally:
        await admin.close()
