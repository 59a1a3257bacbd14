"""The dispatcher's use cases over in-memory ports: what each event stores and sends, and that a
redelivery (the recovery after any crash) changes nothing and sends the same messages again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts import topics
from contracts.department.v1 import RecordAccepted, RecordReturnedMisrouted, UpdateRefused
from contracts.department.v2 import RecordAssigned
from contracts.envelope import Envelope, decode
from contracts.records.v1 import RecordRouted, RecordSubmitted
from contracts.samples import record_submitted
from reference.catalog import load_catalog
from reference.units import load_units
from services.routing.dispatcher import Dispatcher, UnknownRecord
from services.routing.domain.decide import Decision, RouteInput, route
from services.routing.domain.directory import MANUAL_QUEUE, Department
from services.routing.domain.manual import Choice, ChoiceRefused
from services.routing.versions import TableVersions
from services.runtime.consumer import Delivery, Incoming
from services.runtime.outbox import StoredMessage
from tests.fakes.routing import InMemoryRouteStore

CATALOG, UNITS = load_catalog(), load_units()
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@dataclass
class FixedClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at


@dataclass
class RecordingOutlet:
    """The broker as the dispatcher sees it; `fail_next` refuses one send, like a crash
    between storing and sending."""

    sent: list[StoredMessage] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    fail_next: bool = False

    async def ensure_topic(self, topic: str, *together: str) -> None:
        self.topics.update((topic, *together))

    async def send_stored(self, messages: Sequence[StoredMessage]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker unreachable")
        self.sent.extend(messages)

    def on(self, topic: str) -> list[Envelope[Any]]:
        return [decode(m.key, m.value, m.headers) for m in self.sent if m.topic == topic]


@dataclass
class Routing:
    dispatcher: Dispatcher
    store: InMemoryRouteStore
    outlet: RecordingOutlet
    versions: TableVersions
    clock: FixedClock


@pytest.fixture
async def routing() -> Routing:
    store, outlet, clock = InMemoryRouteStore(), RecordingOutlet(), FixedClock()
    versions = TableVersions(store, CATALOG, UNITS)
    await versions.load("current")
    dispatcher = Dispatcher(outlet, store, versions, CATALOG, UNITS, clock=clock,
                            metrics=CollectorRegistry(), max_bounces=3, skew_s=300)
    return Routing(dispatcher, store, outlet, versions, clock)


_codes = iter(range(1, 10_000))


def case(routing: Routing, *, candidates: bool) -> tuple[RecordSubmitted, Decision]:
    """A new record whose first decision names a department (with others left, if asked)."""
    table = routing.versions.current
    for procedure in CATALOG:
        for commune in UNITS.communes[:40]:
            decision = route(RouteInput(procedure_code=procedure.code,
                                        agency_kind=procedure.agency_kind,
                                        handling_level=procedure.handling_level,
                                        administrative_unit_code=commune.code), table, UNITS)
            if not decision.is_manual and bool(decision.candidates_left) == candidates:
                record = record_submitted().model_copy(update={
                    "record_code": f"000.00.21.H40-261124-{next(_codes):04d}",
                    "procedure_code": procedure.code, "administrative_unit_code": commune.code})
                return record, decision
    raise AssertionError("no such case in the shipped tables")


def incoming(payload: Any, topic: str, offset: int = 0) -> Incoming:
    envelope = Envelope.wrap(payload, source="/test", time=T0)
    return Incoming(envelope, Delivery(topic, 0, offset), None)


async def update(routing: Routing, payload: Any, sender: str | None = None) -> Envelope[Any]:
    envelope = Envelope.wrap(payload, source="/test", time=routing.clock.now())
    topic = topics.updates_topic(sender or payload.department_code)
    await routing.dispatcher.on_update(envelope, Delivery(topic, 0, 0))
    return envelope


async def test_a_batch_is_routed_once_each_and_a_poison_message_is_refused_alone(
        routing: Routing) -> None:
    (first, decision), (second, _) = case(routing, candidates=True), case(routing, candidates=False)
    unknown = first.model_copy(update={"record_code": "000.00.21.H40-261124-9000",
                                       "procedure_code": "0.000000.000.00.00.H40"})
    batch = [incoming(r, topics.RECORDS_SUBMITTED, n) for n, r in enumerate((first, unknown, second))]
    refused = await routing.dispatcher.on_submitted(batch)
    assert [(r.incoming.envelope.record_id, r.poison.reason) for r in refused] == [
        (unknown.record_code, "unknown_procedure")]
    routed = [e.narrow(RecordRouted).data for e in routing.outlet.on(topics.RECORDS_ROUTED)]
    assert sorted(r.record_code for r in routed) == sorted([first.record_code, second.record_code])
    assigned = routing.outlet.on(topics.department_topic(decision.department_code))
    assert [e.narrow(RecordAssigned).data.record.record_code for e in assigned
            if e.record_id == first.record_code] == [first.record_code]
    assert set(topics.department_topics(decision.department_code)) <= routing.outlet.topics
    stored = await routing.store.get(first.record_code)
    assert stored is not None and stored.route.department == decision.department_code
    assert stored.route.candidates_left == decision.candidates_left
    assert await routing.store.get(unknown.record_code) is None


async def test_a_redelivered_batch_decides_nothing_new_and_resends_the_same_messages(
        routing: Routing) -> None:
    record, _ = case(routing, candidates=True)
    batch = [incoming(record, topics.RECORDS_SUBMITTED)]
    routing.outlet.fail_next = True  # stored, then the process dies before the broker has them
    with pytest.raises(ConnectionError):
        await routing.dispatcher.on_submitted(batch)
    stored = await routing.store.get(record.record_code)
    assert stored is not None and routing.outlet.sent == []
    await routing.dispatcher.on_submitted(batch)  # Kafka redelivers the uncommitted batch
    await routing.dispatcher.on_submitted(batch)  # and once more, after a later crash
    assert routing.outlet.sent == [out.message for out in stored.outbox] * 2
    assert await routing.store.get(record.record_code) == stored


async def test_the_holders_update_is_forwarded_once_and_a_strangers_is_refused_to_it_alone(
        routing: Routing) -> None:
    record, decision = case(routing, candidates=True)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    routing.clock.at += timedelta(minutes=5)
    stranger = next(d for d in routing.versions.current.departments
                    if d.active and d.code not in (decision.department_code, MANUAL_QUEUE))
    claimed = RecordAccepted(record_code=record.record_code, department_code=stranger.code)
    refused = await update(routing, claimed)
    await routing.dispatcher.on_update(refused, Delivery(topics.updates_topic(stranger.code), 0, 1))
    feedback = routing.outlet.on(topics.feedback_topic(stranger.code))
    assert len(feedback) == 2 and feedback[0].id == feedback[1].id  # a redelivery, same answer
    assert feedback[0].narrow(UpdateRefused).data.refused_event_id == refused.id
    accepted = await update(routing, RecordAccepted(record_code=record.record_code,
                                                    department_code=decision.department_code))
    await routing.dispatcher.on_update(accepted, Delivery(
        topics.updates_topic(decision.department_code), 0, 2))
    forwarded = routing.outlet.on(topics.DEPARTMENT_UPDATES)
    assert [e.id for e in forwarded] == [accepted.id, accepted.id]
    stored = await routing.store.get(record.record_code)
    assert stored is not None and stored.route.stage == "accepted"
    assert stored.applied.count(accepted.id) == 1


async def test_a_misrouted_return_goes_to_the_next_candidate(routing: Routing) -> None:
    record, decision = case(routing, candidates=True)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    routing.clock.at += timedelta(minutes=5)
    await update(routing, RecordReturnedMisrouted(record_code=record.record_code,
                                                  department_code=decision.department_code,
                                                  reason="Không thuộc thẩm quyền"))
    stored = await routing.store.get(record.record_code)
    assert stored is not None
    assert stored.route.department == decision.candidates_left[0]
    assert (stored.route.attempt, stored.route.returned_by) == (2, (decision.department_code,))
    rerouted = [e.narrow(RecordRouted).data for e in routing.outlet.on(topics.RECORDS_ROUTED)]
    assert [(r.decision, r.attempt, r.previous_department_code) for r in rerouted][-1] == (
        "rerouted", 2, decision.department_code)


async def test_a_reorganisation_moves_each_open_record_once_with_the_same_event_ids(
        routing: Routing) -> None:
    record, decision = case(routing, candidates=False)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    table = routing.versions.current
    heir = next(d.code for d in table.departments
                if d.active and d.code not in (decision.department_code, MANUAL_QUEUE))
    departments: tuple[Department, ...] = tuple(
        d.model_copy(update={"active": False, "successor": heir})
        if d.code == decision.department_code else d for d in table.departments)
    await routing.store.add_table(table.model_copy(update={"version": table.version + 1,
                                                           "departments": departments}))
    await routing.versions.refresh()
    routing.outlet.fail_next = True  # the move is stored, its messages not yet sent
    with pytest.raises(ConnectionError):
        await routing.dispatcher.reorganise()
    assert [s.code async for s in routing.store.unsent()] == [record.record_code]
    assert await routing.dispatcher.recover() == 1  # the next start sends them
    assert await routing.dispatcher.reorganise() == 0  # and moves nothing twice
    moved = [e for e in routing.outlet.on(topics.RECORDS_ROUTED) if e.record_id == record.record_code]
    assert [e.narrow(RecordRouted).data.department_code for e in moved][-1] == heir
    stored = await routing.store.get(record.record_code)
    assert stored is not None and stored.route.department == heir and not stored.unsent


def manual_case(routing: Routing) -> RecordSubmitted:
    """A new record no rule can place: a commune's procedure filed under a former district."""
    table = routing.versions.current
    district = UNITS.former_districts[0].code
    for procedure in CATALOG:
        decision = route(RouteInput(procedure_code=procedure.code, agency_kind=procedure.agency_kind,
                                    handling_level=procedure.handling_level,
                                    administrative_unit_code=district), table, UNITS)
        if decision.is_manual and procedure.handling_level == "commune":
            return record_submitted().model_copy(update={
                "record_code": f"000.00.21.H40-261124-{next(_codes):04d}",
                "procedure_code": procedure.code, "administrative_unit_code": district})
    raise AssertionError("no manual case in the shipped tables")


