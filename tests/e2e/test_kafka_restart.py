"""The Kafka broker restarted while applications flow through intake and routing: nothing is lost."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from contracts import topics
from contracts.envelope import decode
from contracts.records.v1 import RecordRouted
from deploy.access.authority import BrokerAuthority
from deploy.access.secrets import CredentialFile
from deploy.local.kafka import KafkaNode
from deploy.local.services import ServiceFleet
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.examples import application
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic
from tests.timeline import TEST_CLOCK_ENV

pytestmark = pytest.mark.integration


async def submit(client: httpx.AsyncClient, bodies: list[dict[str, object]]) -> list[str]:
    codes = []
    for body in bodies:
        response = await client.post("/applications", json=body,
                                     headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
        codes.append(response.json()["record_code"])
    return codes


async def test_a_broker_restart_mid_stream_loses_no_record(
        kafka: KafkaNode, endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    catalog, units, rng = load_catalog(), load_units(), random.Random(5)
    bodies = [application(procedure, units, rng) for procedure in list(catalog) * 4][:120]
    fleet = ServiceFleet({"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                          "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
                          "MOTCUA_ENVIRONMENT": "test", "INTAKE_MONGODB_DATABASE": f"t{unique}_intake",
                          "ROUTING_MONGODB_DATABASE": f"t{unique}_routing",
                          "INTAKE_RELAY_SWEEP_S": "2", "INTAKE_RELAY_LEASE_S": "2", "LOG_LEVEL": "WARNING",
                          **TEST_CLOCK_ENV},
                         tmp_path / "logs", names=("intake", "routing"),
                         authority=BrokerAuthority(kafka.admin_access,
                                                   CredentialFile(tmp_path / "credentials.json")),
                         issuer=endpoints.issuer)
    routed_topic = f"t{unique}.{topics.RECORDS_ROUTED}"
    try:
        await asyncio.to_thread(fleet.start_all)
        async with httpx.AsyncClient(base_url=fleet.running["intake"].base_url, timeout=30,
                                     headers=endpoints.all_roles()) as client:
            codes = await submit(client, bodies[:40])
            kafka.stop()  # mid-stream: intake keeps accepting, its relay waits for the broker
            codes += await submit(client, bodies[40:80])
            await asyncio.to_thread(kafka.start)
            codes += await submit(client, bodies[80:])
        async with asyncio.timeout(180):
            while len({r.key for r in await drain_topic(kafka.admin_access, routed_topic,
                                                        idle=0.5)}) < len(codes):
                await asyncio.sleep(1)
        found = await drain_topic(kafka.admin_access, routed_topic, idle=2.0)
    finally:
        fleet.stop_all()

    decisions: dict[str, set[str]] = defaultdict(set)
    for record in found:
        envelope = decode(record.key, record.value, record.headers).narrow(RecordRouted)
        decisions[envelope.record_id].add(envelope.id)
    assert set(decisions) == set(codes)  # every accepted application was routed
    assert [code for code, ids in decisions.items() if len(ids) != 1] == []  # once each
