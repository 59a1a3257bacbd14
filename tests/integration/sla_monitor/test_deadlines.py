"""Deadlines through the running monitor on the real Kafka and MongoDB: alerts, pauses, closing."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from contracts.department import v1 as department
from contracts.envelope import Envelope
from contracts.sla.v1 import (
    ApologyDue,
    DeadlineBreached,
    DeadlineWarning,
    DelayExplanationRequested,
    EscalationRaised,
    RecordStuckInRouting,
)
from reference.localtime import to_local
from tests.integration.sla_monitor.conftest import (
    DEPARTMENT,
    SlaFactory,
    clock_at,
    local,
    new_record,
    routed,
)


def by_type(alerts: list[Envelope[Any]], code: str) -> dict[str, Any]:
    """The alerts of one record by payload class name; fails on a type seen twice."""
    found: dict[str, Any] = {}
    for alert in alerts:
        if alert.record_id != code:
            continue
        name = type(alert.data).__name__
        key = name if name != "EscalationRaised" else f"{name}-{alert.data.kind}-{alert.data.level}"
        assert key not in found, f"{key} published twice for {code}"
        found[key] = alert.data
    return found


async def test_warning_breach_and_both_escalations(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)  # due Mon 14 Dec 2026, 17:00
        code = record.record_code
        state = await sla.open_accepted(record)
        assert state["department_code"] == DEPARTMENT
        assert state["due_current_at"] == "2026-12-14T17:00:00+07:00"

        await sla.move_to(local(2026, 12, 11, 12))  # 1.6 working days left: not yet near
        await sla.settled()
        assert (await sla.deadline(code) or {})["alerts"] == []

        await sla.move_to(local(2026, 12, 14, 9))  # within the last working day
        near = by_type(await sla.alerts(2), code)
        assert set(near) == {"DeadlineWarning", "DelayExplanationRequested"}
        warning: DeadlineWarning = near["DeadlineWarning"]
        assert (warning.department_code, warning.record_code) == (DEPARTMENT, code)
        assert 0 < warning.remaining_working_hours <= 8
        request: DelayExplanationRequested = near["DelayExplanationRequested"]
        assert to_local(request.respond_by) == local(2026, 12, 14, 17)

        await sla.move_to(local(2026, 12, 14, 17, 30))  # the due time has passed
        late = by_type(await sla.alerts(5), code)
        assert {"DeadlineBreached", "EscalationRaised-late-1", "ApologyDue"} <= set(late)
        breach: DeadlineBreached = late["DeadlineBreached"]
        assert breach.department_code == DEPARTMENT and breach.lateness_working_days == 0
        head: EscalationRaised = late["EscalationRaised-late-1"]
        assert head.recipient_role == "department_head" and head.department_code == DEPARTMENT
        apology: ApologyDue = late["ApologyDue"]
        assert to_local(apology.appointment_original) == local(2026, 12, 14, 17)
        assert to_local(apology.new_appointment) == local(2026, 12, 16, 17)  # due + 2 working days
        state = await sla.deadline(code) or {}
        assert state["apology_appointment"] == "2026-12-16T17:00:00+07:00"
        assert state["due_original_at"] == "2026-12-14T17:00:00+07:00"

        await sla.move_to(local(2026, 12, 16, 17, 30))  # two working days after the breach
        everything = by_type(await sla.alerts(6), code)
        supervisor: EscalationRaised = everything["EscalationRaised-late-2"]
        assert supervisor.recipient_role == "provincial_supervisor"
        assert supervisor.lateness_working_days == 2
        assert supervisor.department_code == DEPARTMENT and supervisor.record_code == code

        assert len(await sla.all_alerts()) == 6  # nothing fired twice


async def test_delay_reported_gives_the_apology_its_date(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        await sla.open_accepted(record)
        await sla.move_to(local(2026, 12, 14, 9))
        await sla.alerts(2)  # the warning and the request for a reason
        await sla.send(department.DelayReported(
            record_code=code, department_code=DEPARTMENT, reason="Chờ kết quả xác minh của xã khác",
            new_appointment=local(2026, 12, 18, 17)))
        alerts = by_type(await sla.alerts(3), code)
        apology: ApologyDue = alerts["ApologyDue"]
        assert apology.reason == "Chờ kết quả xác minh của xã khác"
        assert to_local(apology.new_appointment) == local(2026, 12, 18, 17)
        assert to_local(apology.appointment_original) == local(2026, 12, 14, 17)
        state = await sla.deadline(code) or {}
        assert state["due_current_at"] == "2026-12-18T17:00:00+07:00"
        assert state["due_original_at"] == "2026-12-14T17:00:00+07:00"

        await sla.move_to(local(2026, 12, 15, 10))  # late against the receipt, not the new date
        assert "DeadlineBreached" not in by_type(await sla.all_alerts(idle=1.5), code)


async def test_closed_before_due_raises_nothing(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        await sla.open_accepted(record)
        await sla.move_to(local(2026, 12, 9, 15))
        await sla.send(department.RecordResolved(record_code=code, department_code=DEPARTMENT,
                                                 result_summary="Đã cấp giấy khai sinh",
                                                 electronic_result=True))
        state = await sla.wait_for(code, lambda d: d["status"] == "closed")
        assert state["closure"]["outcome"] == "early"
        assert state["next_fire_at"] is None
        await sla.move_to(local(2026, 12, 21, 10))
        assert await sla.all_alerts(idle=1.5) == []
        index = (await sla.client.get("/index")).json()
        assert index["departments"][DEPARTMENT]["done_early"] == 1
        assert index["departments"][DEPARTMENT]["on_time_rate_percent"] == 100.0


async def test_pause_across_tet_moves_the_due_date(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 2, 10, 9, 1))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 2, 10, 9), 5)  # 11, 12, 13, 23, 24 Feb: due Tue 24 Feb
        code = record.record_code
        await sla.open_accepted(record)
        await sla.move_to(local(2026, 2, 12, 10))
        await sla.send(department.SupplementRequested(
            record_code=code, department_code=DEPARTMENT, missing=("Bản sao giấy chứng sinh",),
            reason="Thiếu giấy chứng sinh"))
        paused = await sla.wait_for(code, lambda d: d["status"] == "paused")
        assert paused["next_fire_at"] is None  # a stopped clock makes nothing late
        await sla.move_to(local(2026, 2, 24, 15))  # past the receipt's date, still paused: no alert
        await sla.send(department.RecordSupplemented(record_code=code, department_code=DEPARTMENT))
        resumed = await sla.wait_for(code, lambda d: d["status"] == "open")
        # Working days strictly after 12 Feb up to the 24th: 13, 23, 24 (Tết in between): +3.
        assert resumed["due_current_at"] == "2026-02-27T17:00:00+07:00"
        assert resumed["due_original_at"] == "2026-02-27T17:00:00+07:00"
        assert [(p["paused_on"], p["resumed_on"]) for p in resumed["pauses"]] == [
            ("2026-02-12", "2026-02-24")]
        fired = [(a.type, a.data) for a in await sla.all_alerts(idle=1.5) if a.record_id == code]
        assert all(isinstance(data, DeadlineWarning) for _, data in fired), fired


async def test_pause_over_a_weekend_and_a_make_up_saturday(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 1, 5, 9, 1))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 1, 5, 9), 5)  # 6, 7, 8, 9 and Saturday 10 Jan (made up)
        code = record.record_code
        await sla.send(record)
        state = await sla.wait_for(code, lambda d: True)
        assert state["due_current_at"] == "2026-01-10T17:00:00+07:00"
        await sla.move_to(local(2026, 1, 8, 14))
        await sla.send(department.SupplementRequested(
            record_code=code, department_code=DEPARTMENT, missing=("Tờ khai",), reason="Thiếu tờ khai"))
        await sla.wait_for(code, lambda d: d["status"] == "paused")
        await sla.move_to(local(2026, 1, 12, 8, 30))
        await sla.send(department.RecordSupplemented(record_code=code, department_code=DEPARTMENT))
        resumed = await sla.wait_for(code, lambda d: d["status"] == "open")
        # Paused days 9, Sat 10 (worked) and Mon 12 Jan: Sat 10 + 3 working days = Wed 14 Jan.
        assert resumed["due_current_at"] == "2026-01-14T17:00:00+07:00"
        assert date.fromisoformat(resumed["pauses"][0]["resumed_on"]) == date(2026, 1, 12)


async def test_stuck_and_manual_routing_escalate_as_misrouted(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        stuck = new_record(local(2026, 12, 7, 8, 30), 10)
        manual = new_record(local(2026, 12, 7, 8, 30), 10)
        await sla.send(stuck)
        await sla.send(routed(stuck))
        await sla.send(manual)
        await sla.send(routed(manual, "MOT-CUA-TINH", decision="manual"))
        first = by_type(await sla.alerts(1), manual.record_code)
        escalation: EscalationRaised = first["EscalationRaised-misrouted-1"]
        assert escalation.recipient_role == "one_stop_office_supervisor"
        assert escalation.department_code == "MOT-CUA-TINH"

        await sla.move_to(local(2026, 12, 7, 17, 10))  # 8 h 30 min of the working day have passed
        # Read until the stuck record's own alerts are in: the manual record may have more of its
        # own by now, which a count of the topic's first three would take instead.
        wanted = {"RecordStuckInRouting", "EscalationRaised-misrouted-1"}
        alerts: dict[str, Any] = {}
        async with asyncio.timeout(30):
            while set(alerts) != wanted:
                alerts = by_type(await sla.all_alerts(idle=0.5), stuck.record_code)
        assert set(alerts) == wanted
        report: RecordStuckInRouting = alerts["RecordStuckInRouting"]
        assert report.department_code == DEPARTMENT and report.waited_working_hours >= 8
        assert alerts["EscalationRaised-misrouted-1"].recipient_role == "one_stop_office_supervisor"
