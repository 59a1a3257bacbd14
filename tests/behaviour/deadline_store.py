"""What the SLA monitor's store promises, whatever keeps it: run against the in-memory fake
(`tests/unit/sla_monitor/test_store_behaviour.py`) and MongoDB
(`tests/integration/sla_monitor/test_store_behaviour.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts import topics
from contracts.envelope import Envelope
from contracts.sla.v1 import DeadlineBreached
from services.runtime.outbox import stored_message
from services.sla_monitor.domain import UNASSIGNED, Deadline, standing
from services.sla_monitor.ports import Acknowledgement, AlertClaim, DeadlineStore, RefusedEvent
from tests.unit.sla_monitor.factories import DEPT, OTHER, at, routed, run, submitted

CLAIMED_AT = datetime(2026, 11, 24, 2, 30, 15, 123000, tzinfo=UTC)  # milliseconds, as stored
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def code(n: int) -> str:
    return f"000.00.21.H40-251110-{n:04d}"


def deadline(n: int, department: str = DEPT) -> Deadline:
    """A routed record's deadline: open, its first alert ahead."""
    day = at("2025-11-10")
    return run((submitted(day, 3, code(n)), day), (routed(department, code=code(n)), day))


def alert_claim(n: int, rule: str = "late", *, due_at: datetime | None = None,
                claimed_at: datetime = CLAIMED_AT) -> AlertClaim:
    payload = DeadlineBreached(record_code=code(n), department_code=DEPT,
                               procedure_code="1.001193.000.00.00.H38", due_at=at("2025-11-13", 17),
                               lateness_working_days=0, lateness_working_hours=1.0)
    event_id = f"alert-{n}-{rule}"
    envelope = Envelope.wrap(payload, source="/motcua/sla_monitor", time=CLAIMED_AT, id=event_id)
    return AlertClaim(event_id=event_id, record_code=code(n), rule=rule,
                      event_type=envelope.type, due_at=due_at or at("2025-11-13", 17),
                      claimed_at=claimed_at,
                      message=stored_message(topics.SLA_ALERTS, envelope, TRACE))


def refused(event_id: str, n: int, *, minutes: int = 0, parked: bool = False) -> RefusedEvent:
    return RefusedEvent(event_id=event_id, record_code=code(n),
                        event_type="vn.gov.motcua.department.record-accepted.v1",
                        event_time=CLAIMED_AT, reason="unknown_record" if parked else "stale",
                        detail="no such record yet", parked=parked,
                        refused_at=CLAIMED_AT + timedelta(minutes=minutes))


