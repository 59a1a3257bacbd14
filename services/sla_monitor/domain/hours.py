"""Working-hours arithmetic on the official calendar, since alerts fire hours, not days, ahead."""

# A working day is the calendar's opening hours (08:00-17:00 by default, no lunch break). Sums of
# hours are kept as timedelta internally and returned in hours for the contracts.

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from reference.calendar import WorkingCalendar
from reference.localtime import local_instant, to_local

_ONE_DAY = timedelta(days=1)


def day_length(calendar: WorkingCalendar) -> timedelta:
    """The length of one working day (9 hours for 08:00-17:00)."""
    hours = calendar.hours
    return datetime.combine(date.min, hours.end) - datetime.combine(date.min, hours.start)


def day_end(day: date, calendar: WorkingCalendar) -> datetime:
    """Closing time of `day` in Vietnam: when a result promised for that day is due."""
    return local_instant(day, calendar.hours.end)


def _window(day: date, calendar: WorkingCalendar) -> tuple[datetime, datetime] | None:
    if not calendar.is_working_day(day):
        return None
    return local_instant(day, calendar.hours.start), local_instant(day, calendar.hours.end)


def working_time_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time from instant `a` to instant `b` (negative when b < a)."""
    if b < a:
        return -working_time_between(b, a, calendar)
    total = timedelta(0)
    day, last = to_local(a).date(), to_local(b).date()
    while day <= last:
        window = _window(day, calendar)
        if window is not None:
            low, high = max(a, window[0]), min(b, window[1])
            if high > low:
                total += high - low
        day += _ONE_DAY
    return total


def working_hours_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> float:
    """Working hours from `a` to `b`, rounded to the minute's share (negative when b < a)."""
    return round(working_time_between(a, b, calendar).total_seconds() / 3600, 2)


def add_working_time(instant: datetime, amount: timedelta, calendar: WorkingCalendar) -> datetime:
    """The instant when `amount` of working time has passed after `instant`.

    Landing exactly on a closing time gives that closing time, not the next opening.
    """
    if amount < timedelta(0):
        return subtract_working_time(instant, -amount, calendar)
    if amount == timedelta(0):
        return instant
    remaining, current = amount, to_local(instant)
    day = current.date()
    while True:
        window = _window(day, calendar)
        if window is not None:
            start = max(current, window[0])
            if start < window[1]:
                if remaining <= window[1] - start:
                    return start + remaining
                remaining -= window[1] - start
        day += _ONE_DAY
        current = local_instant(day, time.min)


def subtract_working_time(instant: datetime, amount: timedelta, calendar: WorkingCalendar) -> datetime:
    """The instant `amount` of working time before `instant`.

    Landing exactly on an opening time gives that opening time, not the previous closing: an
    alert "one working day before 17:00 Thursday" fires at 08:00 Thursday, in office hours.
    """
    if amount < timedelta(0):
        return add_working_time(instant, -amount, calendar)
    if amount == timedelta(0):
        return instant
    remaining, current = amount, to_local(instant)
    day = current.date()
    while True:
        window = _window(day, calendar)
        if window is not None:
            end = min(current, window[1])
            if end > window[0]:
                if remaining <= end - window[0]:
                    return end - remaining
                remaining -= end - window[0]
        current = local_instant(day, time.min)
        day -= _ONE_DAY


def lateness_days(due_day: date, done_day: date, calendar: WorkingCalendar) -> int:
    """Working days late when done on `done_day` for `due_day`: 0 when on or before it.

    Done on a day off counts with the working day before it, and at least one day late (due
    Friday, done Saturday: 1; due Thursday, done Saturday: 1, Friday being the first day late).
    """
    if done_day <= due_day:
        return 0
    return max(calendar.working_days_between(due_day, done_day), 1)
