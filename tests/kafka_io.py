"""Plain aiokafka helpers for tests: read what a topic holds, write raw bytes to it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord


async def read_topic(bootstrap: str, topic: str, *, count: int, timeout: float = 30.0
                     ) -> list[ConsumerRecord[bytes, bytes]]:
    """At least `count` records from the start of `topic` (fails the test by timeout otherwise)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}",
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


async def write_raw(bootstrap: str, topic: str, value: bytes, *, key: bytes | None = None,
                    headers: Sequence[tuple[str, bytes]] = ()) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=list(headers))
    finally:
        await producer.stop()


async def drain_topic(bootstrap: str, topic: str, *, idle: float = 2.0, timeout: float = 60.0
                      ) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything `topic` holds once nothing new arrived for `idle` seconds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}",
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
async def watching(bootstrap: str, topic: str) -> AsyncIterator[Callable[[int], Awaitable[int]]]:
    """A reader already joined and at the start of `topic` before the test acts, so it sees
    the first records as they come (a new reader takes a second or more to join); it yields
    `until(count)`, which returns once at least `count` records were read."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}",
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
