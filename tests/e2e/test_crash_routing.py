"""Routing killed with SIGKILL while 1,000 applications flow, then restarted: every record is
routed exactly once in effect (a decision resent after the kill carries its original id)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from benchmarks.routing import publish, records
from contracts import topics
from contracts.envelope import decode
from contracts.records.v1 import RecordRouted
from deploy.local.services import ServiceFleet
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic
from tests.timeline import TEST_CLOCK_ENV

pytestmark = pytest.mark.integration


async def test_routing_killed_mid_stream_routes_every_record_once(
        endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    count = 1000
    batch, _ = records(count, district_bound=0, seed=11)
    namespace = f"t{unique}."
    fleet = ServiceFleet({"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
                          "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": namespace,
                          "MOTCUA_ENVIRONMENT": "test", "ROUTING_MONGODB_DATABASE": f"t{unique}_routing",
                          "LOG_LEVEL": "WARNING",
                          # Small batches: with the default 500 the whole stream could be routed
                          # in two batches before the kill, and nothing would be interrupted.
                          "KAFKA_BATCH_MAX_RECORDS": "20", **TEST_CLOCK_ENV}, tmp_path / "logs",
                         names=("routing",), authority=endpoints.authority, issuer=endpoints.issuer)
    admin = endpoints.kafka
    routed_topic = namespace + topics.RECORDS_ROUTED
    try:
        await asyncio.to_thread(fleet.start, "routing")
        watcher = AIOKafkaConsumer(routed_topic, **admin.client_options(),
                                   group_id=f"watch-{unique}", auto_offset_reset="earliest")
        await watcher.start()
        try:
            await publish(admin, namespace + topics.RECORDS_SUBMITTED, batch)
            seen = 0
            async with asyncio.timeout(120):
                while seen < 100:  # some decisions out, most still to come: kill -9 now
                    seen += sum(len(rs) for rs in (await watcher.getmany(timeout_ms=50)).values())
            fleet.kill("routing")
        finally:
            await watcher.stop()
        before = {r.key for r in await drain_topic(admin, routed_topic, idle=1.0)}
        assert len(before) < count, "the kill came too late to interrupt the routing"

        await asyncio.to_thread(fleet.start, "routing")
        async with asyncio.timeout(240):
            while len({r.key for r in await drain_topic(admin, routed_topic, idle=0.5)}) < count:
                await asyncio.sleep(1)
        found = await drain_topic(admin, routed_topic, idle=2.0)
    finally:
        fleet.stop_all()

    decisions: dict[str, set[str]] = defaultdict(set)
    departments: dict[str, set[str]] = defaultdict(set)
    for record in found:
        envelope = decode(record.key, record.value, record.headers).narrow(RecordRouted)
        decisions[envelope.record_id].add(envelope.id)
        departments[envelope.record_id].add(envelope.data.department_code)
    assert set(decisions) == {r.record_code for r in batch}  # nothing lost
    assert [code for code, ids in decisions.items() if len(ids) != 1] == []  # one decision each
    assert [code for code, found_in in departments.items() if len(found_in) != 1] == []