async def test_the_queue_shows_why_and_where_to_look_and_an_officers_choice_moves_the_record(
        routing: Routing) -> None:
    record = manual_case(routing)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    [waiting] = await routing.dispatcher.waiting(10)
    assert waiting.route.code == record.record_code and "former district" in (waiting.route.reason or "")
    successors = {f"UBND-X-{c.code}" for c in UNITS.successors_of(record.administrative_unit_code)}
    assert waiting.suggestions and set(waiting.suggestions) <= successors
    routing.clock.at += timedelta(hours=2)
    choice = Choice(department_code=waiting.suggestions[0], seen_attempt=1, officer="officer.lan",
                    note="Địa chỉ thửa đất thuộc phường này")
    after = await routing.dispatcher.choose(record.record_code, choice)
    assert (after.department, after.status, after.attempt) == (waiting.suggestions[0], "routed", 2)
    assert await routing.dispatcher.waiting(10) == []
    routed = [e.narrow(RecordRouted).data for e in routing.outlet.on(topics.RECORDS_ROUTED)][-1]
    assert (routed.decision, routed.decided_by, routed.previous_department_code) == (
        "rerouted", "officer.lan", MANUAL_QUEUE)
    assert "officer.lan" in routed.reason and choice.note in routed.reason
    assigned = routing.outlet.on(topics.department_topic(choice.department_code))
    assert [e.narrow(RecordAssigned).data.attempt for e in assigned] == [2]


