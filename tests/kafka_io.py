"""Plain aiokafka helpers for tests: read what a topic holds, write raw bytes to it, as the
principal given (the superuser for a harness, a department to probe its limits)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition

from services.runtime.kafka_access import KafkaAccess


async def read_topic(kafka: KafkaAccess, topic: str, *, count: int, timeout: float = 30.0
                     ) -> list[ConsumerRecord[bytes, bytes]]:
    """At least `count` records from the start of `topic` (fails the test by timeout otherwise)."""
    consumer = AIOKafkaConsumer(
        topic, **kafka.client_options(), group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for partition_records in batch.values():
                    records.extend(partition_records)
    except TimeoutError:
        raise AssertionError(
            f"expected {count} records on {topic}, found {len(records)} in {timeout}s") from None
    finally:
        await consumer.stop()
    return records


async def held(kafka: KafkaAccess, topics: Sequence[str], *, timeout: float = 60.0
               ) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
    """Everything `topics` hold now, read to their end offsets by a reader without a group (no
    join to wait for, no quiet spell to guess): for counting once the writers have finished."""
    found: dict[str, list[ConsumerRecord[bytes, bytes]]] = {topic: [] for topic in topics}
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [TopicPartition(topic["topic"], partition["partition"]) for topic in described
                  if topic["error_code"] == 0 for partition in topic["partitions"]]
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            pending = {tp for tp in partitions if ends[tp] > 0}
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=250)
                for tp, records in batch.items():
                    found[tp.topic].extend(r for r in records if r.offset < ends[tp])
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return found


async def write_raw(kafka: KafkaAccess, topic: str, value: bytes, *, key: bytes | None = None,
                    headers: Sequence[tuple[str, bytes]] = ()) -> None:
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=list(headers))
    finally:
        await producer.stop()


async def drain_topic(kafka: KafkaAccess, topic: str, *, idle: float = 2.0, timeout: float = 60.0
                      ) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything `topic` holds once nothing new arrived for `idle` seconds."""
    consumer = AIOKafkaConsumer(
        topic, **kafka.client_options(), group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() < deadline and loop.time() - quiet_since < idle:
            batch = await consumer.getmany(timeout_ms=250)
            for partition_records in batch.values():
                records.extend(partition_records)
                quiet_since = loop.time()
    finally:
        await consumer.stop()
    return records


@contextlib.asynccontextmanager
async def watching(kafka: KafkaAccess, topic: str) -> AsyncIterator[Callable[[int], Awaitable[int]]]:
    """A reader already joined and at the start of `topic` before the test acts, so it sees
    the first records as they come (a new reader takes a second or more to join); it yields
    `until(count)`, which returns once at least `count` records were read."""
    consumer = AIOKafkaConsumer(
        topic, **kafka.client_options(), group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen = 0

    async def until(count: int) -> int:
        nonlocal seen
        while seen < count:
            batch = await consumer.getmany(timeout_ms=50)
            seen += sum(len(records) for records in batch.values())
        return seen

    try:
        async with asyncio.timeout(30):
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
        yield until
    finally:
        await consumer.stop()
