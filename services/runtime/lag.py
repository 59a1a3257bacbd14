"""Consumer lag of a service's own groups: messages each group has yet to read, per partition."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import topics as contract_topics

from .sampled import Samples
from .settings import ServiceSettings

LAG_METRIC = "motcua_kafka_consumer_lag_messages"
LAG_LABELS = ("group", "topic", "partition")
_CLOSE_S = 5.0


@dataclass
class GroupReads:
    """What one consumer group reads, by logical name: topics, and per-department families
    (matched against the cluster's topics at each read, as the subscription matches them)."""

    topics: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)

    def covers(self, logical: str) -> bool:
        return logical in self.topics or any(
            re.match(contract_topics.family_pattern(marker), logical) for marker in self.families)


class LagReader:
    """Committed offsets against end offsets, with the service's own principal: READ on its
    groups (which implies DESCRIBE: the offset fetch) and on its topics (the end offsets).

    A partition the group never committed on counts from the log start: the consumers start
    there (`auto_offset_reset="earliest"`). Clients are kept between reads (a SCRAM login costs
    a key derivation) and dropped after a failure, so the next read starts afresh."""

    def __init__(self, settings: ServiceSettings, groups: Mapping[str, GroupReads]) -> None:
        self._settings = settings
        self._groups = groups
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._one_at_a_time = asyncio.Lock()

    async def read(self) -> Samples:
        """`(group, topic, partition)` (logical names) to the messages not yet consumed."""
        async with self._one_at_a_time:
            try:
                return await self._read()
            except BaseException:
                await self.close()
                raise

    async def _read(self) -> Samples:
        admin, consumer = await self._connected()
        namespace = self._settings.topic_namespace
        named = {name for reads in self._groups.values() for name in reads.topics}
        if any(reads.families for reads in self._groups.values()):  # then ask for every topic
            named |= {name.removeprefix(namespace) for name in await admin.list_topics()
                      if name.startswith(namespace)}
        partitions: dict[str, list[TopicPartition]] = {}
        for found in await admin.describe_topics([self._settings.topic(name) for name in named]):
            if found["error_code"] == 0:  # a topic not created yet has no lag to show
                partitions[found["topic"].removeprefix(namespace)] = [
                    TopicPartition(found["topic"], p["partition"]) for p in found["partitions"]]
        every = [tp for tps in partitions.values() for tp in tps]
        if not every:
            return {}
        ends = await consumer.end_offsets(every)
        starts = await consumer.beginning_offsets(every)
        samples: dict[tuple[str, ...], float] = {}
        for group, reads in self._groups.items():
            committed = await admin.list_consumer_group_offsets(self._settings.group(group))
            for name in sorted(name for name in partitions if reads.covers(name)):
                for tp in partitions[name]:
                    done = committed.get(tp)
                    position = max(done.offset if done is not None else -1, starts[tp])
                    samples[(group, name, str(tp.partition))] = float(max(ends[tp] - position, 0))
        return samples

    async def _connected(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            await self.close()
            options = self._settings.kafka_access().client_options()
            client_id = f"motcua-{self._settings.service_name}-lag"
            admin = AIOKafkaAdminClient(**options, client_id=client_id)
            consumer = AIOKafkaConsumer(**options, client_id=client_id, group_id=None,
                                        enable_auto_commit=False)
            self._admin, self._consumer = admin, consumer
            await admin.start()
            await consumer.start()
        return self._admin, self._consumer

    async def close(self) -> None:
        """Bounded: closing towards a broker that is gone must not hold the next read."""
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        with contextlib.suppress(Exception):
            if consumer is not None:
                await asyncio.wait_for(consumer.stop(), _CLOSE_S)
        with contextlib.suppress(Exception):
            if admin is not None:
                await asyncio.wait_for(admin.close(), _CLOSE_S)
