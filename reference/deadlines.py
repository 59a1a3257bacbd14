"""Appointment dates and paused clocks in working days, as DOMAIN.md "Deadlines" states them."""

# Acceptance (Civil Code 2015 art. 147-148: the first day is not counted):
# * received on a working day before closing time: accepted that day (a receipt before opening
#   counts from that day's opening, the first working moment after it);
# * received after closing time or on a day off: accepted the next working day, when
#   `defer_outside_hours` is on (the default; stated for treasury and customs, assumed general);
#   with it off, the calendar day of receipt is the acceptance day whatever the hour.
# A period of N working days is due on the N-th working day after acceptance, at closing time.
# Same-day procedures (N == 0) are due on the acceptance day, unless received at or after the
# cut-off (15:00, Decision 1872/QĐ-BTP) on that day: then the next working day.

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from reference.calendar import WorkingCalendar, WorkingHours
from reference.localtime import local_instant, to_local

SAME_DAY_CUTOFF = time(15, 0)


@dataclass(frozen=True)
class Appointment:
    """What the receipt (form 01) promises: when counting starts and when the result is due."""

    received_at: datetime
    accepted_on: date
    due_date: date
    due_at: datetime
    provisional: bool = False
    """Counted on a provisional calendar year: the date may move when the official one comes."""


def appointment(
    received_at: datetime,
    processing_days: int,
    calendar: WorkingCalendar,
    *,
    same_day_cutoff: time = SAME_DAY_CUTOFF,
    hours: WorkingHours | None = None,
    defer_outside_hours: bool = True,
) -> Appointment:
    """The appointment for a complete record received at `received_at` (aware)."""
    if processing_days < 0:
        raise ValueError(f"processing_days must be >= 0; got {processing_days}")
    opening = hours or calendar.hours
    local = to_local(received_at)
    day, at = local.date(), local.time().replace(tzinfo=None)
    counts_today = calendar.is_working_day(day) and at < opening.end
    if counts_today or not defer_outside_hours:
        accepted_on = day
    else:
        accepted_on = calendar.next_working_day(day)
    if processing_days > 0:
        due = calendar.add_working_days(accepted_on, processing_days)
    elif accepted_on == day and (at >= same_day_cutoff or not calendar.is_working_day(day)):
        due = calendar.next_working_day(day)
    else:
        due = accepted_on
    provisional = calendar.is_provisional(accepted_on) or calendar.is_provisional(due)
    return Appointment(received_at=received_at, accepted_on=accepted_on, due_date=due,
                       due_at=local_instant(due, opening.end), provisional=provisional)


def extend_for_pause(
    due_date: date, paused_on: date, resumed_on: date, calendar: WorkingCalendar
) -> date:
    """The due date after a supplement wait that does not count (the default).

    It moves later by the working days strictly after the request day up to and including the
    day the supplement arrives, so the days used before the request stay used.
    """
    if resumed_on < paused_on:
        raise ValueError(f"resumed on {resumed_on}, before the pause on {paused_on}")
    return calendar.add_working_days(due_date, calendar.working_days_between(paused_on, resumed_on))


def remaining_working_days(today: date, due_date: date, calendar: WorkingCalendar) -> int:
    """Working days left until the due date: 0 when due today, negative once overdue."""
    return calendar.working_days_between(today, due_date)
