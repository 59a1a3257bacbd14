"""Whether next year's calendar is ready, so operators hear of it before deadlines reach it."""

# A 15-working-day procedure received in mid-December is due in January: from 1 October on, a
# missing or provisional calendar for next year is worth a warning. The service stays ready (a
# provisional year still counts deadlines, and a missing one only refuses those that reach it).

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from reference.calendar import WorkingCalendar

WARN_FROM_MONTH = 10
"""From 1 October of a year, next year's calendar is looked at."""

YearStatus = Literal["official", "provisional", "missing"]


@dataclass(frozen=True)
class CalendarOutlook:
    """The state of the calendar year after `today`'s."""

    year: int
    status: YearStatus
    attention: bool
    """Whether an operator must act now: from 1 October, a year not yet official."""

    def message(self) -> str:
        if self.status == "missing":
            return (f"no working calendar for {self.year}: appointments that reach it cannot be "
                    f"counted; add reference/data/calendar/{self.year}.json")
        if self.status == "provisional":
            return (f"the working calendar for {self.year} is provisional: replace "
                    f"reference/data/calendar/{self.year}.json when the Government's notice is out")
        return f"the working calendar for {self.year} is official"


def year_status(calendar: WorkingCalendar, year: int) -> YearStatus:
    if year not in calendar.years:
        return "missing"
    return "provisional" if year in calendar.provisional_years else "official"


def next_year_outlook(calendar: WorkingCalendar, today: date) -> CalendarOutlook:
    """Next year's status on `today` (local date), and whether it needs attention yet."""
    year = today.year + 1
    status = year_status(calendar, year)
    return CalendarOutlook(year=year, status=status,
                           attention=status != "official" and today.month >= WARN_FROM_MONTH)
