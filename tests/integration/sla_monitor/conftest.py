"""An SLA monitor in this process on the real stack, with a test clock the test moves."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.department import v1 as department
from contracts.envelope import Envelope, decode
from contracts.records.v1 import RecordRouted, RecordSubmitted
from contracts.samples import record_submitted
from reference.calendar import load_calendar
from reference.deadlines import appointment
from reference.localtime import VIETNAM
from services.runtime.clock import MovableClock, SystemClock
from services.sla_monitor.app import create_app
from services.sla_monitor.settings import SlaMonitorSettings
from tests.endpoints import Endpoints
from tests.in_process import InProcessService
from tests.kafka_io import drain_topic, read_topic

CALENDAR = load_calendar()
DEPARTMENT = "UBND-X-16681"
_numbers = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


def clock_at(instant: datetime) -> MovableClock:
    """A test clock showing `instant` now (and running on from there)."""
    return MovableClock(instant - SystemClock().now())


def new_record(accepted_at: datetime, processing_days: int, *, procedure_code: str | None = None
               ) -> RecordSubmitted:
    """A submission accepted at `accepted_at` whose receipt gives the calendar's due date."""
    when = appointment(accepted_at, processing_days, CALENDAR)
    code = f"000.00.21.H40-{accepted_at:%y%m%d}-{next(_numbers):04d}"
    sample = record_submitted()
    return sample.model_copy(update={
        "record_code": code, "received_at": accepted_at, "accepted_at": accepted_at,
        "processing_days": processing_days, "appointment_original": when.due_at,
        "appointment_current": when.due_at,
        "procedure_code": procedure_code or sample.procedure_code})


def routed(record: RecordSubmitted, department_code: str = DEPARTMENT, *, attempt: int = 1,
           decision: str = "routed") -> RecordRouted:
    return RecordRouted(record_code=record.record_code, procedure_code=record.procedure_code,
                        department_code=department_code,
                        department_topic=topics.department_topic(department_code),
                        decision=decision,
                        reason="test routing", rule_version=2, attempt=attempt, candidates_left=(),
                        administrative_unit_code=record.administrative_unit_code)


def accepted(record: RecordSubmitted, department_code: str = DEPARTMENT) -> department.RecordAccepted:
    return department.RecordAccepted(record_code=record.record_code, department_code=department_code)


@dataclass
class Sla(InProcessService):
    settings: SlaMonitorSettings = field(kw_only=True)

    async def open_accepted(self, record: RecordSubmitted) -> dict[str, Any]:
        """Submit, route to DEPARTMENT and accept a record; its deadline once the acceptance is
        in (a test moving the clock before then would rightly see it stuck in routing)."""
        await self.send(record)
        await self.send(routed(record))
        await self.send(accepted(record))
        return await self.wait_for(record.record_code, lambda d: d["accepted"])

    async def deadline(self, code: str) -> dict[str, Any] | None:
        response = await self.client.get(f"/deadlines/{code}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def wait_for(self, code: str, check: Callable[[dict[str, Any]], bool],
                       timeout: float = 30) -> dict[str, Any]:
        """The record's deadline once `check` holds (fails the test after `timeout`)."""
        last: dict[str, Any] | None = None
        async with asyncio.timeout(timeout):
            while True:
                last = await self.deadline(code)
                if last is not None and check(last):
                    return last
                await asyncio.sleep(0.2)
        raise AssertionError(f"deadline of {code} never satisfied the check; last {last}")

    async def move_to(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.app.state.scheduler.wake()

    async def settled(self) -> None:
        """Wait until the scheduler has looked for due deadlines twice since this call."""
        async def passes() -> float:
            text = (await self.client.get("/metrics")).text
            line = next(x for x in text.splitlines() if x.startswith("motcua_sla_due_query_seconds_count"))
            return float(line.split()[1])

        before = await passes()
        async with asyncio.timeout(30):
            while await passes() < before + 2:
                await asyncio.sleep(0.05)

    async def alerts(self, count: int, timeout: float = 30) -> list[Envelope[Any]]:
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.SLA_ALERTS), count=count, timeout=timeout)
        return [decode(r.key, r.value, r.headers) for r in records]

    async def all_alerts(self, idle: float = 2.0) -> list[Envelope[Any]]:
        records = await drain_topic(self.endpoints.kafka,
                                    self.settings.topic(topics.SLA_ALERTS), idle=idle)
        return [decode(r.key, r.value, r.headers) for r in records]

    async def refusals(self, code: str) -> list[dict[str, Any]]:
        response = await self.client.get("/refusals", params={"record_code": code})
        response.raise_for_status()
        body: list[dict[str, Any]] = response.json()
        return body


SlaFactory = Callable[..., AbstractAsyncContextManager[Sla]]


@pytest.fixture
def sla_service(make_settings: Callable[..., Any], endpoints: Endpoints) -> SlaFactory:
    @asynccontextmanager
    async def start(clock: MovableClock, settings: SlaMonitorSettings | None = None,
                    **overrides: Any) -> AsyncIterator[Sla]:
        built: SlaMonitorSettings = settings or make_settings(
            SlaMonitorSettings, **{"tick_s": 0.2, "claim_lease_s": 2.0, "sweep_s": 1.0, **overrides})
        app = create_app(built, clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sla",
                                         headers=endpoints.all_roles()) as client:
                yield Sla(app, client, endpoints, clock, settings=built)
    return start


