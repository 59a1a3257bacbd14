"""Each alert fires once: two instances racing on one store, and a monitor killed mid-batch."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Envelope, decode, encode, headers_dict
from contracts.payload import EventPayload
from deploy.local.services import ServiceFleet
from services.runtime.kafka_access import KafkaAccess
from services.sla_monitor.settings import SlaMonitorSettings
from tests.endpoints import Endpoints
from tests.integration.sla_monitor.conftest import (
    SlaFactory,
    accepted,
    clock_at,
    local,
    new_record,
    routed,
)
from tests.kafka_io import drain_topic, watching

LATE_ALERTS = {"vn.motcua.sla.deadline-breached", "vn.motcua.sla.escalation-raised",
               "vn.motcua.sla.apology-due"}
"""Two days after the due time every record owes: breach, both escalations and the apology."""


def journeys(count: int) -> list[EventPayload]:
    """Submitted, routed and accepted events of `count` records due Mon 14 Dec 2026 17:00."""
    events: list[EventPayload] = []
    for _ in range(count):
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        events += [record, routed(record), accepted(record)]
    return events


async def publish(admin: KafkaAccess, settings: SlaMonitorSettings, payloads: list[EventPayload]) -> None:
    producer = AIOKafkaProducer(**admin.client_options(), acks="all")
    await producer.start()
    try:
        for payload in payloads:
            message = encode(Envelope.wrap(payload, source="/motcua/test", time=local(2026, 12, 7, 8, 31)))
            await producer.send(settings.topic(payload.topic), message.value, key=message.key,
                                headers=message.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def test_two_instances_fire_each_alert_once(
        sla_service: SlaFactory, make_settings: Callable[..., Any], endpoints: Endpoints) -> None:
    settings: SlaMonitorSettings = make_settings(
        SlaMonitorSettings, tick_s=0.1, batch_size=25, claim_lease_s=60.0, sweep_s=60.0)
    records = 40
    one, two = clock_at(local(2026, 12, 7, 8, 31)), clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(one, settings) as first, sla_service(two, settings) as second:
        await publish(endpoints.kafka, settings, journeys(records))
        db = first.runtime.db
        async with asyncio.timeout(60):
            while await db["deadlines"].count_documents({"state.accepted": True}) < records:
                await asyncio.sleep(0.2)
        late = local(2026, 12, 16, 18)
        await asyncio.gather(first.move_to(late), second.move_to(late))
        alerts = await first.alerts(records * 4, timeout=90)
        alerts = await first.all_alerts(idle=3)
    ids = Counter(alert.id for alert in alerts)
    assert [event_id for event_id, n in ids.items() if n > 1] == []
    assert len(ids) == records * 4
    per_record = Counter(alert.record_id for alert in alerts)
    assert set(per_record.values()) == {4}
    assert {alert.type for alert in alerts} == LATE_ALERTS


async def test_killed_in_the_middle_of_a_batch_the_restart_fires_the_rest_once(
        endpoints: Endpoints, unique: str, tmp_path: Path, make_settings: Callable[..., Any]) -> None:
    records = 150
    database = f"t{unique}_sla"
    settings: SlaMonitorSettings = make_settings(SlaMonitorSettings, mongodb_database=database)
    env = {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
           "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": settings.topic_namespace,
           "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": "true",
           "MOTCUA_TEST_CLOCK_START": "2026-12-07T08:31:00+07:00", "SLA_MONGODB_DATABASE": database,
           "SLA_BATCH_SIZE": "10", "SLA_TICK_S": "0.2", "SLA_CLAIM_LEASE_S": "1", "SLA_SWEEP_S": "1"}
    fleet = ServiceFleet(env, tmp_path / "logs", names=("sla_monitor",),
                         authority=endpoints.authority, issuer=endpoints.issuer)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    alerts_topic = settings.topic(topics.SLA_ALERTS)
    admin = endpoints.kafka
    try:
        url = fleet.start("sla_monitor").base_url  # creates the topics it reads
        await publish(admin, settings, journeys(records))
        deadlines = mongo[database]["deadlines"]
        async with asyncio.timeout(90):
            while await deadlines.count_documents({"state.accepted": True}) < records:
                await asyncio.sleep(0.3)
        late = {"at": "2026-12-16T18:00:00+07:00"}
        async with watching(admin, alerts_topic) as until:
            async with httpx.AsyncClient(base_url=url, headers=endpoints.all_roles()) as client:
                (await client.post("/test-clock/set", json=late)).raise_for_status()
            async with asyncio.timeout(90):  # let some batches out, then kill -9
                await until(40)
            fleet.kill("sla_monitor")
        before_restart = len(await drain_topic(admin, alerts_topic, idle=1.0))
        assert before_restart < records * 4, "the kill came too late to interrupt the firing"

        url = fleet.start("sla_monitor").base_url
        async with httpx.AsyncClient(base_url=url, headers=endpoints.all_roles()) as client:
            (await client.post("/test-clock/set", json=late)).raise_for_status()
        async with asyncio.timeout(120):
            while len({headers_dict(r.headers)["ce_id"]
                       for r in await drain_topic(admin, alerts_topic, idle=0.5)}) < records * 4:
                await asyncio.sleep(0.5)
        found = await drain_topic(admin, alerts_topic, idle=3.0)
        claims = mongo[database]["alert_claims"]
        async with asyncio.timeout(30):
            while await claims.count_documents({"pending": True}):
                await asyncio.sleep(0.3)
        assert await claims.count_documents({}) == records * 4
    finally:
        fleet.stop_all()
        await mongo.drop_database(database)
        await mongo.close()

    copies: dict[str, set[bytes]] = {}
    for record in found:
        copies.setdefault(headers_dict(record.headers)["ce_id"], set()).add(record.value)
    assert len(copies) == records * 4
    # At-least-once on the wire, once in effect: a copy resent after the kill is the same event.
    assert all(len(values) == 1 for values in copies.values())
    envelopes = [decode(r.key, r.value, r.headers) for r in found]
    per_record = Counter(e.record_id for e in {e.id: e for e in envelopes}.values())
    assert set(per_record.values()) == {4}
