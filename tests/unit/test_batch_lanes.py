"""A batch is handled record by record in order, records side by side, every message once; or
handed whole to a batch handler, whose failures retry or isolate the poison."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, cast

from aiokafka.structs import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider
from pymongo.errors import AutoReconnect

from contracts.envelope import Envelope, encode
from contracts.samples import record_submitted
from services.runtime.consumer import (
    BatchProcessor,
    DeadLetters,
    Delivery,
    EventProcessor,
    Incoming,
    Refusal,
    RetryPolicy,
    lanes,
)
from services.runtime.errors import PoisonMessage
from tests.timeline import MORNING


def consumer_record(offset: int, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
                    ) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t.records.submitted.v1", 0, offset, 0, 0, key, value, None,
                          len(key or b""), len(value), headers)


def event_record(offset: int, code: str) -> tuple[ConsumerRecord[bytes, bytes], str]:
    envelope = Envelope.wrap(record_submitted(record_code=code), source="/test", time=MORNING)
    message = encode(envelope)
    return consumer_record(offset, message.key, message.value, list(message.headers)), envelope.id


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send(self, record: ConsumerRecord[bytes, bytes], reason: str, detail: str) -> None:
        self.sent.append((record.offset, reason))


def test_lanes_keep_each_records_order_and_put_keyless_messages_alone() -> None:
    records = [consumer_record(n, key, b"x", []) for n, key in
               enumerate([b"A", b"B", b"A", None, b"C", b"B", None])]
    assert [[r.offset for r in lane] for lane in lanes(records)] == [[0, 2], [1, 5], [3], [4], [6]]


async def test_a_batch_is_handled_in_each_records_order_with_records_side_by_side() -> None:
    codes = [f"000.00.21.H40-261124-000{n}" for n in range(1, 6)]
    rng = random.Random(3)
    batch = [event_record(offset, rng.choice(codes)) for offset in range(60)]
    handled: list[tuple[str, str]] = []
    running = 0
    overlap = 0

    async def handler(envelope: Envelope[Any], delivery: Delivery) -> None:
        nonlocal running, overlap
        running += 1
        overlap = max(overlap, running)
        await asyncio.sleep(rng.uniform(0, 0.004))
        handled.append((envelope.record_id, envelope.id))
        running -= 1

    dead = FakeDeadLetters()
    processor = EventProcessor(handler, cast(DeadLetters, dead), concurrency=4)
    poison = consumer_record(60, None, b"not an event", [])
    await processor.process_batch([record for record, _ in batch] + [poison])

    assert sorted(event_id for _, event_id in handled) == sorted(event_id for _, event_id in batch)
    for code in codes:  # each record's events in the order the batch had them
        wanted = [event_id for (record, event_id) in batch if record.key == code.encode()]
        assert [event_id for record_id, event_id in handled if record_id == code] == wanted
    assert 1 < overlap <= 4
    assert dead.sent == [(60, dead.sent[0][1])] and dead.sent[0][1]


async def test_a_batch_handler_gets_every_readable_event_at_once_and_its_refusals_are_dead_lettered(
        ) -> None:
    batch = [event_record(offset, f"000.00.21.H40-261124-000{offset}") for offset in range(1, 6)]
    calls: list[list[str]] = []

    async def handler(items: Sequence[Incoming]) -> list[Refusal]:
        calls.append([item.envelope.id for item in items])
        return [Refusal(items[1], PoisonMessage("unknown_procedure", "not in the catalogue"))]

    dead = FakeDeadLetters()
    processor = BatchProcessor(handler, cast(DeadLetters, dead))
    unreadable = consumer_record(6, None, b"not an event", [])
    await processor.process_batch([record for record, _ in batch] + [unreadable])

    assert calls == [[event_id for _, event_id in batch]]
    assert dead.sent[0][0] == 6  # the unreadable one, before the handler ran
    assert dead.sent[1] == (2, "unknown_procedure")
    assert len(dead.sent) == 2


async def test_a_transient_failure_retries_the_whole_batch_and_dead_letters_nothing() -> None:
    batch = [event_record(offset, f"000.00.21.H40-261124-000{offset}") for offset in range(1, 4)]
    calls = 0

    async def handler(items: Sequence[Incoming]) -> list[Refusal]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise AutoReconnect("primary stepped down")
        return []

    dead = FakeDeadLetters()
    processor = BatchProcessor(handler, cast(DeadLetters, dead),
                               RetryPolicy(initial_delay_s=0.001, max_delay_s=0.002))
    await processor.process_batch([record for record, _ in batch])
    assert calls == 3
    assert dead.sent == []


async def test_an_unexpected_failure_isolates_the_poison_and_passes_the_others() -> None:
    batch = [event_record(offset, f"000.00.21.H40-261124-000{offset}") for offset in range(1, 5)]
    poison_id = batch[2][1]
    handled: list[str] = []

    async def handler(items: Sequence[Incoming]) -> list[Refusal]:
        if any(item.envelope.id == poison_id for item in items):
            raise KeyError("a field the handler did not expect")
        handled.extend(item.envelope.id for item in items)
        assert all(item.traceparent for item in items)  # effects can join the message's trace
        return []

    dead = FakeDeadLetters()
    processor = BatchProcessor(handler, cast(DeadLetters, dead),
                               RetryPolicy(initial_delay_s=0.001, max_delay_s=0.002),
                               tracer=TracerProvider().get_tracer("test"))
    await processor.process_batch([record for record, _ in batch])
    assert handled == [event_id for _, event_id in batch if event_id != poison_id]
    assert dead.sent == [(3, "handler_failed")]
