"""Events that cannot apply are refused with a reason, change nothing, and stop nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from contracts.department import v1 as department
from tests.integration.sla_monitor.conftest import (
    DEPARTMENT,
    Sla,
    SlaFactory,
    accepted,
    clock_at,
    local,
    new_record,
    routed,
)


async def test_each_refusal_is_recorded_and_the_deadline_untouched(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        await sla.send(record)
        await sla.send(accepted(record))
        before = await sla.wait_for(code, lambda d: d["accepted"])

        supplemented = await sla.send(department.RecordSupplemented(record_code=code,
                                                                    department_code=DEPARTMENT))
        future = await sla.send(department.RecordResolved(
            record_code=code, department_code=DEPARTMENT, result_summary="Đã giải quyết",
            electronic_result=False), at=clock.now() + timedelta(days=3))
        good = await sla.send(department.SupplementRequested(
            record_code=code, department_code=DEPARTMENT, missing=("Tờ khai",), reason="Thiếu tờ khai"))
        paused = await sla.wait_for(code, lambda d: d["status"] == "paused")

        refusals = {r["event_id"]: r for r in await sla.refusals(code)}
        assert refusals[supplemented.id]["reason"] == "no_pending_supplement"
        assert refusals[future.id]["reason"] == "event_from_the_future"
        assert good.id not in refusals
        # Only the good event changed the deadline.
        assert paused["revision"] == before["revision"] + 1
        assert paused["due_current_at"] == before["due_current_at"]
        assert paused["closure"] is None

        await sla.send(department.RecordSupplemented(record_code=code, department_code=DEPARTMENT))
        await sla.send(department.RecordRejected(record_code=code, department_code=DEPARTMENT,
                                                 reason="Không đủ điều kiện"))
        closed = await sla.wait_for(code, lambda d: d["status"] == "closed")
        again = await sla.send(department.RecordResolved(
            record_code=code, department_code=DEPARTMENT, result_summary="Đã giải quyết",
            electronic_result=False))
        marker = await sla.send(department.DelayReported(
            record_code=code, department_code=DEPARTMENT, reason="Chờ xác minh",
            new_appointment=local(2026, 12, 30, 17)))
        await _wait_refused(sla, code, marker.id)
        refusals = {r["event_id"]: r for r in await sla.refusals(code)}
        assert refusals[again.id]["reason"] == "already_closed"
        after = await sla.deadline(code) or {}
        assert after["closure"] == closed["closure"] and after["revision"] == closed["revision"]


async def test_update_before_its_submission_is_parked_then_applied(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        early = await sla.send(routed(record))
        await sla.send(accepted(record))
        await _wait_refused(sla, code, early.id)
        assert await sla.deadline(code) is None
        refused = {r["event_id"]: r for r in await sla.refusals(code)}
        assert refused[early.id]["reason"] == "unknown_record" and refused[early.id]["parked"]

        await sla.send(record)
        state = await sla.wait_for(code, lambda d: d["accepted"])
        assert state["department_code"] == DEPARTMENT and state["routing_attempt"] == 1
        assert await sla.runtime.db["parked"].count_documents({"record_code": code}) == 0
        replayed = {r["event_id"]: r for r in await sla.refusals(code)}[early.id]
        assert (replayed["parked"], replayed["resolution"]) == (False, "applied after its submission")

        stranger = new_record(local(2026, 12, 7, 8, 30), 5)
        lost = await sla.send(accepted(stranger))
        await _wait_refused(sla, stranger.record_code, lost.id)
        assert await sla.deadline(stranger.record_code) is None


async def test_redelivered_events_apply_once(sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        first = await sla.send(record)
        await sla.send(record, event_id=first.id)
        request = department.SupplementRequested(record_code=code, department_code=DEPARTMENT,
                                                 missing=("Tờ khai",), reason="Thiếu tờ khai")
        sent = await sla.send(request)
        await sla.send(request, event_id=sent.id, at=sent.time)
        supplemented = department.RecordSupplemented(record_code=code, department_code=DEPARTMENT)
        sla.clock.advance(timedelta(hours=2))  # a little time between the two events
        back = await sla.send(supplemented)
        await sla.send(supplemented, event_id=back.id, at=back.time)
        state = await sla.wait_for(code, lambda d: d["status"] == "open" and d["pauses"])
        marker = await sla.send(department.RecordSupplemented(record_code=code, department_code=DEPARTMENT))
        await _wait_refused(sla, code, marker.id)
        state = await sla.deadline(code) or {}
        assert len(state["pauses"]) == 1
        assert state["revision"] == 3  # submitted, requested, supplemented: once each
        assert not [r for r in await sla.refusals(code) if r["reason"] == "already_submitted"]


async def _wait_refused(sla: Sla, code: str, event_id: str) -> None:
    async with asyncio.timeout(30):
        while event_id not in {r["event_id"] for r in await sla.refusals(code)}:
            await asyncio.sleep(0.2)


async def test_a_deadline_the_rules_cannot_fire_does_not_hold_up_the_others(
        sla_service: SlaFactory) -> None:
    clock = clock_at(local(2026, 12, 7, 8, 31))
    async with sla_service(clock) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        code = record.record_code
        await sla.send(record)
        await sla.wait_for(code, lambda d: True)
        deadlines = sla.runtime.db["deadlines"]
        good = await deadlines.find_one({"_id": code})
        assert good is not None
        broken = "not a record code"  # no alert can carry it: the contract refuses it
        await deadlines.insert_one({**good, "_id": broken, "state": {**good["state"], "record_code": broken}})
        unreadable = "000.00.21.H40-261207-9999"  # stored by some older or broken writer
        await deadlines.insert_one({**good, "_id": unreadable, "state": {"record_code": unreadable}})

        await sla.move_to(local(2026, 12, 14, 9))
        await sla.alerts(1)  # the warning (no department holds it: no request for a reason)
        assert [(a.record_id, a.type) for a in await sla.all_alerts(idle=1)] == [
            (code, "vn.motcua.sla.deadline-warning")]
        set_aside = await deadlines.find_one({"_id": broken})
        assert set_aside is not None and set_aside["next_fire_at"] > clock.now()
        left = await deadlines.find_one({"_id": unreadable})
        assert left is not None and left["next_fire_at"] > clock.now()
        metrics = (await sla.client.get("/metrics")).text
        assert "motcua_sla_fire_failures_total 2.0" in metrics


async def test_a_deadline_of_a_newer_build_is_a_503_not_a_server_error(sla_service: SlaFactory) -> None:
    """During a rolling upgrade the read API meets what the newer build wrote: a retryable
    answer (that build's instances can give it), never a 500."""
    async with sla_service(clock_at(local(2026, 12, 7, 8, 31))) as sla:
        record = new_record(local(2026, 12, 7, 8, 30), 5)
        await sla.open_accepted(record)
        await sla.runtime.db["deadlines"].update_one({"_id": record.record_code},
                                                     {"$set": {"layout": 99}})
        for path, params in ((f"/deadlines/{record.record_code}", None),
                             ("/index", {"department": DEPARTMENT})):
            response = await sla.client.get(path, params=params)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:motcua:problem:upgrade-in-progress"
            assert int(response.headers["Retry-After"]) > 0
