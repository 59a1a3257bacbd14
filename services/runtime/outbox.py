"""Messages stored before they are sent: kept in a service's own documents, sent at least once.

A service writes the encoded message (with its event id) together with the state change that
produced it, then sends it; after a crash the same bytes go out again, never a new event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
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


async def send_stored(broker: KafkaBroker, settings: ServiceSettings,
                      docs: Sequence[Document]) -> None:
    """Send stored messages, all handed to the producer before awaiting the broker's answers.

    A message with a stored `traceparent` is sent inside that trace (e.g. the HTTP request that
    accepted it); otherwise inside the current one.
    """
    confirmations = []
    for doc in docs:
        token = None
        if doc.get("traceparent"):
            token = otel_context.attach(_propagator.extract({"traceparent": doc["traceparent"]}))
        try:
            message = message_of(doc)
            confirmations.append(await broker.publish(
                message.value, topic=settings.topic(doc["topic"]), key=message.key,
                headers=message.header_map(), no_confirm=True))
        finally:
            if token is not None:
                otel_context.detach(token)
    await asyncio.gather(*confirmations)
