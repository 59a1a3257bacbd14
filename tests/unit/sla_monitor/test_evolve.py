"""Events fold into the deadline; what cannot apply is refused and leaves the state untouched."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.sla_monitor.domain import Deadline, SlaEvent, evolve, fire

from .factories import (
    CAL,
    DEPT,
    OTHER,
    POLICY,
    accepted,
    apply,
    at,
    delay_reported,
    rejected,
    resolved,
    result_returned,
    returned_misrouted,
    routed,
    run,
    submitted,
    supplement_requested,
    supplemented,
)


def open_record() -> Deadline:
    # 3 days from Mon 10 Nov 2025 10:00 -> due Thu 13 Nov 17:00.
    return run((submitted(at("2025-11-10"), 3), at("2025-11-10")),
               (routed(), at("2025-11-10", 10, 5)), (accepted(), at("2025-11-10", 11)))


def refuse(state: Deadline | None, event: SlaEvent, when: str = "2025-11-11") -> str:
    result = evolve(state, event, at=at(when), now=at(when), calendar=CAL, policy=POLICY)
    assert result.state is state, "a refusal must hand back the very same state"
    (refusal,) = result.refusals
    assert refusal.detail
    return refusal.reason


def test_submission_takes_the_receipt_and_recounts_it() -> None:
    state = open_record()
    assert (state.accepted_on, state.due_original_at, state.due_current_at) == (
        date(2025, 11, 10), at("2025-11-13", 17), at("2025-11-13", 17))
    assert state.receipt_mismatch_on is None
    assert (state.department_code, state.accepted, state.routed_at) == (DEPT, True, at("2025-11-10", 10, 5))
    assert state.revision == 3 and state.last_event_at == at("2025-11-10", 11)


def test_a_receipt_the_calendar_disagrees_with_still_binds_but_is_flagged() -> None:
    # The calendar gives Thu 13 Nov; a receipt promising Fri 14 Nov is kept, the difference noted.
    state = run((submitted(at("2025-11-10"), 3, receipt_day="2025-11-14"), at("2025-11-10")))
    assert state.due_current_at == at("2025-11-14", 17)
    assert state.receipt_mismatch_on == date(2025, 11, 13)


def test_update_for_an_unknown_record_is_refused() -> None:
    assert refuse(None, accepted()) == "unknown_record"


def test_supplement_without_a_request_is_refused() -> None:
    assert refuse(open_record(), supplemented()) == "no_pending_supplement"


def test_closing_a_closed_record_is_refused() -> None:
    state = apply(open_record(), resolved(), at("2025-11-12"))
    assert refuse(state, rejected(), "2025-11-12") == "already_closed"
    assert refuse(state, supplement_requested(), "2025-11-12") == "already_closed"
    # Handing over the result of a resolved record is the normal next step, once.
    state = apply(state, result_returned(), at("2025-11-13", 9))
    assert state.closure is not None and state.closure.returned_at == at("2025-11-13", 9)
    assert state.closure.closed_at == at("2025-11-12")
    assert refuse(state, result_returned(), "2025-11-13") == "already_closed"


def test_an_event_from_the_future_is_refused() -> None:
    state = open_record()
    result = evolve(state, resolved(), at=at("2025-11-12", 10, 6), now=at("2025-11-12", 10),
                    calendar=CAL, policy=POLICY)
    assert [r.reason for r in result.refusals] == ["event_from_the_future"]
    assert result.state is state
    # Within the 5-minute tolerance it applies.
    within = evolve(state, resolved(), at=at("2025-11-12", 10, 4), now=at("2025-11-12", 10),
                    calendar=CAL, policy=POLICY)
    assert within.refusals == () and within.state is not None and within.state.is_closed


def test_other_refusals() -> None:
    state = open_record()
    assert refuse(state, submitted(at("2025-11-10"), 3)) == "already_submitted"
    assert refuse(state, delay_reported(at("2025-11-12", 9))) == "appointment_not_later"
    waiting = apply(state, supplement_requested(), at("2025-11-11"))
    assert refuse(waiting, supplement_requested(), "2025-11-11") == "supplement_already_pending"


def test_the_same_event_twice_is_harmless() -> None:
    state = open_record()
    once = apply(state, supplement_requested(), at("2025-11-11"), event_id="e-1")
    again = evolve(once, supplement_requested(), at=at("2025-11-11"), now=at("2025-11-11"),
                   calendar=CAL, policy=POLICY, event_id="e-1")
    assert again.duplicate and again.state is once and again.refusals == ()
    # Without an id the second supplement is refused, and the due date moves only once.
    resumed = apply(once, supplemented(), at("2025-11-12"))
    twice = evolve(resumed, supplemented(), at=at("2025-11-12"), now=at("2025-11-12"),
                   calendar=CAL, policy=POLICY)
    assert twice.state is resumed and resumed.due_current_at == at("2025-11-14", 17)
    # The same routing again changes nothing either (same department, same attempt).
    assert apply(state, routed(), at("2025-11-10", 12)).routed_at == at("2025-11-10", 10, 5)


def test_only_a_bounded_number_of_event_ids_is_kept() -> None:
    state = open_record()
    for i in range(POLICY.kept_event_ids + 5):
        state = apply(state, accepted(), at("2025-11-10", 12), event_id=f"e-{i}")
    assert len(state.applied_event_ids) == POLICY.kept_event_ids
    assert state.applied_event_ids[-1] == f"e-{POLICY.kept_event_ids + 4}"


def test_an_event_about_another_record_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="applied to the state of"):
        evolve(open_record(), accepted(code="000.00.21.H40-251110-0002"), at=at("2025-11-11"),
               now=at("2025-11-11"), calendar=CAL, policy=POLICY)


@pytest.mark.parametrize(("done", "outcome", "late_days"), [
    (at("2025-11-12", 16), "early", 0),
    (at("2025-11-13", 17, 30), "on_time", 0),  # judged by date: the receipt promises a day
    (at("2025-11-14", 9), "late", 1),
    (at("2025-11-15", 9), "late", 1),  # Saturday after a Thursday due day: Fri 14 is day 1
    (at("2025-11-17", 9), "late", 2),
    (at("2025-11-22", 9), "late", 6),  # Sat 22 after Fri 14, Mon 17 ... Fri 21: six working days
])
def test_outcome_by_the_appointment_day(done: datetime, outcome: str, late_days: int) -> None:
    state = apply(open_record(), rejected(), done)
    assert state.closure is not None
    assert (state.closure.outcome, state.closure.lateness_working_days) == (outcome, late_days)
    assert state.closure.closed_by == "rejected"


def test_state_round_trips_through_a_plain_dict() -> None:
    state = apply(open_record(), supplement_requested(), at("2025-11-11"), event_id="e-1")
    state = fire(state, at("2025-11-11", 12), CAL, POLICY).state
    state = apply(state, supplemented(), at("2025-11-12"))
    state = apply(state, delay_reported(at("2025-11-20")), at("2025-11-12", 11))
    data = state.to_dict()
    assert data["due_current_at"] == "2025-11-20T17:00:00+07:00"
    assert data["pauses"][0]["paused_on"] == "2025-11-11"
    assert Deadline.from_dict(data) == state
    naive = {**data, "accepted_at": "2025-11-10T10:00:00"}
    with pytest.raises(ValueError, match="timezone"):
        Deadline.from_dict(naive)



def test_a_return_the_rerouting_overtook_is_already_followed() -> None:
    state = open_record()
    result = evolve(state, returned_misrouted(OTHER), at=at("2025-11-11"), now=at("2025-11-11"),
                    calendar=CAL, policy=POLICY)
    assert result.refusals == ()
    assert result.state is not None and result.state.department_code == state.department_code
