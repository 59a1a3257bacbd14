"""Warnings, breaches, escalations and apologies fire on time, once, and never for closed records."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from contracts.sla.v1 import (
    ApologyDue,
    DeadlineBreached,
    DeadlineWarning,
    DelayExplanationRequested,
    EscalationRaised,
)
from services.sla_monitor.domain import Deadline, Fired, ProcedurePolicy, SlaEvent, SlaPolicy, fire

from .factories import (
    CAL,
    DEPT,
    POLICY,
    accepted,
    apply,
    at,
    delay_reported,
    resolved,
    routed,
    run,
    submitted,
)


def three_day_record(*, held: bool = True) -> Deadline:
    # Accepted Mon 10 Nov 2025 10:00, 3 days: Tue 11 (1) Wed 12 (2) Thu 13 (3) -> due Thu 13 17:00.
    steps: list[tuple[SlaEvent, datetime]] = [(submitted(at("2025-11-10"), 3), at("2025-11-10"))]
    if held:
        steps += [(routed(), at("2025-11-10", 10, 5)), (accepted(), at("2025-11-10", 11))]
    return run(*steps)


def fire_at(state: Deadline, *instants: datetime) -> tuple[Deadline, list[Fired]]:
    results = []
    for instant in instants:
        result = fire(state, instant, CAL, POLICY)
        results.append(result)
        state = result.state
    return state, results


def test_warning_one_working_day_before_when_twenty_percent_is_less() -> None:
    # Allowed time Tue-Thu = 27 working hours; 20 % = 5.4 h < 9 h, so warn with 9 h left: Thu
    # 08:00 (Wed 17:00 is the same working moment; the opening keeps alerts in office hours).
    state = three_day_record(held=False)
    assert state.next_fire_at == at("2025-11-13", 8)
    state, (early, evening, before, on_time) = fire_at(
        state, at("2025-11-12", 12), at("2025-11-12", 17), at("2025-11-13", 7, 59), at("2025-11-13", 8))
    assert early.alerts == evening.alerts == before.alerts == ()
    assert [type(p) for p in on_time.payloads] == [DeadlineWarning]
    warning = on_time.payloads[0]
    assert isinstance(warning, DeadlineWarning)
    assert warning.remaining_working_hours == 9.0
    assert warning.due_at == at("2025-11-13", 17)
    assert state.next_fire_at == at("2025-11-13", 17)  # next: the breach


def test_warning_at_twenty_percent_of_a_long_period() -> None:
    # 10 days from Mon 10 Nov: Tue 11 ... Fri 14 (4), Mon 17 ... Fri 21 (9), Mon 24 (10) -> due Mon
    # 24 Nov 17:00. Allowed 90 h; 20 % = 18 h > 9 h: warn 18 working hours ahead = Fri 21 08:00.
    state = run((submitted(at("2025-11-10"), 10), at("2025-11-10")))
    assert state.due_current_at == at("2025-11-24", 17)
    assert state.next_fire_at == at("2025-11-21", 8)
    state, (before, due) = fire_at(state, at("2025-11-21", 7, 59), at("2025-11-21", 8))
    assert before.alerts == ()
    assert [p.remaining_working_hours for p in due.payloads if isinstance(p, DeadlineWarning)] == [18.0]
    # With the 20 % branch off, the same record would warn only on Mon 24 at 08:00.
    one_day = SlaPolicy(defaults=ProcedurePolicy(warning_fraction=0.0))
    plain = run((submitted(at("2025-11-10"), 10), at("2025-11-10")), policy=one_day)
    assert plain.next_fire_at == at("2025-11-24", 8)


def test_breach_and_both_escalations_fire_once_each_however_often_fire_is_called() -> None:
    state = three_day_record()
    instants = [at("2025-11-10", 10) + timedelta(minutes=30 * i) for i in range(2 * 24 * 12)]
    state, results = fire_at(state, *instants)
    keys = Counter(alert.key for result in results for alert in result.alerts)
    assert keys == {"warning": 1, "delay-request": 1, "breach": 1, "escalation-1": 1, "apology": 1,
                    "escalation-2": 1}
    by_key = {alert.key: alert for result in results for alert in result.alerts}
    breach = by_key["breach"].payload
    assert isinstance(breach, DeadlineBreached)
    assert (breach.lateness_working_days, breach.lateness_working_hours) == (0, 0.0)
    first = by_key["escalation-1"].payload
    assert isinstance(first, EscalationRaised)
    assert (first.kind, first.level, first.recipient_role) == ("late", 1, "department_head")
    # Level 2 two working days after the breach at Thu 13 17:00: Fri 14 (9 h) + Mon 17 (9 h) ->
    # Mon 17 Nov 17:00, late 2 working days / 18 working hours.
    second = by_key["escalation-2"]
    assert second.due_at == at("2025-11-17", 17)
    assert isinstance(second.payload, EscalationRaised)
    assert (second.payload.level, second.payload.recipient_role) == (2, "provincial_supervisor")
    assert (second.payload.lateness_working_days, second.payload.lateness_working_hours) == (2, 18.0)
    assert state.breached_at == at("2025-11-13", 17)
    assert state.next_fire_at is None
    assert len({a.event_id for r in results for a in r.alerts}) == sum(keys.values())


def test_escalation_two_waits_for_the_configured_working_days() -> None:
    state = three_day_record()
    state, _ = fire_at(state, at("2025-11-13", 17))
    assert state.next_fire_at == at("2025-11-17", 17)
    later = SlaPolicy(defaults=ProcedurePolicy(escalation_2_after_working_days=3))
    assert fire(state, at("2025-11-17", 17), CAL, later).alerts == ()
    assert fire(state, at("2025-11-17", 17), CAL, later).state.next_fire_at == at("2025-11-18", 17)


def test_closed_before_due_fires_nothing_ever() -> None:
    state = apply(three_day_record(), resolved(), at("2025-11-12", 15))
    assert state.next_fire_at is None
    assert state.closure is not None and state.closure.outcome == "early"
    instants = [at("2025-11-12", 15) + timedelta(hours=h) for h in range(0, 24 * 20)]
    _, results = fire_at(state, *instants)
    assert [r.alerts for r in results if r.alerts] == []


def test_apology_with_the_departments_own_new_date() -> None:
    state, (asked,) = fire_at(three_day_record(), at("2025-11-13", 8))
    request = [p for p in asked.payloads if isinstance(p, DelayExplanationRequested)]
    assert [(r.department_code, r.respond_by, r.remaining_working_hours) for r in request] == [
        (DEPT, at("2025-11-13", 17), 9.0)]
    # The department answers Thu 10:00 with Tue 18 Nov: apology at once, with its date and reason.
    state = apply(state, delay_reported(at("2025-11-18", 12)), at("2025-11-13", 10))
    assert state.due_current_at == at("2025-11-18", 17)
    assert state.due_original_at == at("2025-11-13", 17)
    assert state.next_fire_at == at("2025-11-13", 10)
    state, (apology, at_old_due) = fire_at(state, at("2025-11-13", 10), at("2025-11-13", 17))
    (payload,) = apology.payloads
    assert isinstance(payload, ApologyDue)
    assert (payload.reason, payload.new_appointment, payload.appointment_original) == (
        "Chờ xác minh", at("2025-11-18", 17), at("2025-11-13", 17))
    assert at_old_due.alerts == ()  # the current appointment is now Tue 18
    # Done Mon 17: early against Tue 18, but 2 working days (Fri 14, Mon 17) late against Thu 13.
    state = apply(state, resolved(), at("2025-11-17", 9))
    assert state.closure is not None
    assert (state.closure.outcome, state.closure.late_against_original) == ("early", True)
    assert state.closure.lateness_original_working_days == 2


def test_default_apology_at_due_time_when_the_department_does_not_answer() -> None:
    state, (_, at_due) = fire_at(three_day_record(), at("2025-11-13", 8), at("2025-11-13", 17))
    apologies = [p for p in at_due.payloads if isinstance(p, ApologyDue)]
    # Due Thu 13 + 2 working days (default) = Fri 14 (1), Mon 17 (2) -> Mon 17 Nov 17:00.
    assert [(a.department_code, a.new_appointment) for a in apologies] == [(DEPT, at("2025-11-17", 17))]
    assert state.apology_appointment == at("2025-11-17", 17)
    assert state.due_current_at == at("2025-11-13", 17)  # a guess promises, it does not excuse
    # A late answer changes the current date but the applicant got their one apology already.
    state = apply(state, delay_reported(at("2025-11-20", 9)), at("2025-11-14", 9))
    assert fire(state, at("2025-11-14", 9), CAL, POLICY).alerts == ()


def test_default_apology_comes_from_the_receiving_centre_when_no_department_holds_it() -> None:
    _, (result,) = fire_at(three_day_record(held=False), at("2025-11-13", 17))
    (apology,) = [p for p in result.payloads if isinstance(p, ApologyDue)]
    assert apology.department_code == "000.00.21.H40"
    assert not any(isinstance(p, DelayExplanationRequested) for p in result.payloads)
