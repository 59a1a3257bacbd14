"""Routing on the real broker: route, manual queue, bounces, duplicates, poison, reorganisation."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from contracts import topics
from contracts.department.v1 import RecordAccepted, RecordResolved, RecordReturnedMisrouted
from contracts.department.v2 import AssignedRecord
from contracts.envelope import decode, encode, headers_dict
from contracts.records.v1 import RecordRouted
from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.domain.tables import shipped_tables
from services.routing.store import MongoRouteStore
from services.runtime.errors import StateChanged
from tests.integration.routing.conftest import (
    UNITS,
    Routing,
    RoutingFactory,
    expected,
    find_case,
    submitted,
)
from tests.kafka_io import held, read_topic

pytestmark = pytest.mark.integration


async def test_a_record_goes_to_its_departments_topic_and_the_decision_is_recorded(
    routing: Routing,
) -> None:
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code != MANUAL_QUEUE and bool(d.candidates_left))
    record = submitted(procedure, unit)
    await routing.send(record)
    [assigned] = await routing.assignments(decision.department_code, 1)
    assert assigned.data.record == AssignedRecord.of(record)  # without the contact details
    assert assigned.record_id == record.record_code
    [routed] = await routing.decisions(1)
    assert (routed.decision, routed.department_code, routed.attempt) == (
        "routed", decision.department_code, 1)
    assert routed.rule_version == routing.table.version == 2
    assert routed.candidates_left == decision.candidates_left
    assert routed.department_topic == topics.department_topic(decision.department_code)


async def test_no_rule_sends_the_record_to_the_manual_queue_with_the_reason(
    routing: Routing,
) -> None:
    districts = [d.code for d in UNITS.former_districts]
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code == MANUAL_QUEUE, units=districts)
    await routing.send(submitted(procedure, unit))
    [queued] = await routing.assignments(MANUAL_QUEUE, 1)
    [routed] = await routing.decisions(1)
    assert routed.decision == "manual" and routed.reason == decision.reason
    assert queued.data.department_code == MANUAL_QUEUE


async def test_an_officer_routes_a_waiting_record_through_the_api_and_it_moves_like_any_other(
    routing: Routing,
) -> None:
    districts = [d.code for d in UNITS.former_districts]
    procedure, unit, _ = find_case(
        routing.table, lambda d: d.department_code == MANUAL_QUEUE, units=districts)
    record = submitted(procedure, unit)
    await routing.send(record)
    await routing.decisions(1)
    officer = routing.endpoints.issuer.headers("officer", subject="officer.lan")
    queue = (await routing.client.get("/manual-queue", headers=officer)).json()
    [waiting] = [r for r in queue["records"] if r["record_code"] == record.record_code]
    assert waiting["unit_code"] == unit and waiting["reason"] and waiting["suggestions"]
    assert "applicant" not in waiting and waiting["procedure_name"] == procedure.name_vi
    target = waiting["suggestions"][0]["code"]
    choice = {"department_code": target, "attempt": waiting["attempt"], "note": "Thuộc phường này"}
    supervisor = routing.endpoints.issuer.headers("supervisor", subject="sup.minh")
    url = f"/manual-queue/{record.record_code}/route"
    refused = await routing.client.post(url, json=choice, headers=supervisor)
    assert refused.status_code == 403  # supervisors watch the queue; officers route
    answer = await routing.client.post(url, json=choice, headers=officer)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"record_code": record.record_code, "department_code": target,
                             "attempt": 2, "decided_by": "officer.lan"}
    again = await routing.client.post(url, json=choice, headers=officer)
    assert again.json() == answer.json()  # a retry answers the same and moves nothing
    late = await routing.client.post(url, json={**choice, "department_code": "SO-TU-PHAP"},
                                     headers=officer)
    assert late.status_code == 409 and late.json()["type"].endswith(":moved-on")
    assigned = await routing.assignments(target, 1)
    # the retry re-sent the same event (same id): a department applies it once
    assert {(a.id, a.data.attempt, a.record_id) for a in assigned} == {
        (assigned[0].id, 2, record.record_code)}
    routed = (await routing.decisions(2))[-1]
    assert (routed.decided_by, routed.decision, routed.department_code) == (
        "officer.lan", "rerouted", target)
    queue = (await routing.client.get("/manual-queue", headers=officer)).json()
    assert record.record_code not in {r["record_code"] for r in queue["records"]}
    unknown = await routing.client.post(
        url, json={**choice, "department_code": "SO-KHONG-CO", "attempt": 2}, headers=officer)
    assert unknown.status_code == 409  # no longer waiting: the conflict wins over the name


async def test_returned_as_misrouted_goes_to_the_next_candidate_then_to_the_manual_queue(
    routing_service: RoutingFactory,
) -> None:
    async with routing_service(max_bounces=2) as routing:
        procedure, unit, decision = find_case(
            routing.table, lambda d: d.department_code != MANUAL_QUEUE
            and len(d.candidates_left) >= 1)
        record = submitted(procedure, unit)
        await routing.send(record)
        first = decision.department_code
        await routing.assignments(first, 1)
        await routing.send(RecordReturnedMisrouted(record_code=record.record_code,
                                                   department_code=first, reason="not ours"))
        second = decision.candidates_left[0]
        [moved] = await routing.assignments(second, 1)
        assert moved.data.attempt == 2
        await routing.send(RecordReturnedMisrouted(record_code=record.record_code,
                                                   department_code=second, reason="nor ours"))
        await routing.assignments(MANUAL_QUEUE, 1)
        decisions = await routing.decisions(3)
        assert [(d.decision, d.department_code) for d in decisions] == [
            ("routed", first), ("rerouted", second), ("manual", MANUAL_QUEUE)]
        assert decisions[1].previous_department_code == first
        assert first not in decisions[1].candidates_left


async def test_redelivered_submission_and_update_take_effect_once(routing: Routing) -> None:
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code != MANUAL_QUEUE and bool(d.candidates_left))
    record = submitted(procedure, unit)
    sent = await routing.send(record)
    await routing.send(record, event_id=sent.id)
    await routing.assignments(decision.department_code, 1)
    returned = await routing.send(RecordReturnedMisrouted(
        record_code=record.record_code, department_code=decision.department_code, reason="x"))
    await routing.send(returned.data, event_id=returned.id)
    await routing.assignments(decision.candidates_left[0], 1)
    await asyncio.sleep(3)  # let any extra decision arrive
    records = await read_topic(routing.endpoints.kafka,
                               routing.settings.topic(topics.RECORDS_ROUTED), count=2)
    # a redelivery may send a decision again, always with its original event id
    by_id = {headers_dict(r.headers)["ce_id"]: r for r in records}
    assert len(by_id) == 2
    assert sorted(decode(r.key, r.value, r.headers).narrow(RecordRouted).data.attempt
                  for r in by_id.values()) == [1, 2]


async def test_forged_and_untimely_updates_go_back_to_their_sender_and_change_nothing(
        routing: Routing) -> None:
    procedure, unit, decision = find_case(routing.table,
                                          lambda d: d.department_code != MANUAL_QUEUE)
    holder = decision.department_code
    record = submitted(procedure, unit)
    code = record.record_code
    await routing.send(record)
    [assigned] = await routing.assignments(holder, 1)
    other = next(d.code for d in routing.table.departments if d.active and d.code != holder)
    now = routing.runtime.clock.now()
    resolved = RecordResolved(record_code=code, department_code=holder, result_summary="Xong",
                              electronic_result=True)
    await routing.send(RecordAccepted(record_code=code, department_code=other))  # not its record
    await routing.send(RecordReturnedMisrouted(record_code=code, department_code=other,
                                               reason="not ours"))  # a forged return
    await routing.send(RecordAccepted(record_code="000.00.21.H40-200101-0001",
                                      department_code=other))  # never routed
    await routing.send(RecordAccepted(record_code=code, department_code=holder),
                       sender=other)  # in the holder's name, on its own topic
    early = await routing.send(resolved)  # not accepted yet
    await routing.send(RecordAccepted(record_code=code, department_code=holder),
                       at=now + timedelta(hours=1))
    await routing.send(RecordAccepted(record_code=code, department_code=holder),
                       at=assigned.data.routed_at - timedelta(seconds=1))
    refused = await routing.feedback(other, 4) + await routing.feedback(holder, 3)
    assert sorted(r.reason for r in refused) == [
        "before_last_event", "from_the_future", "not_allowed_now", "not_holder", "not_holder",
        "sender_mismatch", "unknown_record"]
    assert all(r.detail for r in refused)
    good = await routing.send(RecordAccepted(record_code=code, department_code=holder))
    [forwarded] = await routing.updates(1)
    assert (forwarded.id, forwarded.type, forwarded.time) == (good.id, good.type, good.time)
    # The early resolution redelivered, now that it would pass: a kept answer is not re-judged.
    await routing.send(resolved, event_id=early.id)
    again = await routing.feedback(holder, 4)
    assert again[-1] == next(r for r in refused if r.refused_event_id == early.id)
    topic = routing.settings.topic(topics.DEPARTMENT_UPDATES)
    assert [m.value for m in (await held(routing.endpoints.kafka,
                                         [topic]))[topic]] == [encode(good).value]
    decisions = routing.settings.topic(topics.RECORDS_ROUTED)  # the forged return moved nothing
    assert len((await held(routing.endpoints.kafka, [decisions]))[decisions]) == 1


async def test_publishing_the_reform_moves_records_held_by_district_committees_exactly_once(
    routing_service: RoutingFactory,
) -> None:
    v1, v2 = shipped_tables()
    async with routing_service(initial_tables="pre-reform") as routing:
        assert routing.table.version == 1
        cases = []
        for commune in UNITS.communes[:40]:
            try:
                cases.append(find_case(v1, lambda d: d.department_code.startswith("UBND-H-"),
                                       units=[commune.code]))
            except AssertionError:
                continue
        cases = cases[:8]
        assert cases, "the pre-reform table sends some files to district committees"
        records = [submitted(procedure, unit) for procedure, unit, _ in cases]
        for record in records:
            await routing.send(record)
        await routing.decisions(len(records))
        response = await routing.client.post("/admin/tables", json=v2.model_dump(mode="json"))
        assert response.status_code == 201, response.text
        assert response.json() == {"version": 2, "moved": len(records)}
        assert (await routing.client.post("/admin/tables",
                                          json=v2.model_dump(mode="json"))).status_code == 422
        assert await routing.app.state.dispatcher.reorganise() == 0
        decisions = await routing.decisions(2 * len(records))
        moved = [d for d in decisions if d.attempt == 2]
        assert Counter(d.record_code for d in moved) == Counter(r.record_code for r in records)
        for record, decision in zip(records, sorted(moved, key=lambda d: [
                r.record_code for r in records].index(d.record_code)), strict=True):
            assert decision.previous_department_code is not None
            assert decision.previous_department_code.startswith("UBND-H-")
            assert decision.department_code == f"UBND-X-{record.administrative_unit_code}"
            assert decision.rule_version == 2
        with pytest.raises(AssertionError):
            await routing.decisions(2 * len(records) + 1, timeout=4)
        # new records follow the new version at once
        procedure, unit, _ = cases[0]
        fresh = submitted(procedure, unit)
        await routing.send(fresh)
        [latest] = [d for d in await routing.decisions(2 * len(records) + 1)
                    if d.record_code == fresh.record_code]
        assert (latest.rule_version, latest.attempt) == (2, 1)
        assert latest.department_code == expected(v2, procedure, unit).department_code
        assert not latest.department_code.startswith("UBND-H-")


async def test_a_table_with_a_missing_department_is_rejected_naming_the_rule(
    routing: Routing,
) -> None:
    table = routing.table
    rule = table.rules[0].model_copy(update={"candidates": ("SO-KHONG-TON-TAI",)})
    proposal = table.model_copy(update={"version": table.version + 1,
                                        "rules": (rule, *table.rules[1:])})
    response = await routing.client.post("/admin/tables", json=proposal.model_dump(mode="json"))
    assert response.status_code == 422
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "SO-KHONG-TON-TAI" in messages and rule.id in response.text
    assert routing.table.version == table.version


async def test_two_instances_in_one_group_share_the_work_and_route_each_record_once(
    routing_service: RoutingFactory,
) -> None:
    async with routing_service() as first, routing_service() as second:
        assert first.settings.consumer_group == second.settings.consumer_group
        cases = [find_case(first.table, lambda d: d.department_code != MANUAL_QUEUE)]
        procedure, _, _ = cases[0]
        records = [submitted(procedure, commune.code) for commune in UNITS.communes[:60]]
        for record in records:
            await first.send(record)
        decisions = await first.decisions(len(records), timeout=60)
        assert Counter(d.record_code for d in decisions) == Counter(
            r.record_code for r in records)

        def routed_by(service: Routing) -> float:
            registry = service.runtime.metrics
            return sum(sample.value for metric in registry.collect()
                       if metric.name == "motcua_routing_decisions"
                       for sample in metric.samples if sample.name.endswith("_total"))

        assert routed_by(first) > 0 and routed_by(second) > 0
        assert routed_by(first) + routed_by(second) == len(records)



async def test_a_decision_taken_on_a_route_that_moved_meanwhile_is_not_stored(
        routing: Routing) -> None:
    """The gate checks an update against the route it read; a reorganisation (or another
    instance) moving the record in between must not be overwritten by that check's outcome."""
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code != MANUAL_QUEUE and bool(d.candidates_left))
    record = submitted(procedure, unit)
    await routing.send(record)
    await routing.assignments(decision.department_code, 1)
    store = MongoRouteStore(lambda: routing.runtime.db)
    read = await store.get(record.record_code)
    assert read is not None and read.route.stage == "assigned"
    await routing.send(RecordAccepted(record_code=record.record_code,
                                      department_code=decision.department_code))
    await routing.updates(1)  # the acceptance is stored: stage and applied ids moved on
    moved = await store.get(record.record_code)
    with pytest.raises(StateChanged):
        await store.apply(read, "stale-decision", replace(read.route, department="SO-XAY-DUNG"), [])
    assert await store.get(record.record_code) == moved
