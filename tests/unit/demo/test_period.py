"""The demo's story stays inside the shipped calendars whatever day `make up` is run on."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from deploy.local.demo.period import DemoPeriod, demo_period
from deploy.local.demo.run import story_period
from reference.calendar import WorkingCalendar, load_calendar
from reference.localtime import VIETNAM, to_local

SPAN = 30


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar()


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), VIETNAM)


def assert_inside(period: DemoPeriod, cal: WorkingCalendar) -> None:
    first = to_local(period.start).date()
    assert cal.is_working_day(first) and to_local(period.start).time() == time(8, 0)
    assert cal.add_working_days(first, SPAN) == period.reaches  # counted without a gap
    assert period.reaches <= cal.covered_until(first)


def test_a_day_whose_story_fits_starts_the_next_working_morning(cal: WorkingCalendar) -> None:
    period = demo_period(at(date(2026, 10, 5)), cal, SPAN)  # a Monday
    assert period.today and to_local(period.start).date() == date(2026, 10, 6)
    assert not period.provisional
    assert_inside(period, cal)


def test_on_31_december_the_story_starts_after_new_year_on_the_provisional_year(
        cal: WorkingCalendar) -> None:
    period = demo_period(at(date(2026, 12, 31)), cal, SPAN)
    # Fri 1 Jan 2027 is a holiday, then the weekend: Mon 4 Jan; Tết lies inside the story.
    assert period.today and to_local(period.start).date() == date(2027, 1, 4)
    assert period.provisional and "provisional" in period.describe()
    assert_inside(period, cal)


def test_a_day_in_tet_starts_on_the_first_working_day_after_it(cal: WorkingCalendar) -> None:
    period = demo_period(at(date(2027, 2, 8)), cal, SPAN)  # Mon 8 Feb 2027, Tết
    assert period.today and to_local(period.start).date() == date(2027, 2, 11)
    assert_inside(period, cal)


def test_a_story_that_would_run_past_the_last_file_replays_its_end(cal: WorkingCalendar) -> None:
    last = max(cal.years)
    period = demo_period(at(date(last, 12, 31)), cal, SPAN)
    assert not period.today and "latest stretch" in period.describe()
    assert cal.working_days_between(period.reaches, date(last, 12, 31)) == 0
    assert_inside(period, cal)


@pytest.mark.parametrize("today", ["after", "before"])
def test_a_day_in_a_year_with_no_calendar_file_replays_the_latest_stretch(
        cal: WorkingCalendar, today: str) -> None:
    day = date(max(cal.years) + 1, 6, 15) if today == "after" else date(min(cal.years) - 1, 6, 15)
    period = demo_period(at(day), cal, SPAN)
    assert not period.today
    last = date(max(cal.years), 12, 31)
    assert cal.working_days_between(period.reaches, last) == 0  # the latest stretch, to the end
    assert_inside(period, cal)
    assert period == demo_period(at(date(max(cal.years) + 3, 1, 1)), cal, SPAN)


def test_the_demo_mix_gets_a_period_that_holds_its_longest_procedure() -> None:
    period = story_period(at(date(2026, 10, 5)))
    first = to_local(period.start).date()
    assert period.today and load_calendar().working_days_between(first, period.reaches) >= 20
