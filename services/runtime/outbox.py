"""Messages stored before they are sent: kept in a service's own documents, sent at least once.

A service writes the encoded message (with its event id) together with the state change that
produced it, then sends it; after a crash the same bytes go out again, never a new event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contracts.envelope import Envelope, KafkaMessage, encode

from .settings import ServiceSettings

Document = dict[str, Any]
_propagator = TraceContextTextMapPropagator()


def wire_message(envelope: Envelope[Any]) -> KafkaMessage:
    """The envelope encoded without trace headers: the telemetry middleware writes those from
    the span that publishes, so the publish joins the record's trace."""
    return encode(envelope.model_copy(update={"traceparent": None, "tracestate": None}))


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message kept in a service's documents until the broker took it: the logical topic (the
    deployment's prefix is added when sent), key, value, headers, and the trace to resume."""

    topic: str
    key: str
    value: str
    headers: dict[str, str]
    traceparent: str | None = None

    def document(self) -> Document:
        return {"topic": self.topic, "key": self.key, "value": self.value,
                "headers": self.headers, "traceparent": self.traceparent}

    @classmethod
    def from_document(cls, doc: Document) -> StoredMessage:
        return cls(doc["topic"], doc["key"], doc["value"], dict(doc["headers"]),
                   doc.get("traceparent"))

    def kafka(self) -> KafkaMessage:
        return KafkaMessage(key=self.key.encode(), value=self.value.encode(),
                            headers=[(k, v.encode()) for k, v in self.headers.items()])


def stored_message(topic: str, envelope: Envelope[Any],
                   traceparent: str | None = None) -> StoredMessage:
    message = wire_message(envelope)
    return StoredMessage(topic, message.key.decode(), message.value.decode(),
                         message.header_map(), traceparent)


class StoredSender:
    """Sends stored messages straight through the service's producer, all handed over before
    the broker's answers are awaited.

    Each message gets one PRODUCER span, the child of the trace stored with it (e.g. the HTTP
    request that accepted it) or of the current one, and that span's `traceparent` header, so
    the consumer's span continues the record's trace. FastStream's publish path made two spans
    and metrics per message, a third of a firing scheduler's CPU; these messages are already
    encoded, so they skip it.
    """

    def __init__(self, producer: Callable[[], Any], tracer: trace.Tracer,
                 settings: ServiceSettings) -> None:
        self._producer = producer
        self._tracer = tracer
        self._settings = settings

    async def send(self, messages: Sequence[StoredMessage]) -> None:
        producer = self._producer()
        confirmations = []
        for stored in messages:
            parent = (_propagator.extract({"traceparent": stored.traceparent})
                      if stored.traceparent else None)
            topic = self._settings.topic(stored.topic)
            with self._tracer.start_as_current_span(
                    f"{topic} publish", context=parent, kind=trace.SpanKind.PRODUCER,
                    attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                "motcua.record_id": stored.key}):
                carrier: dict[str, str] = {}
                _propagator.inject(carrier)
                message = stored.kafka()
                headers = [(k, v) for k, v in message.headers if k not in carrier]
                headers += [(k, v.encode()) for k, v in carrier.items()]
                confirmations.append(await producer.send(
                    topic, message.value, key=message.key, headers=headers))
        await asyncio.gather(*confirmations)
