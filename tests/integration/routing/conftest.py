"""A routing service in this process on the real stack, and helpers to feed it and read its output."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts import topics
from contracts.department.v1 import DepartmentUpdate, UpdateRefused
from contracts.department.v2 import RecordAssigned
from contracts.envelope import Envelope, EventPayload, decode
from contracts.records.v1 import RecordRouted, RecordSubmitted
from contracts.samples import record_submitted
from reference.catalog import Procedure, load_catalog
from reference.units import load_units
from services.routing.app import create_app
from services.routing.domain.decide import Decision, RouteInput, route
from services.routing.domain.table import RoutingTable
from services.routing.settings import RoutingSettings
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints
from tests.kafka_io import read_topic
from tests.timeline import MORNING

CATALOG = load_catalog()
UNITS = load_units()


@dataclass
class Routing:
    app: FastAPI
    client: httpx.AsyncClient
    settings: RoutingSettings
    endpoints: Endpoints

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    @property
    def table(self) -> RoutingTable:
        table: RoutingTable = self.app.state.versions.current
        return table

    async def send(self, payload: EventPayload, event_id: str | None = None, *,
                   sender: str | None = None, at: datetime | None = None) -> Envelope[Any]:
        """Publish as intake would, or a department update as `sender` (by default the
        department it names) would: on that department's own inbound topic."""
        envelope = Envelope.wrap(payload, source="/motcua/test", id=event_id,
                                 time=at or self.runtime.clock.now())
        topic = None
        if isinstance(payload, DepartmentUpdate):
            topic = topics.updates_topic(sender or payload.department_code)
            await self.runtime.ensure_topic(*topics.department_topics(sender or payload.department_code))
        await self.runtime.publisher.publish(envelope, topic)
        return envelope

    async def updates(self, count: int, timeout: float = 30) -> list[Envelope[Any]]:
        """What the gate forwarded, on the topic the other services read."""
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.DEPARTMENT_UPDATES), count=count,
                                   timeout=timeout)
        return [decode(r.key, r.value, r.headers) for r in records]

    async def feedback(self, department: str, count: int, timeout: float = 30
                       ) -> list[UpdateRefused]:
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.feedback_topic(department)),
                                   count=count, timeout=timeout)
        return [decode(r.key, r.value, r.headers).narrow(UpdateRefused).data for r in records]

    async def assignments(self, department: str, count: int, timeout: float = 30
                          ) -> list[Envelope[RecordAssigned]]:
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.department_topic(department)),
                                   count=count, timeout=timeout)
        return [decode(r.key, r.value, r.headers).narrow(RecordAssigned) for r in records]

    async def decisions(self, count: int, timeout: float = 30) -> list[RecordRouted]:
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.RECORDS_ROUTED), count=count,
                                   timeout=timeout)
        return [decode(r.key, r.value, r.headers).narrow(RecordRouted).data for r in records]


RoutingFactory = Callable[..., AbstractAsyncContextManager[Routing]]


@pytest.fixture
def routing_service(make_settings: Callable[..., Any], endpoints: Endpoints) -> RoutingFactory:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Routing]:
        settings: RoutingSettings = make_settings(RoutingSettings, **overrides)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://routing",
                                         headers=endpoints.all_roles()) as client:
                yield Routing(app, client, settings, endpoints)
    return start


@pytest.fixture
async def routing(routing_service: RoutingFactory) -> AsyncIterator[Routing]:
    async with routing_service() as service:
        yield service


_counter = iter(range(1, 10_000))


def submitted(procedure: Procedure, unit: str) -> RecordSubmitted:
    """A submitted record for a procedure and an administrative unit, with a fresh record code."""
    day = MORNING.strftime("%y%m%d")
    return record_submitted().model_copy(update={
        "record_code": f"000.00.21.H40-{day}-{next(_counter):04d}",
        "procedure_code": procedure.code, "procedure_name": procedure.name_vi,
        "administrative_unit_code": unit, "processing_level": procedure.handling_level})


def expected(table: RoutingTable, procedure: Procedure, unit: str) -> Decision:
    return route(RouteInput(procedure_code=procedure.code, agency_kind=procedure.agency_kind,
                            handling_level=procedure.handling_level,
                            administrative_unit_code=unit), table, UNITS)


def find_case(table: RoutingTable, want: Callable[[Decision], bool],
              units: list[str] | None = None) -> tuple[Procedure, str, Decision]:
    """A (procedure, unit) whose decision under `table` satisfies `want`."""
    rng = random.Random(3)
    candidates = units or [c.code for c in UNITS.communes]
    for procedure in CATALOG:
        for unit in rng.sample(candidates, min(20, len(candidates))):
            decision = expected(table, procedure, unit)
            if want(decision):
                return procedure, unit, decision
    raise AssertionError("no such case in the shipped tables")
