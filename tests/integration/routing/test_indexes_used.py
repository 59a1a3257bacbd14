"""Every query routing sends on its hot paths uses an index (none scans a collection)."""

from __future__ import annotations

import asyncio

import pytest

from contracts.department.v1 import RecordAccepted, RecordReturnedMisrouted
from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.store import MongoRouteStore
from tests.integration.routing.conftest import Routing, find_case, submitted
from tests.query_plans import collection_scans, operations_profiled, profile_everything

pytestmark = pytest.mark.integration


async def test_routing_returns_and_acceptance_use_indexes(routing: Routing) -> None:
    client, database = routing.runtime.mongo, routing.settings.mongodb_database
    await profile_everything(client, database)
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code != MANUAL_QUEUE and len(d.candidates_left) >= 1)
    record, other = submitted(procedure, unit), submitted(procedure, unit)
    await routing.send(record)
    await routing.send(other)
    await routing.assignments(decision.department_code, 2)
    await routing.send(RecordReturnedMisrouted(record_code=record.record_code,
                                               department_code=decision.department_code, reason="not ours"))
    await routing.assignments(decision.candidates_left[0], 1)
    await routing.send(RecordAccepted(record_code=other.record_code,
                                      department_code=decision.department_code))
    await routing.send(record)  # a duplicate submission: already routed
    await routing.decisions(2)
    assert (await routing.client.get("/admin/tables/current")).status_code == 200
    seen = 0
    async with asyncio.timeout(30):  # until the acceptance and the duplicate are handled
        while (seen := await operations_profiled(client, database)) < 7:
            await asyncio.sleep(0.2)

    assert seen >= 7
    store = MongoRouteStore(lambda: routing.runtime.db)  # the start-up and table-change queries
    assert [doc async for doc in store.unsent()] == []
    assert len([doc async for doc in store.held_by({decision.candidates_left[0]})]) == 1
    assert await collection_scans(client, database) == []
