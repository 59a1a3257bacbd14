"""The four services as processes on the test's endpoints, and what crash tests do with them.

Each service gets its own database, and topics and consumer groups under the test's namespace,
so tests that share the broker (and other sessions on it) never share a group or a collection;
each authenticates as its own principal, with ACLs for that namespace only.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from contracts.envelope import decode, headers_dict
from contracts.notifications.v1 import NotificationOutcome
from deploy.local.services import SERVICES, ServiceFleet
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.examples import application
from services.runtime.kafka_access import KafkaAccess
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic
from tests.timeline import TEST_CLOCK_ENV

MARITAL_STATUS = "9.000026.000.00.00.H40"
"""A commune procedure of 3 working days: no SLA alert is due for days after the morning (a
same-day procedure would be warned at once, before or after a test moves the clock)."""


def fleet(endpoints: Endpoints, unique: str, logs: Path, **extra: str) -> ServiceFleet:
    """The four services on the test clock from MORNING, isolated by `unique`; `extra` overrides
    (a test's own broker: set the fleet's `authority` to that broker's)."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
           "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
           "MOTCUA_ENVIRONMENT": "test", "KAFKA_METADATA_MAX_AGE_S": "1", **TEST_CLOCK_ENV,
           "LOG_LEVEL": "WARNING"}
    for name, (prefix, _) in SERVICES.items():
        env[f"{prefix}MONGODB_DATABASE"] = database(unique, name)
    return ServiceFleet({**env, **extra}, logs, preferred_ports=False,
                        authority=endpoints.authority, issuer=endpoints.issuer)


def database(unique: str, service: str) -> str:
    return f"t{unique}_{service}"


async def start(services: ServiceFleet, *names: str) -> None:
    """Start `names` side by side (each waits for its own readiness)."""
    await asyncio.gather(*(asyncio.to_thread(services.start, name) for name in names))


async def drop_databases(endpoints: Endpoints, unique: str) -> None:
    """The services' databases of this test, so that a long session's mongod stays small."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri)
    try:
        for name in SERVICES:
            await client.drop_database(database(unique, name))
    finally:
        await client.close()


def applications(count: int, unique: str, *, seed: int, preferred: str | None = None
                 ) -> list[dict[str, Any]]:
    """Valid applications for a certificate of marital status, each applicant with an email
    address of their own (a shared address would fold or rate-limit their notices together)."""
    procedure, units, rng = load_catalog().get(MARITAL_STATUS), load_units(), random.Random(seed)
    bodies = []
    for n in range(count):
        body = application(procedure, units, rng)
        body["applicant"]["email"] = f"nguoi.nop{n}.{unique}@example.vn"
        if preferred is not None:
            body["applicant"]["preferred_channel"] = preferred
        bodies.append(body)
    return bodies


async def submit(intake_url: str, bodies: Iterable[dict[str, Any]], headers: dict[str, str], *,
                 concurrency: int = 4) -> list[str]:
    """POST each application to intake, a few at a time as a portal would; the codes."""
    gate = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        async with gate:
            answer = await client.post("/applications", json=body,
                                       headers={"Idempotency-Key": str(uuid.uuid4())})
        assert answer.status_code == 201, answer.text
        code: str = answer.json()["record_code"]
        return code

    async with httpx.AsyncClient(base_url=intake_url, timeout=30, headers=headers) as client:
        return list(await asyncio.gather(*(one(client, body) for body in bodies)))


async def routed_deadlines(sla_url: str, codes: list[str], headers: dict[str, str]
                           ) -> dict[str, dict[str, Any]]:
    """Each record's deadline once the SLA monitor knows its department (polls until then)."""
    found: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=sla_url, timeout=30, headers=headers) as client:
        while len(found) < len(codes):
            for code in [c for c in codes if c not in found]:
                response = await client.get(f"/deadlines/{code}")
                if response.status_code == 200 and response.json()["department_code"]:
                    found[code] = response.json()
            if len(found) < len(codes):
                await asyncio.sleep(0.5)
    return found


async def distinct_ids(admin: KafkaAccess, topic: str) -> set[str]:
    """Event ids on `topic` (CloudEvents `ce_id` header), copies counted once."""
    return {headers_dict(r.headers)["ce_id"] for r in await drain_topic(admin, topic, idle=0.5)}


async def outcomes(admin: KafkaAccess, topic: str) -> dict[str, str]:
    """Notification id -> outcome event type, of every outcome the notifier published so far."""
    found: dict[str, str] = {}
    for record in await drain_topic(admin, topic, idle=0.5):
        envelope = decode(record.key, record.value, record.headers)
        found[envelope.narrow(NotificationOutcome).data.notification_id] = envelope.type
    return found
