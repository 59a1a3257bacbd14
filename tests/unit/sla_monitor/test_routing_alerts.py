"""Records no department takes in, and records routing could not place, reach the supervisor."""

from __future__ import annotations

from datetime import datetime

from contracts.sla.v1 import EscalationRaised, RecordStuckInRouting
from services.sla_monitor.domain import SlaEvent, fire

from .factories import (
    CAL,
    DEPT,
    OTHER,
    POLICY,
    accepted,
    apply,
    at,
    returned_misrouted,
    routed,
    run,
    submitted,
)


def routed_monday() -> tuple[tuple[SlaEvent, datetime], ...]:
    return (submitted(at("2025-11-10"), 10), at("2025-11-10")), (routed(), at("2025-11-10", 10))


def test_stuck_in_routing_after_eight_working_hours_without_acceptance() -> None:
    # Routed Mon 10 Nov 10:00: 7 h to Mon 17:00, 1 h on Tue -> Tue 11 Nov 09:00.
    state = run(*routed_monday())
    assert state.next_fire_at == at("2025-11-11", 9)
    assert fire(state, at("2025-11-11", 8, 59), CAL, POLICY).alerts == ()
    result = fire(state, at("2025-11-11", 9), CAL, POLICY)
    stuck, escalation = result.payloads
    assert isinstance(stuck, RecordStuckInRouting)
    assert (stuck.since, stuck.waited_working_hours, stuck.department_code) == (
        at("2025-11-10", 10), 8.0, DEPT)
    assert isinstance(escalation, EscalationRaised)
    assert (escalation.kind, escalation.level, escalation.recipient_role) == (
        "misrouted", 1, "one_stop_office_supervisor")
    assert fire(result.state, at("2025-11-12", 9), CAL, POLICY).alerts == ()


def test_accepted_in_time_is_never_stuck() -> None:
    state = apply(run(*routed_monday()), accepted(), at("2025-11-11", 8, 30))
    result = fire(state, at("2025-11-11", 12), CAL, POLICY)
    assert result.alerts == ()
    assert state.next_fire_at == at("2025-11-21", 8)  # now only the warning is ahead


def test_an_acceptance_that_overtook_its_routing_stays_accepted() -> None:
    # Routing and acceptance travel on different topics: the acceptance may be read first.
    state = run((submitted(at("2025-11-10"), 10), at("2025-11-10")),
                (accepted(), at("2025-11-10", 10, 5)), (routed(), at("2025-11-10", 10)))
    assert (state.department_code, state.accepted, state.routing_attempt) == (DEPT, True, 1)
    assert fire(state, at("2025-11-12", 9), CAL, POLICY).alerts == ()


def test_a_new_department_gets_its_own_routing_clock() -> None:
    state = fire(run(*routed_monday()), at("2025-11-11", 9), CAL, POLICY).state
    assert state.has_fired("stuck-routing")
    state = apply(state, returned_misrouted(), at("2025-11-11", 9, 30))
    assert (state.department_code, state.accepted) == (None, False)
    state = apply(state, routed(OTHER, attempt=2, decision="rerouted"), at("2025-11-11", 10))
    # Tue 10:00 + 8 h: 7 h to Tue 17:00, 1 h Wed -> Wed 12 Nov 09:00.
    assert state.next_fire_at == at("2025-11-12", 9)
    (stuck, _) = fire(state, at("2025-11-12", 9), CAL, POLICY).payloads
    assert isinstance(stuck, RecordStuckInRouting)
    assert stuck.department_code == OTHER


def test_manual_routing_escalates_at_once_and_once() -> None:
    state = run((submitted(at("2025-11-10"), 10), at("2025-11-10")),
                (routed("MOT-CUA-THU-CONG", decision="manual"), at("2025-11-10", 11)))
    assert state.next_fire_at == at("2025-11-10", 11)
    first = fire(state, at("2025-11-10", 11), CAL, POLICY)
    (escalation,) = first.payloads
    assert isinstance(escalation, EscalationRaised)
    assert (escalation.kind, escalation.recipient_role) == ("misrouted", "one_stop_office_supervisor")
    assert fire(first.state, at("2025-11-10", 11, 1), CAL, POLICY).alerts == ()
