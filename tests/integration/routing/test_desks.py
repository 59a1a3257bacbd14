"""Departments answer through the desk consumer: a return sends the file on, an acceptance holds it."""

from __future__ import annotations

import pytest

from contracts import topics
from contracts.envelope import headers_dict
from departments.desk import DepartmentDesk, accept, return_as_misrouted
from services.routing.domain.directory import MANUAL_QUEUE
from tests.integration.routing.conftest import Routing, find_case, submitted
from tests.kafka_io import read_topic, write_raw

pytestmark = pytest.mark.integration


async def test_a_desk_that_returns_the_file_sends_it_to_the_next_desk_which_accepts(
    routing: Routing,
) -> None:
    procedure, unit, decision = find_case(
        routing.table, lambda d: d.department_code != MANUAL_QUEUE and bool(d.candidates_left))
    first, second = decision.department_code, decision.candidates_left[0]
    admin = routing.endpoints.kafka
    namespace = routing.settings.topic_namespace
    for code in (first, second):  # routing creates them at a first assignment; desks start first
        await routing.runtime.ensure_topic(*topics.department_topics(code))
    clock = routing.runtime.clock.now  # the desks' clocks agree with routing's test clock
    desks = [DepartmentDesk(first, admin, return_as_misrouted(first), namespace=namespace,
                            clock=clock),
             DepartmentDesk(second, admin, accept(second), namespace=namespace, clock=clock)]
    for desk in desks:
        await desk.start()
    try:
        record = submitted(procedure, unit)
        await routing.send(record)
        decisions = await routing.decisions(2)
        assert [(d.decision, d.department_code) for d in decisions] == [
            ("routed", first), ("rerouted", second)]
        updates = await read_topic(admin, routing.settings.topic(topics.DEPARTMENT_UPDATES),
                                   count=2)
        types = sorted(headers_dict(u.headers)["ce_type"] for u in updates)
        assert types == ["vn.motcua.record.accepted", "vn.motcua.record.returned-misrouted"]
        assert {u.key for u in updates} == {record.record_code.encode()}
        assert all(desk.refused == [] for desk in desks)
    finally:
        for desk in desks:
            await desk.stop()


async def test_a_malformed_submission_is_dead_lettered_and_routing_goes_on(
    routing: Routing,
) -> None:
    admin = routing.endpoints.kafka
    topic = routing.settings.topic(topics.RECORDS_SUBMITTED)
    await write_raw(admin, topic, b"not json", key=b"000.00.21.H40-261124-0001",
                    headers=[("ce_type", b"vn.motcua.record.submitted"), ("ce_id", b"x")])
    procedure, unit, _ = find_case(routing.table, lambda d: d.department_code != MANUAL_QUEUE)
    await routing.send(submitted(procedure, unit))
    await routing.decisions(1)
    [dead] = await read_topic(admin, topic + ".dlq", count=1)
    assert headers_dict(dead.headers)["dlq-reason"] in {"missing_header", "malformed_json"}
    assert dead.value == b"not json"
