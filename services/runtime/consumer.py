"""Consuming events: decode the contract, run the handler, retry what will pass, dead-letter the rest.

Messages come in batches, and a service handles them one of two ways:
- per message (`EventProcessor`): the batch is split into lanes, one per record (the Kafka key);
  a lane's messages are handled one after another in their order, lanes side by side (bounded);
- per batch (`BatchProcessor`): the handler gets every decodable message of the batch at once,
  in order, so it can load all states in one query and store all effects in one bulk write.
Either way the batch's offsets are committed only once every message is handled or
dead-lettered, so an effect is always stored before its offset; handlers are idempotent because
redelivery happens. Each message gets its own consumer span, the child of the publish that sent
it, so a record's trace runs through batches.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contracts.envelope import ContractError, Envelope, decode
from contracts.topics import dead_letter_topic

from .dead_letters import DeadLetterBox
from .errors import PoisonMessage, is_transient

log = logging.getLogger(__name__)

EventHandler = Callable[[Envelope[Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a message came from, for a handler whose decision depends on it (routing's gate:
    the inbound topic names the sender)."""

    topic: str
    """The logical topic, without the namespace."""
    partition: int
    offset: int


SourcedHandler = Callable[[Envelope[Any], Delivery], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded message of a batch: the event, where it came from, and the trace its effects
    join (its consumer span's `traceparent`, to store with the messages it causes)."""

    envelope: Envelope[Any]
    delivery: Delivery
    traceparent: str | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A batch handler's verdict on one message it must refuse for good (dead-lettered)."""

    incoming: Incoming
    poison: PoisonMessage


BatchHandler = Callable[[Sequence[Incoming]], Awaitable[Sequence[Refusal]]]
"""Handles a batch's events in their order (each record's events in order) and returns the ones
it refused; the others' effects are stored and their messages acknowledged when it returns."""


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures are retried for as long as it takes (a good message is never
    dead-lettered because a database was down); unexpected errors get `unexpected_attempts`."""

    initial_delay_s: float = 0.2
    max_delay_s: float = 10.0
    unexpected_attempts: int = 3

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        ceiling = min(self.max_delay_s, self.initial_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class DeadLetters:
    """Sends a message that can never be processed to `<topic>.dlq`, as it was, with the reason,
    having kept it first in the service's box, where operators replay or discard it."""

    def __init__(self, broker: KafkaBroker, service: str, group: str,
                 box: DeadLetterBox | None = None) -> None:
        self._broker = broker
        self._service = service
        self._group = group
        self._box = box

    async def send(self, record: ConsumerRecord[bytes, bytes], reason: str, detail: str) -> None:
        if self._box is not None:
            await self._box.keep(record, self._group, reason, detail)
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers or ()}
        headers.update({
            "dlq-reason": reason,
            "dlq-detail": detail[:2000],
            "dlq-original-topic": record.topic,
            "dlq-original-partition": str(record.partition),
            "dlq-original-offset": str(record.offset),
            "dlq-consumer-group": self._group,
            "dlq-service": self._service,
            "dlq-failed-at": datetime.now(UTC).isoformat(),
        })
        await self._broker.publish(
            record.value or b"", topic=dead_letter_topic(record.topic), key=record.key,
            headers=headers,
        )
        log.warning("dead-lettered a message", extra={
            "topic": record.topic, "partition": record.partition, "offset": record.offset,
            "reason": reason})


_propagator = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def lanes(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[list[ConsumerRecord[bytes, bytes]]]:
    """The batch's messages by record (Kafka key), each lane in the batch's order; a message
    without a key (it cannot be read as an event) is a lane of its own."""
    found: dict[object, list[ConsumerRecord[bytes, bytes]]] = {}
    for index, record in enumerate(records):
        found.setdefault(record.key if record.key is not None else index, []).append(record)
    return list(found.values())


class EventProcessor:
    """The per-message decision: decode, handle with retries, or dead-letter. No Kafka client here."""

    def __init__(self, handler: SourcedHandler, dead_letters: DeadLetters,
                 retry: RetryPolicy | None = None, *, namespace: str = "",
                 tracer: trace.Tracer | None = None, concurrency: int = 32) -> None:
        self._handler = handler
        self._dead_letters = dead_letters
        self._retry = retry or RetryPolicy()
        self._namespace = namespace
        self._tracer = tracer or trace.get_tracer(__name__)
        self._concurrency = concurrency

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Every message of the batch handled or dead-lettered, each record's in order; raises
        only when a dead letter could not be sent (the batch is then delivered again)."""
        gate = asyncio.Semaphore(self._concurrency)

        async def lane(messages: list[ConsumerRecord[bytes, bytes]]) -> None:
            async with gate:
                for record in messages:
                    await self.process_traced(record)

        async with asyncio.TaskGroup() as group:
            for messages in lanes(records):
                group.create_task(lane(messages))

    async def process_traced(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One message inside its own consumer span, continuing the trace that sent it."""
        with trace.use_span(self._span(record), end_on_exit=True):
            await self.process(record)

    def _span(self, record: ConsumerRecord[bytes, bytes]) -> trace.Span:
        carrier = {name: value.decode("utf-8", "replace") for name, value in record.headers or ()}
        return self._tracer.start_span(
            f"{record.topic} process", context=_propagator.extract(carrier),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.operation": "process",
                        "messaging.destination.name": record.topic,
                        "messaging.kafka.destination.partition": record.partition,
                        "messaging.kafka.message.offset": record.offset})

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        envelope = await self._decode(record)
        if envelope is not None:
            await self._handle(record, envelope)

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Envelope[Any] | None:
        """The message's event, or None once it is dead-lettered as unreadable."""
        try:
            envelope = decode(record.key, record.value or b"", list(record.headers or ()))
        except ContractError as error:
            await self._dead_letters.send(record, error.reason, str(error))
            return None
        span = trace.get_current_span()
        span.set_attribute("motcua.record_id", envelope.record_id)
        span.set_attribute("motcua.event_type", envelope.type)
        span.set_attribute("cloudevents.event_id", envelope.id)
        return envelope

    def _delivery(self, record: ConsumerRecord[bytes, bytes]) -> Delivery:
        return Delivery(record.topic.removeprefix(self._namespace), record.partition,
                        record.offset)

    async def _handle(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope[Any]) -> None:
        delivery = self._delivery(record)
        attempt = 0
        unexpected = 0
        while True:
            attempt += 1
            try:
                await self._handler(envelope, delivery)
                return
            except PoisonMessage as error:
                await self._dead_letters.send(record, error.reason, error.detail)
                return
            except Exception as error:
                if not is_transient(error):
                    unexpected += 1
                    if unexpected >= self._retry.unexpected_attempts:
                        log.exception("handler failed; dead-lettering", extra={
                            "event_id": envelope.id, "event_type": envelope.type})
                        await self._dead_letters.send(
                            record, "handler_failed", f"{type(error).__name__} after {unexpected} attempts")
                        return
                delay = self._retry.delay(attempt)
                log.warning("handler failed, retrying", extra={
                    "event_id": envelope.id, "attempt": attempt, "error": type(error).__name__,
                    "retry_in_s": round(delay, 2)})
                await asyncio.sleep(delay)


class BatchProcessor(EventProcessor):
    """The per-batch decision: decode all (the unreadable dead-lettered one by one), hand the
    rest to the handler at once, dead-letter what it refused.

    A transient failure retries the whole batch (the handler is idempotent), for as long as it
    takes. An unexpected failure falls back to handling the messages one by one, each with its
    own attempts, so one poison message is isolated and dead-lettered and the others pass.
    """

    def __init__(self, handler: BatchHandler, dead_letters: DeadLetters,
                 retry: RetryPolicy | None = None, *, namespace: str = "",
                 tracer: trace.Tracer | None = None) -> None:
        super().__init__(self._single, dead_letters, retry, namespace=namespace, tracer=tracer)
        self._batch_handler = handler

    async def _single(self, envelope: Envelope[Any], delivery: Delivery) -> None:
        refused = await self._batch_handler([Incoming(envelope, delivery, current_traceparent())])
        if refused:
            raise refused[0].poison

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        spans: list[trace.Span] = []
        decoded: list[tuple[ConsumerRecord[bytes, bytes], trace.Span, Incoming]] = []
        try:
            for record in records:
                span = self._span(record)
                spans.append(span)
                with trace.use_span(span, end_on_exit=False):
                    envelope = await self._decode(record)
                    if envelope is not None:
                        decoded.append((record, span, Incoming(
                            envelope, self._delivery(record), current_traceparent())))
            if decoded:
                await self._handle_batch(decoded)
        finally:
            for span in spans:
                span.end()

    async def _handle_batch(
            self, decoded: list[tuple[ConsumerRecord[bytes, bytes], trace.Span, Incoming]]) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                refused = await self._batch_handler([incoming for _, _, incoming in decoded])
                break
            except Exception as error:
                if not is_transient(error):
                    log.warning("batch handler failed; handling the batch message by message",
                                extra={"messages": len(decoded), "error": type(error).__name__})
                    for record, span, incoming in decoded:
                        with trace.use_span(span, end_on_exit=False):
                            await self._handle(record, incoming.envelope)
                    return
                delay = self._retry.delay(attempt)
                log.warning("batch handler failed, retrying", extra={
                    "messages": len(decoded), "attempt": attempt, "error": type(error).__name__,
                    "retry_in_s": round(delay, 2)})
                await asyncio.sleep(delay)
        where = {id(incoming): (record, span) for record, span, incoming in decoded}
        for refusal in refused:
            record, span = where[id(refusal.incoming)]
            with trace.use_span(span, end_on_exit=False):
                await self._dead_letters.send(record, refusal.poison.reason, refusal.poison.detail)
