"""Which days the demo's story runs on: today's when the shipped calendars hold all of it.

The story needs a stretch of working days from its first morning: the longest procedure in the
mix, then the days it lets run late, the departments' new dates and the escalations after them.
When today's story would reach a year with no calendar file (late December of the last shipped
year, or any day after it, or before the first), the demo replays the latest stretch the
calendars cover instead, and says so. The services only ever see the demo's test clocks, so a
story in the past behaves as one today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from reference.calendar import WorkingCalendar
from reference.errors import YearNotCovered
from reference.localtime import local_instant, to_local

OPENING = time(8, 0)
AFTER_LONGEST_DUE = 10
"""Working days the story runs past its longest due date: three let run late, three to the
departments' new dates, the second escalation, a supplement's pause, and a margin."""


@dataclass(frozen=True)
class DemoPeriod:
    """The story's first morning, the last day it may reach, and why it was chosen."""

    start: datetime
    reaches: date
    today: bool
    """True when the story starts the working morning after today; False for a replay."""
    provisional: bool
    """Whether some of its days come from a provisional calendar year."""

    def describe(self) -> str:
        start, reaches = to_local(self.start), self.reaches
        when = ("from the next working morning" if self.today else
                "on the latest stretch the shipped calendars cover (today's story would run past "
                "them)")
        note = "; part of it on a provisional calendar year" if self.provisional else ""
        return (f"the story runs {when}: {start:%a %d/%m/%Y %H:%M} to {reaches:%a %d/%m/%Y} at "
                f"the latest{note}")


def story_working_days(longest_processing_days: int) -> int:
    """Working days from the first morning that the story may reach."""
    return longest_processing_days + AFTER_LONGEST_DUE


def demo_period(now: datetime, calendar: WorkingCalendar, span: int) -> DemoPeriod:
    """Today's story when it fits the calendars, else the latest one that does."""
    try:
        first = calendar.next_working_day(to_local(now).date())
        return _period(first, calendar.add_working_days(first, span), calendar, today=True)
    except YearNotCovered:
        pass
    first = calendar.add_working_days(date(max(calendar.years), 12, 31), -span)
    return _period(first, calendar.add_working_days(first, span), calendar, today=False)


def _period(first: date, reaches: date, calendar: WorkingCalendar, *, today: bool) -> DemoPeriod:
    years = range(first.year, reaches.year + 1)
    return DemoPeriod(start=local_instant(first, OPENING), reaches=reaches, today=today,
                      provisional=any(year in calendar.provisional_years for year in years))
