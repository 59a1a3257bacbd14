"""Every query the SLA monitor sends on its hot paths uses an index (none scans a collection).

The Decision 766 index (`GET /index`) reads every deadline on purpose and is left out.
"""

from __future__ import annotations

import pytest

from contracts.department import v1 as department
from tests.integration.sla_monitor.conftest import DEPARTMENT, SlaFactory, clock_at, local, new_record
from tests.query_plans import collection_scans, operations_profiled, profile_everything

pytestmark = pytest.mark.integration


async def test_deadlines_pauses_alerts_and_reads_use_indexes(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        client, database = sla.runtime.mongo, sla.settings.mongodb_database
        await profile_everything(client, database)
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        await sla.open_accepted(record)
        await sla.send(department.SupplementRequested(
            record_code=code, department_code=DEPARTMENT, missing=("Tờ khai",), reason="Thiếu tờ khai"))
        await sla.wait_for(code, lambda d: d["status"] == "paused")
        await sla.send(department.RecordSupplemented(record_code=code, department_code=DEPARTMENT))
        await sla.wait_for(code, lambda d: d["status"] == "open")
        await sla.move_to(local(2026, 12, 14, 17, 30))  # warned and late: the scheduler fires
        await sla.alerts(3)
        await sla.settled()
        assert (await sla.client.get("/refusals", params={"record_code": code})).status_code == 200

        assert await operations_profiled(client, database) > 10
        assert await collection_scans(client, database) == []
