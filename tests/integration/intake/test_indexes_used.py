"""Every query intake sends on its hot paths uses an index (none scans a collection)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from contracts.department.v1 import RecordAccepted
from contracts.envelope import Envelope
from contracts.records.v1 import RecordRouted
from tests.integration.intake.conftest import Intake
from tests.query_plans import collection_scans, operations_profiled, profile_everything

pytestmark = pytest.mark.integration


async def test_submit_replay_track_and_relay_use_indexes(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    client, database = intake.runtime.mongo, intake.settings.mongodb_database
    await profile_everything(client, database)
    body = make_application()
    first = await intake.submit(body, key="plans-1")
    assert first.status_code == 201, first.text
    assert (await intake.submit(body, key="plans-1")).status_code == 200  # the replay
    assert (await intake.submit(make_application(), key="plans-1")).status_code == 409
    assert (await intake.submit(make_application(), key="plans-2")).status_code == 201
    code = first.json()["record_code"]
    now = intake.runtime.clock.now()
    for payload in (
        RecordRouted(record_code=code, procedure_code=body["procedure_code"], department_code="CA-TINH",
                     department_topic="routed.CA-TINH.v1", decision="routed", reason="rule 12",
                     rule_version=1, attempt=1, candidates_left=(), administrative_unit_code="16681"),
        RecordAccepted(record_code=code, department_code="CA-TINH"),
    ):
        await intake.runtime.publisher.publish(Envelope.wrap(payload, source="/motcua/test", time=now))
    async with asyncio.timeout(30):
        while len((await intake.client.get(f"/records/{code}")).json()["history"]) < 3:
            await asyncio.sleep(0.2)
    await asyncio.sleep(1.5)  # a relay sweep and a few idle passes

    assert await operations_profiled(client, database) > 5  # the queries were profiled
    assert await collection_scans(client, database) == []
