"""Waiting for a supplement stops the clock and moves the appointment by the days waited."""

from __future__ import annotations

from datetime import date

from services.sla_monitor.domain import ProcedurePolicy, SlaPolicy, fire

from .factories import (
    CAL,
    POLICY,
    accepted,
    apply,
    at,
    resolved,
    routed,
    run,
    submitted,
    supplement_requested,
    supplemented,
)


def test_pause_over_a_weekend_moves_the_due_day_by_the_working_days_waited() -> None:
    # 5 days from Mon 10 Nov 2025: Tue 11 (1) Wed 12 (2) Thu 13 (3) Fri 14 (4) Mon 17 (5).
    # Requested Fri 14, supplied Mon 17: days after Fri 14 up to Mon 17 = Mon 17 only (Sat, Sun
    # are off) -> 1 day: due Tue 18 Nov.
    state = run((submitted(at("2025-11-10"), 5), at("2025-11-10")),
                (routed(), at("2025-11-10", 11)), (accepted(), at("2025-11-10", 12)),
                (supplement_requested(), at("2025-11-14")))
    assert state.status == "paused"
    assert state.due_current_at == at("2025-11-17", 17)
    state = apply(state, supplemented(), at("2025-11-17", 9))
    assert state.status == "open"
    assert state.due_current_at == at("2025-11-18", 17)
    assert state.due_original_at == at("2025-11-18", 17)  # a pause moves both appointments
    assert state.pauses[-1].paused_on == date(2025, 11, 14)
    assert state.pauses[-1].resumed_on == date(2025, 11, 17)
    assert [e.kind for e in state.extensions] == ["pause"]


def test_pause_across_tet_2026() -> None:
    # 5 days from Mon 9 Feb 2026: Tue 10 (1) Wed 11 (2) Thu 12 (3) Fri 13 (4), 14-22 Feb off,
    # Mon 23 (5) -> due Mon 23 Feb. Requested Thu 12, supplied Tue 24: waited Fri 13, Mon 23,
    # Tue 24 = 3 working days (Tết 16-20 and the weekends do not count) -> Mon 23 + 3 = Thu 26.
    # Check: used Tue 10, Wed 11, Thu 12 (3); then Wed 25 (4), Thu 26 (5).
    state = run((submitted(at("2026-02-09"), 5), at("2026-02-09")),
                (routed(), at("2026-02-09", 11)), (accepted(), at("2026-02-09", 12)),
                (supplement_requested(), at("2026-02-12", 15)))
    assert state.due_current_at == at("2026-02-23", 17)
    # Paused past the old due time: nothing late fires.
    assert fire(state, at("2026-02-23", 18), CAL, POLICY).alerts == ()
    state = apply(state, supplemented(), at("2026-02-24", 9))
    assert state.due_current_at == at("2026-02-26", 17)


def test_pause_over_the_make_up_saturday_of_january_2026() -> None:
    # 3 days from Thu 8 Jan 2026: Fri 9 (1), Sat 10 (2, worked for Fri 2 Jan), Mon 12 (3).
    # Requested Fri 9, supplied Mon 12: waited Sat 10 and Mon 12 = 2 days -> Mon 12 + 2 = Wed 14.
    # Check: used Fri 9 (1); then Tue 13 (2), Wed 14 (3).
    state = run((submitted(at("2026-01-08"), 3), at("2026-01-08")))
    assert state.due_current_at == at("2026-01-12", 17)
    state = apply(state, supplement_requested(), at("2026-01-09", 9))
    state = apply(state, supplemented(), at("2026-01-12", 16))
    assert state.due_current_at == at("2026-01-14", 17)


def test_supplement_arriving_the_day_it_was_asked_moves_nothing() -> None:
    # Requested and supplied on Wed 12 Nov: no working day strictly after the request day waited.
    state = run((submitted(at("2025-11-10"), 5), at("2025-11-10")),
                (supplement_requested(), at("2025-11-12", 9)), (supplemented(), at("2025-11-12", 15)))
    assert state.due_current_at == at("2025-11-17", 17)
    assert state.extensions == ()


def test_waiting_counts_for_some_procedures_so_the_clock_runs_on() -> None:
    policy = SlaPolicy(by_procedure={"1.001193.000.00.00.H38": ProcedurePolicy(waiting_time_counts=True)})
    state = run((submitted(at("2025-11-10"), 5), at("2025-11-10")),
                (supplement_requested(), at("2025-11-14")), policy=policy)
    assert state.status == "open"
    assert state.supplement_requested_at == at("2025-11-14")
    state = apply(state, supplemented(), at("2025-11-17", 9), policy=policy)
    assert state.due_current_at == at("2025-11-17", 17)
    assert state.supplement_requested_at is None


def test_closing_during_a_pause_ends_the_pause_on_the_closing_day() -> None:
    # Due Mon 17 Nov; requested Fri 14, resolved Tue 18 without the supplement: waited Mon 17,
    # Tue 18 -> due Wed 19, so done Tue 18 is early.
    state = run((submitted(at("2025-11-10"), 5), at("2025-11-10")),
                (supplement_requested(), at("2025-11-14")), (resolved(), at("2025-11-18")))
    assert state.due_current_at == at("2025-11-19", 17)
    assert state.closure is not None and state.closure.outcome == "early"
    assert state.pauses[-1].resumed_on == date(2025, 11, 18)
    assert state.status == "closed"
