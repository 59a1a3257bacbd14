"""Never lose an accepted application: broker outages and a killed intake, on a broker we control."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import headers_dict
from deploy.access.authority import BrokerAuthority
from deploy.access.secrets import CredentialFile
from deploy.local.kafka import KafkaNode
from deploy.local.services import ServiceFleet
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.runtime.kafka_access import KafkaAccess
from tests.endpoints import Endpoints
from tests.kafka_io import read_topic
from tests.timeline import TEST_CLOCK_ENV

pytestmark = pytest.mark.integration


async def _published_codes(admin: KafkaAccess, topic: str, count: int) -> list[tuple[str, str]]:
    records = await read_topic(admin, topic, count=count, timeout=90)
    return [(r.key.decode(), headers_dict(r.headers)["ce_id"]) for r in records]


async def test_applications_accepted_while_kafka_is_down_are_published_when_it_is_back(
    kafka: KafkaNode, make_settings: Callable[..., Any], endpoints: Endpoints,
    make_application: Callable[..., dict[str, Any]],
) -> None:
    settings: IntakeSettings = make_settings(
        IntakeSettings, KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        KAFKA_SASL_PASSWORD=kafka.superuser_password)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://i",
                                   headers=endpoints.all_roles())
        kafka.stop()
        responses = [await client.post("/applications", json=make_application(),
                                       headers={"Idempotency-Key": f"outage-{i}"})
                     for i in range(5)]
        assert [r.status_code for r in responses] == [201] * 5
        codes = sorted(r.json()["record_code"] for r in responses)
        db = app.state.runtime.db
        assert await db["records"].count_documents({"outbox_pending": True}) == 5
        kafka.start()
        published = await _published_codes(kafka.admin_access,
                                            settings.topic(topics.RECORDS_SUBMITTED), 5)
        assert sorted(code for code, _ in published) == codes
        async with asyncio.timeout(30):  # each event noted as sent, so no sweep sends it again
            while await db["records"].count_documents({"outbox_pending": False}) < 5:
                await asyncio.sleep(0.2)
        assert {doc["_id"]: doc["outbox_sent"] async for doc in db["records"].find(
            {}, {"outbox_sent": 1})} == {code: [1] for code in codes}
        await client.aclose()
        await app.state.runtime.mongo.drop_database(settings.mongodb_database)


async def test_killing_intake_between_write_and_publish_loses_nothing(
    kafka: KafkaNode, endpoints: Endpoints, unique: str, tmp_path: Path,
    make_application: Callable[..., dict[str, Any]],
) -> None:
    database = f"t{unique}_intake"
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
           "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
           "MOTCUA_ENVIRONMENT": "test", "INTAKE_MONGODB_DATABASE": database,
           "INTAKE_RELAY_LEASE_S": "1", "INTAKE_RELAY_SWEEP_S": "1",
           **TEST_CLOCK_ENV}
    fleet = ServiceFleet(env, tmp_path / "logs", names=("intake",),
                         authority=BrokerAuthority(kafka.admin_access,
                                                   CredentialFile(tmp_path / "credentials.json")),
                         issuer=endpoints.issuer)
    topic = f"t{unique}.{topics.RECORDS_SUBMITTED}"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri)
    try:
        first = fleet.start("intake")
        kafka.stop()
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30,
                                     headers=endpoints.all_roles()) as client:
            responses = [await client.post("/applications", json=make_application(),
                                           headers={"Idempotency-Key": f"kill-{i}"})
                         for i in range(5)]
        assert [r.status_code for r in responses] == [201] * 5
        codes = sorted(r.json()["record_code"] for r in responses)
        fleet.kill("intake")  # SIGKILL: the events are stored, none was published
        kafka.start()
        fleet.start("intake")
        published = await _published_codes(kafka.admin_access, topic, 5)
        assert sorted(code for code, _ in published) == codes

        # A crash after publishing but before marking leaves the event pending: it goes out
        # again with the same event id, which consumers deduplicate.
        fleet.kill("intake")
        await mongo[database]["records"].update_one(
            {"_id": codes[0]}, {"$set": {"outbox_pending": True, "outbox_sent": []}})
        fleet.start("intake")
        again = await _published_codes(kafka.admin_access, topic, 6)
        ids = {code: {event for c, event in again if c == code} for code in codes}
        assert len([c for c, _ in again if c == codes[0]]) == 2
        assert all(len(events) == 1 for events in ids.values())
    finally:
        fleet.stop_all()
        await mongo.drop_database(database)
        await mongo.close()
