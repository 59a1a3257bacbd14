"""Supervisors' view over the in-memory store: which escalations are still open, who
acknowledged one (once), and which records are nearly late or late."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import pytest

from contracts.envelope import Envelope
from contracts.sla.v1 import EscalationRaised
from services.runtime.outbox import stored_message
from services.sla_monitor.domain import Deadline, fire
from services.sla_monitor.ports import AlertClaim
from services.sla_monitor.supervision import AcknowledgedAlready, Supervision, UnknownEscalation
from tests.fakes.sla_monitor import InMemoryDeadlineStore

from .factories import CAL, POLICY, accepted, apply, at, routed, run, submitted

WAITING = "000.00.21.H40-251110-0001"
LATE = "000.00.21.H40-251110-0002"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


async def escalate(store: InMemoryDeadlineStore, state: Deadline,
                   now: datetime) -> tuple[Deadline, dict[str, str]]:
    """Fire what is due, keep the escalations' claims as the scheduler would; their ids by rule."""
    fired = fire(state, now, CAL, POLICY)
    ids: dict[str, str] = {}
    for alert in fired.alerts:
        if not isinstance(alert.payload, EscalationRaised):
            continue
        envelope = Envelope.wrap(alert.payload, source="/motcua/sla-monitor", time=now,
                                 id=alert.event_id)
        await store.claim([AlertClaim(
            event_id=alert.event_id, record_code=state.record_code, rule=alert.key,
            event_type=envelope.type, due_at=alert.due_at, claimed_at=now,
            message=stored_message(envelope.data.topic, envelope))])
        ids[alert.key] = alert.event_id
    return fired.state, ids


class Scene(NamedTuple):
    supervision: Supervision
    store: InMemoryDeadlineStore
    clock: Clock
    ids: dict[str, str]
    """Escalations' event ids: `manual`, and the late record's `late` and `stuck`."""


@pytest.fixture
async def scene() -> Scene:
    store = InMemoryDeadlineStore()
    waiting = run((submitted(at("2025-11-10"), 10, WAITING), at("2025-11-10")),
                  (routed("MOT-CUA-TINH", decision="manual", code=WAITING), at("2025-11-10", 11)))
    waiting, fired = await escalate(store, waiting, at("2025-11-10", 11))
    manual = fired["manual-routing"]
    late = run((submitted(at("2025-11-10"), 1, LATE), at("2025-11-10")),
               (routed(code=LATE), at("2025-11-10", 11)))
    late, fired = await escalate(store, late, at("2025-11-12", 9))
    overdue, stuck = fired["escalation-1"], fired["stuck-routing"]
    for state in (waiting, late):
        assert await store.create(state, None)
    clock = Clock(at("2025-11-12", 10))
    return Scene(Supervision(store, clock, CAL, POLICY), store, clock,
                 {"manual": manual, "late": overdue, "stuck": stuck})


async def test_open_escalations_are_those_whose_cause_remains(scene: Scene) -> None:
    supervision, store, _, ids = scene
    found = {e.event_id: e for e in await supervision.escalations()}
    assert set(found) == set(ids.values())
    assert found[ids["manual"]].raised.kind == "misrouted"
    assert (found[ids["late"]].raised.kind, found[ids["late"]].department_code) == ("late", "SO-TU-PHAP")
    assert {e.event_id for e in await supervision.escalations("SO-TU-PHAP")} == {
        ids["late"], ids["stuck"]}
    stored = await store.get(WAITING)
    assert stored is not None
    moved = apply(stored.state, routed("UBND-X-16681", attempt=2, decision="rerouted", code=WAITING),
                  at("2025-11-12", 10))
    taken = apply(moved, accepted("UBND-X-16681", code=WAITING), at("2025-11-12", 10, 30))
    assert await store.replace(taken, stored.state.revision, None)
    # routed by a person and accepted: the misrouting is settled; the late record's are not
    assert {e.event_id for e in await supervision.escalations()} == {ids["late"], ids["stuck"]}


async def test_an_escalation_is_acknowledged_once_with_who_and_why(scene: Scene) -> None:
    supervision, _, clock, ids = scene
    ack = await supervision.acknowledge(ids["late"], "supervisor.minh", "Đã gọi Sở Tư pháp")
    assert (ack.by, ack.at, ack.record_code) == ("supervisor.minh", clock.at, LATE)
    clock.at = at("2025-11-12", 11)
    assert await supervision.acknowledge(ids["late"], "supervisor.minh", "Đã gọi Sở Tư pháp") == ack
    with pytest.raises(AcknowledgedAlready) as already:
        await supervision.acknowledge(ids["late"], "admin.mai", "Tôi xử lý")
    assert already.value.ack == ack
    with pytest.raises(UnknownEscalation):
        await supervision.acknowledge("sla:nothing", "supervisor.minh", "?")
    [shown] = [e for e in await supervision.escalations() if e.event_id == ids["late"]]
    assert shown.acknowledgement == ack


async def test_records_at_risk_are_the_late_ones_first(scene: Scene) -> None:
    supervision = scene.supervision
    risky = await supervision.at_risk()
    assert [(r.state.record_code, r.category) for r in risky] == [(LATE, "in_progress_late")]
    assert risky[0].late_working_days >= 1
