"""Plain aiokafka helpers for tests: read what a topic holds, write raw bytes to it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

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
