"""Forged and untimely department updates change nothing anywhere; the holder's own do, once.

The four services as processes. Another department answers for a record it does not hold, the
holder answers an hour ahead of the clock, or resolves before accepting: routing refuses each on
the sender's feedback topic, and intake, the SLA monitor and the notifier never hear of them.
Then the holder's real answers go through, and all three services agree on them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts import topics
from contracts.department.v1 import (
    DepartmentUpdate,
    RecordAccepted,
    RecordResolved,
    UpdateRefused,
)
from contracts.envelope import Envelope, decode, encode, headers_dict
from deploy.local.sinks import Sinks
from services.runtime.kafka_access import KafkaAccess
from tests.endpoints import Endpoints
from tests.kafka_io import held, read_topic, write_raw

from .pipeline import applications, fleet, routed_deadlines, start, submit

pytestmark = pytest.mark.integration


async def test_only_the_holders_timely_updates_reach_the_services(
        endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    admin, namespace = endpoints.kafka, f"t{unique}."
    sinks = await Sinks().start()
    services = fleet(endpoints, unique, tmp_path / "logs", **sinks.notifier_env(),
                     NOTIFIER_FOLD_WINDOW_S="0.2")
    try:
        await start(services, "intake", "routing", "sla_monitor", "notifier")
        urls = {name: services.running[name].base_url for name in services.running}
        staff = endpoints.all_roles()
        [code] = await submit(urls["intake"], applications(1, unique, seed=14, preferred="email"),
                              staff)
        holder = (await routed_deadlines(urls["sla_monitor"], [code], staff))[code][
            "department_code"]
        other = "SO-TU-PHAP" if holder != "SO-TU-PHAP" else "SO-Y-TE"
        async with httpx.AsyncClient(timeout=10, headers=staff) as http:
            now = datetime.fromisoformat((await http.get(f"{urls['routing']}/test-clock")).json()["now"])

            async def answer(update: DepartmentUpdate, sender: str, at: datetime) -> Envelope[Any]:
                envelope = Envelope.wrap(update, source=f"/departments/{sender}", time=at)
                message = encode(envelope)
                await write_raw(admin, namespace + topics.updates_topic(sender), message.value,
                                key=message.key, headers=message.headers)
                return envelope

            done = RecordResolved(record_code=code, department_code=holder,
                                  result_summary="Đã cấp", electronic_result=True)
            await create_topics_of(admin, namespace, other)
            forged = [
                await answer(done.model_copy(update={"department_code": other}), other, now),
                await answer(RecordAccepted(record_code=code, department_code=holder), holder,
                             now + timedelta(hours=1)),
                await answer(done, holder, now + timedelta(seconds=1)),
            ]
            refused = [decode(r.key, r.value, r.headers).narrow(UpdateRefused).data
                       for topic in (other, holder)
                       for r in await read_topic(admin, namespace + topics.feedback_topic(topic),
                                                 count=1 if topic == other else 2)]
            assert sorted((r.refused_event_id, r.reason) for r in refused) == sorted(
                zip([f.id for f in forged], ["not_holder", "from_the_future", "not_allowed_now"],
                    strict=True))
            await asyncio.sleep(2)  # time enough for a wrongly forwarded update to be applied
            record = (await http.get(f"{urls['intake']}/records/{code}")).json()
            deadline = (await http.get(f"{urls['sla_monitor']}/deadlines/{code}")).json()
            assert record["status"] != "done" and deadline["status"] == "open"
            checked = namespace + topics.DEPARTMENT_UPDATES
            assert (await held(admin, [checked]))[checked] == []

            accepted = await answer(RecordAccepted(record_code=code, department_code=holder),
                                    holder, now + timedelta(seconds=2))
            resolved = await answer(done, holder, now + timedelta(seconds=3))
            async def templates() -> list[str]:
                found = (await http.get(f"{urls['notifier']}/deliveries",
                                        params={"record_code": code})).json()
                return sorted(d["template"] for d in found if d["status"] == "sent")

            async with asyncio.timeout(60):
                while (await http.get(f"{urls['sla_monitor']}/deadlines/{code}")
                       ).json()["status"] == "open":
                    await asyncio.sleep(0.3)
                while (await http.get(f"{urls['intake']}/records/{code}")).json()["status"] != "done":
                    await asyncio.sleep(0.3)
                while "result_ready" not in await templates():
                    await asyncio.sleep(0.3)
            forwarded = (await held(admin, [checked]))[checked]
            assert [headers_dict(r.headers)["ce_id"] for r in forwarded] == [accepted.id, resolved.id]
            assert (await templates()).count("result_ready") == 1
    finally:
        await asyncio.to_thread(services.stop_all)  # the sinks answer from this loop meanwhile
        await sinks.stop()


async def create_topics_of(admin: KafkaAccess, namespace: str, department: str) -> None:
    """Create a department's topics as routing would at its first assignment (this one holds
    nothing yet, so routing has not)."""
    client = AIOKafkaAdminClient(**admin.client_options())
    await client.start()
    try:
        existing = set(await client.list_topics())
        await client.create_topics([NewTopic(namespace + name, 3, 1)
                                   for name in topics.department_topics(department)
                                   if namespace + name not in existing])
    finally:
        await client.close()

