"""Messages stored before they are sent: kept in a service's own documents, sent at least once.

A service writes the encoded message (with its event id) together with the state change that
produced it, then sends it; after a crash the same bytes go out again, never a new event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
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


def stored_message(topic: str, envelope: Envelope[Any], traceparent: str | None = None) -> Document:
    """A message as a document: logical topic, key, value, headers, and the trace to resume."""
    message = wire_message(envelope)
    return {"topic": topic, "key": message.key.decode(), "value": message.value.decode(),
            "headers": message.header_map(), "traceparent": traceparent}


def message_of(doc: Document) -> KafkaMessage:
    return KafkaMessage(key=doc["key"].encode(), value=doc["value"].encode(),
                        headers=[(k, v.encode()) for k, v in doc["headers"].items()])


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

    async def send(self, docs: Sequence[Document]) -> None:
        producer = self._producer()
        confirmations = []
        for doc in docs:
            stored = doc.get("traceparent")
            parent = _propagator.extract({"traceparent": stored}) if stored else None
            topic = self._settings.topic(doc["topic"])
            with self._tracer.start_as_current_span(
                    f"{topic} publish", context=parent, kind=trace.SpanKind.PRODUCER,
                    attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                "motcua.record_id": doc["key"]}):
                carrier: dict[str, str] = {}
                _propagator.inject(carrier)
                message = message_of(doc)
                headers = [(k, v) for k, v in message.headers if k not in carrier]
                headers += [(k, v.encode()) for k, v in carrier.items()]
                confirmations.append(await producer.send(
                    topic, message.value, key=message.key, headers=headers))
        await asyncio.gather(*confirmations)
