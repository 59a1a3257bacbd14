"""The SLA monitor killed with SIGKILL while it fires, then restarted: every alert goes out once in
effect, and each supervisor hears of each escalation once.

The whole pipeline runs as processes: applications enter through intake's HTTP API, routing
places them, nobody accepts them, and the monitor's clock is moved days past their due time, so
each record owes a burst of alerts at once. The monitor is killed in the middle of that burst and
restarted with its clock at the moved instant. (tests/integration/sla_monitor kills the monitor
alone, fed with synthetic events; here the alerts also travel on to the notifier and the sinks.)
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import datetime, time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from contracts import topics
from contracts.envelope import Envelope, EventPayload, decode, headers_dict
from contracts.notifications.v1 import NotificationSent
from contracts.sla.v1 import EscalationRaised
from deploy.local.sinks import Sinks
from reference.calendar import load_calendar
from reference.localtime import VIETNAM
from services.notifier.domain import notification_id
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic

from .pipeline import (
    applications,
    distinct_ids,
    drop_databases,
    fleet,
    outcomes,
    routed_deadlines,
    start,
    submit,
)

pytestmark = pytest.mark.integration

RECORDS = 30
BREACH = "vn.motcua.sla.deadline-breached"
ESCALATION = EscalationRaised.event_type
STUCK = "vn.motcua.sla.record-stuck-in-routing"
APOLOGY = "vn.motcua.sla.apology-due"
OWED = {(STUCK, None, None), (ESCALATION, "misrouted", 1), (BREACH, None, None),
        (ESCALATION, "late", 1), (ESCALATION, "late", 2), (APOLOGY, None, None)}
"""What a record routed but never accepted owes days after its due time, by (type, kind, level):
stuck in routing with its misrouted escalation, the breach, both late escalations, the apology.
Warnings and the delay request are moot once the due time has passed, so they never fire."""
OWED_RULES = {("stuck-routing", STUCK), ("stuck-routing", ESCALATION), ("breach", BREACH),
              ("escalation-1", ESCALATION), ("escalation-2", ESCALATION), ("apology", APOLOGY)}


def supervisors(sinks: Sinks) -> dict[str, Any]:
    """Every supervisory role reachable at the sinks: department heads and the provincial
    supervisor by email, the one-stop office by webhook."""
    return {"roles": {
        "department_head": [{"channel": "email", "address": "truong.phong@nghean.gov.vn"}],
        "provincial_supervisor": [{"channel": "email", "address": "chanh.vanphong@nghean.gov.vn"}],
        "one_stop_office_supervisor": [{"channel": "webhook", "address": sinks.webhook_url("motcua")}]}}


def alert_of(envelope: Envelope[EventPayload]) -> tuple[str, str, str | None, int | None]:
    """What makes an alert distinct, read from its content (not its id): record, type, and for an
    escalation its kind and level."""
    data = envelope.data
    if isinstance(data, EscalationRaised):
        return envelope.record_id, envelope.type, data.kind, data.level
    return envelope.record_id, envelope.type, None, None


def decoded(record: ConsumerRecord[bytes, bytes]) -> Envelope[EventPayload]:
    return decode(record.key, record.value, record.headers)


async def escalation_deliveries(notifier_url: str, codes: list[str], headers: dict[str, str]
                                ) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=notifier_url, timeout=30, headers=headers) as client:
        found: list[dict[str, Any]] = []
        for code in codes:
            response = await client.get("/deliveries", params={"record_code": code})
            response.raise_for_status()
            found += [d for d in response.json() if d["source_event_type"] == ESCALATION]
        return found


async def test_sla_monitor_killed_while_firing_sends_every_alert_once_in_effect(
        endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    admin, staff = endpoints.kafka, endpoints.all_roles()
    alerts_topic = f"t{unique}.{topics.SLA_ALERTS}"
    outcomes_topic = f"t{unique}.{topics.NOTIFICATION_OUTCOMES}"
    sinks = await Sinks().start()
    directory = supervisors(sinks)
    services = fleet(endpoints, unique, tmp_path / "logs", **sinks.notifier_env(),
                     NOTIFIER_SUPERVISORS_JSON=json.dumps(directory),
                     NOTIFIER_FOLD_WINDOW_S="1", NOTIFIER_RATE_LIMIT_MESSAGES="100",
                     NOTIFIER_TICK_S="0.2",
                     SLA_BATCH_SIZE="5", SLA_TICK_S="0.2", SLA_CLAIM_LEASE_S="1", SLA_SWEEP_S="1")
    try:
        await start(services, "intake", "routing", "sla_monitor", "notifier")
        intake, sla = services.running["intake"].base_url, services.running["sla_monitor"].base_url
        async with asyncio.timeout(60):
            codes = await submit(intake, applications(RECORDS, unique, seed=5), staff)
            deadlines = await routed_deadlines(sla, codes, staff)
        assert {d["routing_decision"] for d in deadlines.values()} == {"routed"}  # none manual
        expected = len(codes) * len(OWED)
        calendar = load_calendar()
        latest_due = max(datetime.fromisoformat(d["due_current_at"]) for d in deadlines.values())
        # Three working days after the latest due time: past the provincial escalation (two).
        late = datetime.combine(calendar.add_working_days(latest_due.date(), 3), time(9),
                                tzinfo=VIETNAM)

        watcher = AIOKafkaConsumer(alerts_topic, **admin.client_options(),
                                   group_id=f"watch-{unique}", auto_offset_reset="earliest")
        await watcher.start()
        try:
            async with asyncio.timeout(30):  # assigned before the burst, so the kill follows it
                while not watcher.assignment():
                    await watcher.getmany(timeout_ms=100)
            async with httpx.AsyncClient(base_url=sla, timeout=30, headers=staff) as client:
                (await client.post("/test-clock/set", json={"at": late.isoformat()})).raise_for_status()
            seen: set[str] = set()
            async with asyncio.timeout(60):
                while len(seen) < 30:  # a batch or so out, most still to fire: kill -9 now
                    for batch in (await watcher.getmany(timeout_ms=50)).values():
                        seen |= {headers_dict(r.headers)["ce_id"] for r in batch}
            services.kill("sla_monitor")
        finally:
            await watcher.stop()
        before = await distinct_ids(admin, alerts_topic)
        assert len(before) < expected, "the kill came too late to interrupt the firing"

        services.env["MOTCUA_TEST_CLOCK_START"] = late.isoformat()  # the restart's clock: moved
        sla = (await asyncio.to_thread(services.start, "sla_monitor")).base_url
        async with asyncio.timeout(60):
            while len(await distinct_ids(admin, alerts_topic)) < expected:
                await asyncio.sleep(0.5)
        found = await drain_topic(admin, alerts_topic, idle=2.0)
        async with httpx.AsyncClient(base_url=sla, timeout=30, headers=staff) as client:
            claims = {code: (await client.get(f"/deadlines/{code}")).json()["alerts"] for code in codes}

        # The notifier's share: every escalation to every address of its role, sent.
        owed = {notification_id(envelope.id, role, entry["channel"], entry["address"])
                for envelope in map(decoded, found) if isinstance(envelope.data, EscalationRaised)
                for role in [envelope.data.recipient_role] for entry in directory["roles"][role]}
        async with asyncio.timeout(60):
            while not owed <= set(sent := await outcomes(admin, outcomes_topic)):
                await asyncio.sleep(1)
        deliveries = await escalation_deliveries(services.running["notifier"].base_url, codes,
                                                 staff)
    finally:
        await asyncio.to_thread(services.stop_all)  # the sinks answer from this loop meanwhile
        await sinks.stop()
        await drop_databases(endpoints, unique)

    # Every alert owed, in effect once: one event id per distinct alert, copies identical.
    ids: dict[tuple[str, str, str | None, int | None], set[str]] = defaultdict(set)
    values: dict[str, set[bytes]] = defaultdict(set)
    for record in found:
        envelope = decoded(record)
        ids[alert_of(envelope)].add(envelope.id)
        values[envelope.id].add(record.value)
    assert set(ids) == {(code, *owed) for code in codes for owed in OWED}
    assert [alert for alert, found_ids in ids.items() if len(found_ids) != 1] == []
    assert [event_id for event_id, copies in values.items() if len(copies) != 1] == []
    # The monitor's own account agrees: each owed rule claimed once, and marked sent.
    for code, alerts in claims.items():
        assert sorted((a["rule"], a["event_type"]) for a in alerts) == sorted(OWED_RULES), code
        assert all(a["sent"] for a in alerts), code

    # Each escalation reached each supervisor address once: one delivery per (event, address),
    # sent, in a message the sinks received exactly once by its key. The notifier ran throughout,
    # so nothing justifies a copy at the sinks: a monitor's copy carries the same event id, which
    # the notifier's delivery insert drops.
    assert {d["notification_id"] for d in deliveries} == owed  # nothing more, nothing less
    assert [d for d in deliveries if d["status"] != "sent"] == []
    assert {sent[n] for n in owed} == {NotificationSent.event_type}
    received: dict[str, int] = defaultdict(int)
    for arrival in sinks.outbox.snapshot():
        received[arrival.key] += 1
    messages = {d["message_id"] for d in deliveries}
    assert [m for m in messages if received.get(m) != 1] == []
