"""Every shipped calendar year against an independent source: the `holidays` package (PyPI).

The two must name the same weekdays off, except the differences listed here, each explained.
A new year file, or a new release of the package, that disagrees elsewhere fails this test, so
the disagreement is looked at before a citizen is given a wrong appointment.
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version
from typing import Literal

import holidays
import pytest

from reference.calendar import WorkingCalendar, load_calendar

Side = Literal["only here", "only in the package"]

EXCEPTIONS: dict[date, tuple[Side, str]] = {
    date(2026, 1, 2): ("only here", "swapped day off (Sat 10 Jan 2026 worked instead), set by the "
                                    "Government's notice for 2026; the package lists no swap for "
                                    "it"),
    date(2026, 11, 24): ("only in the package", "Vietnamese Culture Day: the package counts it from "
                                                "2026 citing Resolution 80-NQ/TW; the Labour Code "
                                                "amendment was ordered, not found passed. A "
                                                "switchable row here, off by default"),
    date(2027, 11, 24): ("only in the package", "Vietnamese Culture Day, as for 2026"),
}


def weekdays_off(calendar: WorkingCalendar, year: int) -> set[date]:
    return {day for day in calendar.days_off if day.year == year}


def package_weekdays_off(year: int) -> set[date]:
    return {day for day in holidays.country_holidays("VN", years=year) if day.weekday() < 5}


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return load_calendar()


def test_the_package_is_the_release_the_exceptions_were_written_for() -> None:
    assert version("holidays") == "0.108"


@pytest.mark.parametrize("year", sorted(load_calendar().years))
def test_each_year_agrees_with_the_package_but_for_the_explained_days(
        calendar: WorkingCalendar, year: int) -> None:
    ours, theirs = weekdays_off(calendar, year), package_weekdays_off(year)
    found = {day: "only here" for day in ours - theirs} | {
        day: "only in the package" for day in theirs - ours}
    expected = {day: side for day, (side, _) in EXCEPTIONS.items() if day.year == year}
    assert found == expected


def test_every_exception_is_a_day_of_a_shipped_year(calendar: WorkingCalendar) -> None:
    assert {day.year for day in EXCEPTIONS} <= calendar.years


def test_culture_day_is_a_switchable_row_that_is_off(calendar: WorkingCalendar) -> None:
    for day, (side, _) in EXCEPTIONS.items():
        if side == "only in the package":
            assert calendar.is_working_day(day)
            assert not load_calendar(enable={day}).is_working_day(day)