async def test_a_retried_choice_resends_the_same_events_and_a_second_choice_is_refused(
        routing: Routing) -> None:
    record = manual_case(routing)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    [waiting] = await routing.dispatcher.waiting(10)
    choice = Choice(department_code=waiting.suggestions[0], seen_attempt=1, officer="officer.lan",
                    note="Đúng thẩm quyền")
    routing.outlet.fail_next = True  # stored, then the broker fails: the officer retries
    with pytest.raises(ConnectionError):
        await routing.dispatcher.choose(record.record_code, choice)
    await routing.dispatcher.choose(record.record_code, choice)
    await routing.dispatcher.choose(record.record_code, choice)
    routed = [e for e in routing.outlet.on(topics.RECORDS_ROUTED) if e.data.decision == "rerouted"]
    assert len(routed) == 2 and routed[0].id == routed[1].id
    other = Choice(department_code=waiting.suggestions[-1] if len(waiting.suggestions) > 1
                   else "SO-TU-PHAP", seen_attempt=1, officer="officer.binh", note="Thử nơi khác")
    with pytest.raises(ChoiceRefused) as refused:
        await routing.dispatcher.choose(record.record_code, other)
    assert refused.value.reason in ("moved_on", "not_waiting")
    stored = await routing.store.get(record.record_code)
    assert stored is not None and stored.route.department == choice.department_code


@pytest.mark.parametrize(("department", "reason"), [
    (MANUAL_QUEUE, "the_queue_itself"), ("SO-KHONG-CO", "unknown_department")])
async def test_a_choice_the_directory_cannot_take_is_refused_and_the_record_waits(
        routing: Routing, department: str, reason: str) -> None:
    record = manual_case(routing)
    await routing.dispatcher.on_submitted([incoming(record, topics.RECORDS_SUBMITTED)])
    with pytest.raises(ChoiceRefused) as refused:
        await routing.dispatcher.choose(record.record_code, Choice(
            department_code=department, seen_attempt=1, officer="officer.lan", note="thử"))
    assert refused.value.reason == reason
    with pytest.raises(ChoiceRefused) as stale:
        await routing.dispatcher.choose(record.record_code, Choice(
            department_code="SO-TU-PHAP", seen_attempt=3, officer="officer.lan", note="thử"))
    assert stale.value.reason == "moved_on"
    assert [w.route.code for w in await routing.dispatcher.waiting(10)] == [record.record_code]
    with pytest.raises(UnknownRecord):
        await routing.dispatcher.choose("000.00.21.H40-261124-9999", Choice(
            department_code="SO-TU-PHAP", seen_attempt=1, officer="officer.lan", note="thử"))
