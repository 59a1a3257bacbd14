"""Working days at the edges of the official 2025 and 2026 calendars and the provisional 2027."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from reference.calendar import WorkingCalendar, WorkingHours, load_calendar
from reference.calendar_files import parse_calendar_year
from reference.errors import ReferenceDataError, YearNotCovered
from reference.localtime import VIETNAM


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar()


def test_loads_the_official_years_and_the_provisional_one(cal: WorkingCalendar) -> None:
    assert cal.years == frozenset({2025, 2026, 2027})
    assert cal.provisional_years == frozenset({2027})


@pytest.mark.parametrize("day", [
    "2025-01-01", "2025-01-27", "2025-01-31", "2025-04-07", "2025-04-30", "2025-05-01",
    "2025-05-02", "2025-09-01", "2025-09-02", "2026-01-01", "2026-01-02", "2026-02-16",
    "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01",
    "2026-09-02",
])
def test_official_weekday_days_off_are_not_working_days(cal: WorkingCalendar, day: str) -> None:
    assert not cal.is_working_day(date.fromisoformat(day))


def test_make_up_saturdays_are_working_days(cal: WorkingCalendar) -> None:
    # Sat 26 Apr 2025 paid for Fri 2 May; Sat 10 Jan 2026 for Fri 2 Jan; Sat 22 Aug 2026 for Mon 31 Aug.
    for day in (date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)):
        assert day.weekday() == 5
        assert cal.is_working_day(day)
    assert not cal.is_working_day(date(2026, 1, 17))  # an ordinary Saturday


def test_hung_kings_on_sunday_gives_monday_off(cal: WorkingCalendar) -> None:
    # 10/3 lunar fell on Sun 26 Apr 2026, so Mon 27 Apr is the substitute day off.
    off = cal.day_off(date(2026, 4, 27))
    assert off is not None and off.kind == "substitute" and off.replaces == date(2026, 4, 26)
    # From Fri 24 Apr: Mon 27 off, Tue 28 (1), Wed 29 (2); Thu 30 and Fri 1 May off; Mon 4 May (3).
    assert cal.add_working_days(date(2026, 4, 24), 2) == date(2026, 4, 29)
    assert cal.add_working_days(date(2026, 4, 24), 3) == date(2026, 5, 4)


def test_year_end_skips_new_year_and_swapped_day(cal: WorkingCalendar) -> None:
    # Wed 31 Dec 2025 + 3: Thu 1 Jan off, Fri 2 Jan swapped off, weekend,
    # Mon 5 Jan (1), Tue 6 (2), Wed 7 (3).
    assert cal.add_working_days(date(2025, 12, 31), 3) == date(2026, 1, 7)


def test_make_up_saturday_counts_in_additions(cal: WorkingCalendar) -> None:
    # Fri 9 Jan 2026 + 1 = Sat 10 Jan (make-up day). Fri 25 Apr 2025 + 2: Sat 26 (1), Mon 28 (2).
    assert cal.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 10)
    assert cal.add_working_days(date(2025, 4, 25), 2) == date(2025, 4, 28)


def test_tet_2026_block_is_jumped(cal: WorkingCalendar) -> None:
    # Fri 13 Feb + 5: Sat 14 - Sun 22 Feb off; Mon 23 (1) ... Fri 27 (5).
    assert cal.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert cal.previous_working_day(date(2026, 2, 23)) == date(2026, 2, 13)


def test_working_days_between_excludes_start_and_includes_end(cal: WorkingCalendar) -> None:
    # (Fri 13 Feb, Fri 27 Feb 2026]: Mon 23 - Fri 27 = 5; reversed gives -5; same day 0.
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5
    assert cal.working_days_between(date(2026, 2, 27), date(2026, 2, 13)) == -5
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0


def test_add_zero_and_negative_working_days(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2026, 2, 14), 0) == date(2026, 2, 14)
    # Mon 5 Jan 2026 - 1: Sun 4, Sat 3, Fri 2 (off), Thu 1 (off), Wed 31 Dec 2025.
    assert cal.add_working_days(date(2026, 1, 5), -1) == date(2025, 12, 31)


def test_culture_day_row_is_off_by_default_and_on_when_enabled(cal: WorkingCalendar) -> None:
    tuesday = date(2026, 11, 24)
    assert cal.is_working_day(tuesday)
    # Mon 23 Nov + 1 = Tue 24 by default; with the row enabled, Wed 25.
    assert cal.add_working_days(date(2026, 11, 23), 1) == tuesday
    enabled = load_calendar(enable={tuesday})
    assert not enabled.is_working_day(tuesday)
    assert enabled.add_working_days(date(2026, 11, 23), 1) == date(2026, 11, 25)


def test_enabling_a_date_without_a_switchable_row_is_refused() -> None:
    with pytest.raises(ValueError, match="2026-11-25"):
        load_calendar(enable={date(2026, 11, 25)})


def test_year_not_covered_raises_naming_the_year(cal: WorkingCalendar) -> None:
    with pytest.raises(YearNotCovered, match="2028"):
        cal.is_working_day(date(2028, 1, 4))
    with pytest.raises(YearNotCovered, match="2024"):
        cal.is_working_day(date(2024, 12, 31))
    # Thu 30 Dec 2027 + 5 runs into 2028: refused rather than guessed.
    with pytest.raises(YearNotCovered, match="2028"):
        cal.add_working_days(date(2027, 12, 30), 5)
    with pytest.raises(YearNotCovered, match="2030"):
        load_calendar(years=[2030])


def test_the_provisional_year_is_flagged(cal: WorkingCalendar) -> None:
    # Wed 30 Dec 2026 + 5: Thu 31 (1), Fri 1 Jan 2027 off, Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5).
    assert cal.add_working_days(date(2026, 12, 30), 5) == date(2027, 1, 7)
    assert cal.is_provisional(date(2027, 1, 7)) and not cal.is_provisional(date(2026, 12, 30))
    assert cal.covered_until(date(2025, 3, 1)) == date(2027, 12, 31)


def test_tet_2027_is_counted_in_the_provisional_year(cal: WorkingCalendar) -> None:
    # Tết Đinh Mùi is Sat 6 Feb 2027: Thu 4 - Wed 10 Feb off, as 2024 did with Tết on a Saturday.
    for day in ("2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"):
        off = cal.day_off(date.fromisoformat(day))
        assert off is not None and off.kind == "tet"
    assert cal.next_working_day(date(2027, 2, 3)) == date(2027, 2, 11)
    # 15 working days from Mon 25 Jan 2027: Mon 22 Feb, five working days later than Mon-Fri.
    assert cal.add_working_days(date(2027, 1, 25), 15) == date(2027, 2, 22)


def test_2027_weekend_holidays_give_the_next_weekday_and_national_day_its_adjacent_day(
        cal: WorkingCalendar) -> None:
    # Fri 30 Apr off, Sat 1 May gives Mon 3 May off: Thu 29 Apr + 1 = Tue 4 May.
    assert cal.add_working_days(date(2027, 4, 29), 1) == date(2027, 5, 4)
    # Fri 16 Apr (Hùng Kings): Thu 15 + 1 = Mon 19.
    assert cal.next_working_day(date(2027, 4, 15)) == date(2027, 4, 19)
    # Thu 2 and Fri 3 Sep off: Wed 1 Sep + 1 = Mon 6 Sep.
    assert cal.next_working_day(date(2027, 9, 1)) == date(2027, 9, 6)
    assert cal.is_working_day(date(2027, 11, 24))  # Culture Day, switchable and off


def test_a_provisional_year_must_give_its_rules_and_a_source_per_row() -> None:
    row = '{"date": "2027-01-01", "name_vi": "x", "name_en": "x", "kind": "holiday"}'
    text = '{"year": 2027, "status": "provisional", "sources": ["s"], %s "days_off": [%s]}'
    with pytest.raises(ReferenceDataError, match="rules"):
        parse_calendar_year(text % ("", row), "2027.json")
    with pytest.raises(ReferenceDataError, match="without a source: 2027-01-01"):
        parse_calendar_year(text % ('"rules": ["r"],', row), "2027.json")
    sourced = row.replace('"kind"', '"source": "Labour Code", "kind"')
    assert parse_calendar_year(text % ('"rules": ["r"],', sourced), "2027.json").status == "provisional"


def test_working_hours_per_receiving_unit(cal: WorkingCalendar) -> None:
    monday = date(2025, 11, 10)
    assert cal.is_within_working_hours(datetime.combine(monday, time(8, 0), VIETNAM))
    assert not cal.is_within_working_hours(datetime.combine(monday, time(17, 0), VIETNAM))
    assert not cal.is_within_working_hours(datetime.combine(monday, time(7, 59), VIETNAM))
    # 10:30 UTC is 17:30 in Vietnam.
    assert not cal.is_within_working_hours(datetime(2025, 11, 10, 10, 30, tzinfo=UTC))
    assert cal.is_within_working_hours(datetime(2025, 11, 10, 9, 59, tzinfo=UTC))  # 16:59
    late = cal.with_hours(WorkingHours(start=time(7, 30), end=time(17, 30)))
    assert late.is_within_working_hours(datetime.combine(monday, time(17, 15), VIETNAM))
    sunday = date(2025, 11, 9)
    assert not cal.is_within_working_hours(datetime.combine(sunday, time(10, 0), VIETNAM))


def test_naive_datetimes_and_inverted_hours_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        cal.is_within_working_hours(datetime(2025, 11, 10, 10, 0))
    with pytest.raises(ValueError, match="start before"):
        WorkingHours(start=time(17, 0), end=time(8, 0))


@pytest.mark.parametrize(("rows", "complaint"), [
    ('"days_off": [{"date": "2026-02-14", "name_vi": "x", "name_en": "x", "kind": "tet"}]',
     "weekend day"),
    ('"days_off": [{"date": "2025-12-31", "name_vi": "x", "name_en": "x", "kind": "holiday"}]',
     "calendar of 2026"),
    ('"days_off": [], "make_up_working_days": [{"date": "2026-01-09", "name_vi": "x", '
     '"name_en": "x", "replaces": "2026-01-02"}]', "not a weekend day"),
])
def test_malformed_calendar_data_fails_loudly(rows: str, complaint: str) -> None:
    text = '{"year": 2026, "sources": ["test"], ' + rows + "}"
    with pytest.raises(ReferenceDataError, match=complaint):
        parse_calendar_year(text, "2026.json")