class DeadlineStoreBehaviour:
    """Subclasses give the `store` fixture."""

    @pytest.fixture
    def store(self) -> DeadlineStore:
        raise NotImplementedError

    async def test_a_deadline_reads_back_as_it_was_stored(self, store: DeadlineStore) -> None:
        state = deadline(1)
        assert await store.create(state, TRACE)
        stored = await store.get(state.record_code)
        assert stored is not None and (stored.state, stored.traceparent) == (state, TRACE)
        assert await store.get(code(99)) is None

    async def test_a_second_create_of_the_same_record_loses(self, store: DeadlineStore) -> None:
        state = deadline(1)
        assert await store.create(state, None)
        assert not await store.create(replace(state, revision=7), TRACE)
        stored = await store.get(state.record_code)
        assert stored is not None and stored.state == state

    async def test_replace_is_a_compare_and_set_on_the_revision(self, store: DeadlineStore) -> None:
        state = deadline(1)
        await store.create(state, TRACE)
        newer = replace(state, revision=state.revision + 1, next_fire_at=None)
        assert not await store.replace(newer, state.revision + 5, TRACE)
        assert await store.replace(newer, state.revision, TRACE)
        assert not await store.replace(newer, state.revision, TRACE)  # the revision moved on
        stored = await store.get(state.record_code)
        assert stored is not None and stored.state == newer

    async def test_replace_many_writes_the_others_and_names_those_changed_meanwhile(
            self, store: DeadlineStore) -> None:
        states = [deadline(n) for n in (1, 2, 3)]
        assert await store.save_many([(s, None, None) for s in [*states, deadline(5)]])
        raced = states[1]
        assert await store.replace(replace(raced, revision=raced.revision + 1), raced.revision, None)
        later = [replace(s, revision=s.revision + 1, next_fire_at=None) for s in states]
        fresh = deadline(4)
        lost = await store.replace_many([
            *((s, old.revision, TRACE) for s, old in zip(later, states, strict=True)),
            (fresh, None, None), (replace(deadline(5), revision=9), None, None)])
        assert lost == [code(2), code(5)]  # a batch holds one change per record
        found, unreadable = await store.get_many([code(n) for n in (1, 2, 3, 4, 5, 6)])
        assert unreadable == [] and sorted(found) == [code(n) for n in (1, 2, 3, 4, 5)]
        assert found[code(5)].state == deadline(5)
        assert found[code(1)].state == later[0] and found[code(3)].state == later[2]
        assert found[code(2)].state != later[1]  # the other writer's, left alone
        assert found[code(4)].state == fresh
        assert await store.save_many([(s, s.revision, None) for s in later[::2]])

    async def test_due_names_the_deadlines_due_earliest_first_up_to_the_limit(
            self, store: DeadlineStore) -> None:
        base = deadline(1).next_fire_at
        assert base is not None
        offsets = {1: 30, 2: 10, 3: 20, 4: 90}
        for n, minutes in offsets.items():
            await store.create(replace(deadline(n), next_fire_at=base + timedelta(minutes=minutes)),
                               None)
        await store.create(replace(deadline(5), next_fire_at=None), None)  # settled
        now = base + timedelta(minutes=60)
        assert await store.due(now, 10) == [code(2), code(3), code(1)]
        assert await store.due(now, 2) == [code(2), code(3)]
        assert await store.due(base, 10) == []

    async def test_all_reads_every_deadline_or_one_departments(self, store: DeadlineStore) -> None:
        await store.save_many([(deadline(1), None, None), (deadline(2, OTHER), None, None),
                               (deadline(3), None, None)])
        everyone = sorted([s.record_code async for s in store.all()])
        mine = sorted([s.record_code async for s in store.all(DEPT)])
        assert (everyone, mine) == ([code(1), code(2), code(3)], [code(1), code(3)])

    async def test_standings_count_open_deadlines_by_department_and_state(
            self, store: DeadlineStore) -> None:
        warned = deadline(2).with_fired("warning")
        breached = replace(deadline(3).with_fired("warning", "breach"),
                           breached_at=deadline(3).due_current_at)
        unheld = replace(deadline(6), department_code=None)
        closed = replace(deadline(7).with_fired("warning"), status="closed")
        await store.save_many([(s, None, None) for s in (
            deadline(1), warned, breached, deadline(4, OTHER), deadline(5, OTHER), unheld, closed)])
        assert await store.standings() == {
            (DEPT, "open"): 1, (DEPT, "warned"): 1, (DEPT, "breached"): 1, (OTHER, "open"): 2,
            (UNASSIGNED, "open"): 1}
        assert {standing(s) for s in (deadline(1), warned, breached, closed)} == {
            "open", "warned", "breached", None}

    async def test_an_alert_is_claimed_once_and_reads_back_typed(self, store: DeadlineStore) -> None:
        first, second = alert_claim(1, "warn"), alert_claim(1, "late")
        assert await store.claim([first, second]) == {first.event_id, second.event_id}
        assert await store.claim([first, alert_claim(2)]) == {alert_claim(2).event_id}
        assert await store.claim([]) == set()
        claims = await store.claims_of(code(1))
        assert [c.event_id for c in claims] == sorted([first.event_id, second.event_id])
        assert claims[0] == (first if first.event_id < second.event_id else second)

    async def test_a_claim_stays_pending_until_sent_and_stale_ones_are_found(
            self, store: DeadlineStore) -> None:
        old = alert_claim(1, claimed_at=CLAIMED_AT - timedelta(minutes=10))
        older = alert_claim(2, claimed_at=CLAIMED_AT - timedelta(minutes=20))
        recent = alert_claim(3, claimed_at=CLAIMED_AT)
        await store.claim([old, older, recent])
        before = CLAIMED_AT - timedelta(minutes=1)
        assert [c.event_id for c in await store.stale_claims(before, 10)] == [
            older.event_id, old.event_id]
        assert [c.event_id for c in await store.stale_claims(before, 1)] == [older.event_id]
        await store.sent([older.event_id])
        assert [c.event_id for c in await store.stale_claims(before, 10)] == [old.event_id]
        (sent,) = await store.claims_of(code(2))
        assert not sent.pending and sent.message == older.message

    async def test_claims_are_found_by_id_and_by_type_newest_first(self, store: DeadlineStore) -> None:
        early, late = (alert_claim(1, "breach", due_at=at("2025-11-13", 17)),
                       alert_claim(2, "breach", due_at=at("2025-11-14", 17)))
        await store.claim([early, late])
        assert await store.claim_of(early.event_id) == early
        assert await store.claim_of("alert-none") is None
        assert await store.claims_of_type(early.event_type, 10) == [late, early]
        assert await store.claims_of_type(early.event_type, 1) == [late]
        assert await store.claims_of_type("vn.motcua.sla.escalation-raised", 10) == []

    async def test_the_first_acknowledgement_stands(self, store: DeadlineStore) -> None:
        first = Acknowledgement(event_id="alert-1-late", record_code=code(1), by="supervisor.minh",
                                note="Đã gọi Sở", at=CLAIMED_AT)
        assert await store.acknowledge(first) == first
        later = Acknowledgement(event_id="alert-1-late", record_code=code(1), by="admin.mai",
                                note="Tôi xử lý", at=CLAIMED_AT + timedelta(hours=1))
        assert await store.acknowledge(later) == first
        assert await store.acknowledgements(["alert-1-late", "alert-2-late"]) == {
            "alert-1-late": first}

    async def test_a_refusal_is_kept_replaced_by_a_later_verdict_and_resolved(
            self, store: DeadlineStore) -> None:
        await store.refuse(refused("e1", 1, parked=True))
        await store.refuse(refused("e2", 1, minutes=5))
        await store.refuse(refused("e3", 2, minutes=9))
        assert [r.event_id for r in await store.refusals_of(None, 10)] == ["e3", "e2", "e1"]
        assert [r.event_id for r in await store.refusals_of(code(1), 1)] == ["e2"]
        await store.refuse(refused("e1", 1, minutes=7))  # a replay's verdict replaces the first
        assert [r.event_id for r in await store.refusals_of(code(1), 10)] == ["e1", "e2"]
        resolved_at = CLAIMED_AT + timedelta(hours=1)
        await store.refuse(refused("e4", 3, parked=True))
        await store.resolve_refusal("e4", "applied after its submission", resolved_at)
        (resolved,) = await store.refusals_of(code(3), 10)
        assert resolved == replace(refused("e4", 3, parked=True), parked=False,
                                   resolution="applied after its submission",
                                   resolved_at=resolved_at)
