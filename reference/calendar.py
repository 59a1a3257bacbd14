"""Which days and hours state agencies work, from the official yearly calendars shipped as data."""

# Years without a calendar file raise `YearNotCovered` rather than silently counting plain
# Monday-Friday. A year shipped before the Government's notice is marked "provisional" in its
# file (the statutory days, Tết included, chosen by rules the file writes down);
# `is_provisional` lets callers tell applicants that such an appointment may move.

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from importlib.resources import files
from types import MappingProxyType

from reference.calendar_files import CalendarYear, DayOff, parse_calendar_year
from reference.errors import ReferenceDataError, YearNotCovered
from reference.localtime import to_local

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingHours:
    """Opening hours of a receiving unit on its working days, local (Vietnam) wall-clock time."""

    start: time = time(8, 0)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times; give naive times")
        if not self.start < self.end:
            raise ValueError(f"working hours must start before they end; got {self.start}-{self.end}")

    def contains(self, at: time) -> bool:
        """Whether a local time of day is within hours (start inclusive, end exclusive)."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours; build it with `load_calendar` or `build_calendar`."""

    years: frozenset[int]
    days_off: Mapping[date, DayOff]
    make_up_days: frozenset[date]
    hours: WorkingHours = field(default_factory=WorkingHours)
    provisional_years: frozenset[int] = frozenset()
    """The covered years whose file is provisional (a subset of `years`)."""

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_provisional(self, day: date) -> bool:
        """Whether `day` is counted from a provisional calendar, not an official one."""
        self._check(day)
        return day.year in self.provisional_years

    def covered_until(self, day: date) -> date:
        """The last day of the unbroken run of covered years that holds `day`."""
        self._check(day)
        year = day.year
        while year + 1 in self.years:
            year += 1
        return date(year, 12, 31)

    def day_off(self, day: date) -> DayOff | None:
        """The listed day off on `day` (None for working days and ordinary weekends)."""
        self._check(day)
        return self.days_off.get(day)

    def is_working_day(self, day: date) -> bool:
        self._check(day)
        if day in self.make_up_days:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        return self.add_working_days(day, -1)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (before it if n < 0); `day` itself if n == 0."""
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        current = day
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, a: date, b: date) -> int:
        """Working days strictly after `a` up to and including `b`; negative when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        current = a
        while current < b:
            current += _ONE_DAY
            if self.is_working_day(current):
                count += 1
        return count

    def is_within_working_hours(self, instant: datetime, hours: WorkingHours | None = None) -> bool:
        """Whether an aware instant falls in working hours of a working day, in Vietnam."""
        local = to_local(instant)
        opening = hours or self.hours
        return self.is_working_day(local.date()) and opening.contains(local.time())

    def with_hours(self, hours: WorkingHours) -> WorkingCalendar:
        """The same days with a receiving unit's own opening hours."""
        return replace(self, hours=hours)

    def _check(self, day: date) -> None:
        if not self.covers(day):
            raise YearNotCovered(day.year, self.years)


def build_calendar(
    years: Iterable[CalendarYear],
    enable: AbstractSet[date] = frozenset(),
    *,
    hours: WorkingHours | None = None,
) -> WorkingCalendar:
    """A calendar from parsed yearly data; switchable rows apply only when enabled here."""
    days_off: dict[date, DayOff] = {}
    make_up: set[date] = set()
    covered: set[int] = set()
    provisional: set[int] = set()
    unused = set(enable)
    for year in years:
        if year.year in covered:
            raise ValueError(f"calendar year {year.year} given twice")
        covered.add(year.year)
        if year.status == "provisional":
            provisional.add(year.year)
        days_off.update((row.date, row) for row in year.days_off)
        make_up.update(row.date for row in year.make_up_working_days)
        for row in year.switchable:
            if not (row.enabled or row.date in enable):
                continue
            unused.discard(row.date)
            if row.effect == "working_day":
                make_up.add(row.date)
            else:
                days_off[row.date] = DayOff(date=row.date, name_vi=row.name_vi,
                                            name_en=row.name_en, kind=row.kind)
    if unused:
        listed = ", ".join(str(d) for d in sorted(unused))
        raise ValueError(f"no switchable calendar row for {listed}")
    return WorkingCalendar(years=frozenset(covered), days_off=MappingProxyType(days_off),
                           make_up_days=frozenset(make_up), hours=hours or WorkingHours(),
                           provisional_years=frozenset(provisional))


def load_calendar(
    years: Iterable[int] | None = None,
    enable: AbstractSet[date] = frozenset(),
    *,
    hours: WorkingHours | None = None,
) -> WorkingCalendar:
    """Read the shipped yearly calendars (all of them when `years` is None) and build one."""
    folder = files("reference") / "data" / "calendar"
    available = {int(entry.name.removesuffix(".json")): entry for entry in folder.iterdir()
                 if entry.name.endswith(".json")}
    wanted = sorted(available) if years is None else sorted(set(years))
    parsed: list[CalendarYear] = []
    for year in wanted:
        if year not in available:
            raise YearNotCovered(year, frozenset(available))
        data = parse_calendar_year(available[year].read_text(encoding="utf-8"), f"{year}.json")
        if data.year != year:
            raise ReferenceDataError(f"calendar file {year}.json describes year {data.year}")
        parsed.append(data)
    return build_calendar(parsed, enable, hours=hours)
