"""A batch is handled record by record in order, records side by side, every message once."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

from aiokafka.structs import ConsumerRecord

from contracts.envelope import Envelope, encode
from contracts.samples import record_submitted
from services.runtime.consumer import DeadLetters, Delivery, EventProcessor, lanes
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
