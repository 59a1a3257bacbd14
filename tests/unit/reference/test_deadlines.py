"""Appointment dates and pauses: the receipt's promise at the edges of the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from reference.calendar import WorkingCalendar, WorkingHours, load_calendar
from reference.deadlines import appointment, extend_for_pause, remaining_working_days
from reference.localtime import VIETNAM


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar()


def at(day: str, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hh, mm), VIETNAM)


def test_received_within_hours_counts_from_the_next_day(cal: WorkingCalendar) -> None:
    # Mon 10 Nov 2025 10:00, 3 days: accepted Mon 10; Tue 11 (1), Wed 12 (2), Thu 13 (3).
    result = appointment(at("2025-11-10", 10), 3, cal)
    assert result.accepted_on == date(2025, 11, 10)
    assert result.due_date == date(2025, 11, 13)
    assert result.due_at == at("2025-11-13", 17)
    assert result.due_at.utcoffset() is not None


def test_friday_evening_online_submission(cal: WorkingCalendar) -> None:
    # Fri 14 Nov 2025 19:00, 3 days: accepted Mon 17; Tue 18 (1), Wed 19 (2), Thu 20 (3).
    result = appointment(at("2025-11-14", 19), 3, cal)
    assert result.accepted_on == date(2025, 11, 17)
    assert result.due_date == date(2025, 11, 20)


def test_friday_evening_without_deferral_counts_from_friday(cal: WorkingCalendar) -> None:
    # Flag off: accepted Fri 14; Mon 17 (1), Tue 18 (2), Wed 19 (3).
    result = appointment(at("2025-11-14", 19), 3, cal, defer_outside_hours=False)
    assert result.accepted_on == date(2025, 11, 14)
    assert result.due_date == date(2025, 11, 19)


def test_eve_of_tet_2026(cal: WorkingCalendar) -> None:
    # Fri 13 Feb 2026 10:00, 5 days: accepted Fri 13; 14-22 Feb off; Mon 23 (1) ... Fri 27 (5).
    result = appointment(at("2026-02-13", 10), 5, cal)
    assert result.accepted_on == date(2026, 2, 13)
    assert result.due_date == date(2026, 2, 27)


def test_received_at_0730_counts_from_that_days_opening(cal: WorkingCalendar) -> None:
    # Mon 10 Nov 2025 07:30: the first working moment after receipt is Mon 08:00, so accepted
    # Mon 10; 3 days -> Thu 13.
    result = appointment(at("2025-11-10", 7, 30), 3, cal)
    assert result.accepted_on == date(2025, 11, 10)
    assert result.due_date == date(2025, 11, 13)


def test_received_at_1730_counts_from_the_next_working_day(cal: WorkingCalendar) -> None:
    # Mon 10 Nov 2025 17:30: accepted Tue 11; Wed 12 (1), Thu 13 (2), Fri 14 (3).
    result = appointment(at("2025-11-10", 17, 30), 3, cal)
    assert result.accepted_on == date(2025, 11, 11)
    assert result.due_date == date(2025, 11, 14)


def test_received_on_sunday(cal: WorkingCalendar) -> None:
    # Sun 9 Nov 2025 10:00: accepted Mon 10; 3 days -> Thu 13. Same-day: due Mon 10.
    assert appointment(at("2025-11-09", 10), 3, cal).due_date == date(2025, 11, 13)
    same_day = appointment(at("2025-11-09", 10), 0, cal)
    assert same_day.accepted_on == same_day.due_date == date(2025, 11, 10)


def test_same_day_procedure_before_and_after_the_cutoff(cal: WorkingCalendar) -> None:
    # Mon 10 Nov 2025: 14:59 -> due Mon 10 17:00; 15:00 and 15:01 -> due Tue 11 17:00.
    before = appointment(at("2025-11-10", 14, 59), 0, cal)
    assert before.accepted_on == before.due_date == date(2025, 11, 10)
    assert before.due_at == at("2025-11-10", 17)
    for minute in (0, 1):
        after = appointment(at("2025-11-10", 15, minute), 0, cal)
        assert after.accepted_on == date(2025, 11, 10)
        assert after.due_date == date(2025, 11, 11)
        assert after.due_at == at("2025-11-11", 17)


def test_same_day_cutoff_is_read_in_vietnam_time(cal: WorkingCalendar) -> None:
    # 08:30 UTC is 15:30 in Vietnam: after the cut-off, so due Tue 11 Nov 2025.
    result = appointment(datetime(2025, 11, 10, 8, 30, tzinfo=UTC), 0, cal)
    assert result.due_date == date(2025, 11, 11)


def test_same_day_at_0730_is_due_that_day(cal: WorkingCalendar) -> None:
    assert appointment(at("2025-11-10", 7, 30), 0, cal).due_date == date(2025, 11, 10)


def test_same_day_on_the_eve_of_tet_after_cutoff(cal: WorkingCalendar) -> None:
    # Fri 13 Feb 2026 15:30: next working day is Mon 23 Feb.
    assert appointment(at("2026-02-13", 15, 30), 0, cal).due_date == date(2026, 2, 23)


def test_receiving_unit_hours_change_acceptance_and_due_time(cal: WorkingCalendar) -> None:
    # A desk open 07:30-17:30: a receipt at 17:15 Mon 10 Nov 2025 counts that day,
    # 1 day -> Tue 11 at 17:30.
    hours = WorkingHours(start=time(7, 30), end=time(17, 30))
    result = appointment(at("2025-11-10", 17, 15), 1, cal, hours=hours)
    assert result.accepted_on == date(2025, 11, 10)
    assert result.due_at == at("2025-11-11", 17, 30)


def test_make_up_saturday_is_a_receiving_day(cal: WorkingCalendar) -> None:
    # Sat 26 Apr 2025 10:00, 2 days: accepted Sat 26; Mon 28 (1), Tue 29 (2).
    result = appointment(at("2025-04-26", 10), 2, cal)
    assert result.accepted_on == date(2025, 4, 26)
    assert result.due_date == date(2025, 4, 29)


def test_invalid_inputs_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="processing_days"):
        appointment(at("2025-11-10", 10), -1, cal)
    with pytest.raises(ValueError, match="aware"):
        appointment(datetime(2025, 11, 10, 10), 1, cal)


def test_pause_across_a_weekend(cal: WorkingCalendar) -> None:
    # Due Wed 19 Nov 2025; supplement asked Thu 13, received Mon 17: (13, 17] = Fri 14, Mon 17
    # = 2 working days, so due moves to Fri 21 Nov.
    assert extend_for_pause(date(2025, 11, 19), date(2025, 11, 13), date(2025, 11, 17), cal) \
        == date(2025, 11, 21)


def test_pause_across_tet(cal: WorkingCalendar) -> None:
    # Due Thu 26 Feb 2026; asked Thu 12 Feb, received Tue 24 Feb: (12 Feb, 24 Feb] = Fri 13,
    # Mon 23, Tue 24 = 3; from Thu 26: Fri 27 (1), Mon 2 Mar (2), Tue 3 Mar (3).
    assert extend_for_pause(date(2026, 2, 26), date(2026, 2, 12), date(2026, 2, 24), cal) \
        == date(2026, 3, 3)


def test_pause_resumed_the_same_day_moves_nothing(cal: WorkingCalendar) -> None:
    assert extend_for_pause(date(2026, 3, 3), date(2026, 2, 24), date(2026, 2, 24), cal) \
        == date(2026, 3, 3)
    with pytest.raises(ValueError, match="before the pause"):
        extend_for_pause(date(2026, 3, 3), date(2026, 2, 24), date(2026, 2, 23), cal)


def test_remaining_working_days(cal: WorkingCalendar) -> None:
    # Today Fri 13 Feb 2026, due Wed 25 Feb: Mon 23, Tue 24, Wed 25 = 3.
    assert remaining_working_days(date(2026, 2, 13), date(2026, 2, 25), cal) == 3
    assert remaining_working_days(date(2026, 2, 25), date(2026, 2, 25), cal) == 0
    # Today Fri 27 Feb, due Wed 25 Feb: two working days late (Thu 26, Fri 27).
    assert remaining_working_days(date(2026, 2, 27), date(2026, 2, 25), cal) == -2
