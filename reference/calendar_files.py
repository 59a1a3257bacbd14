"""The shape of a yearly calendar file, checked on load so a typo in the data fails loudly."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reference.errors import ReferenceDataError

DayKind = Literal["holiday", "tet", "substitute", "swapped"]
"""holiday: statutory day; tet: lunar new year block; substitute: a weekday given off because a
holiday fell on a weekend; swapped: a weekday given off in exchange for a make-up Saturday."""

CalendarStatus = Literal["official", "provisional"]
"""official: from the Government's notice; provisional: the statutory days by this file's rules,
issued before the notice, replaced by the official file when it is published."""

_WEEKEND = (5, 6)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    source: str | None = Field(default=None, min_length=1)
    """Where this row comes from (required in a provisional year: nothing official vouches for it)."""


class DayOff(_Row):
    """A weekday on which state agencies do not work."""

    kind: DayKind
    replaces: dt.date | None = None
    """substitute: the holiday that fell on a weekend; swapped: the Saturday worked instead."""


class MakeUpDay(_Row):
    """A weekend day on which state agencies work, paying back a swapped day off."""

    replaces: dt.date


class SwitchableDay(_Row):
    """A row decided in principle but not enacted: ignored unless the operator enables it."""

    effect: Literal["day_off", "working_day"] = "day_off"
    kind: DayKind = "holiday"
    enabled: bool = False
    note: str = Field(min_length=1)


class CalendarYear(BaseModel):
    """One year's official calendar for state agencies, with where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=2000, le=2100)
    status: CalendarStatus = "official"
    sources: tuple[str, ...] = Field(min_length=1)
    rules: tuple[str, ...] = ()
    """How the rows were chosen where the law leaves a choice (a provisional year must say)."""
    days_off: tuple[DayOff, ...]
    make_up_working_days: tuple[MakeUpDay, ...] = ()
    switchable: tuple[SwitchableDay, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CalendarYear:
        rows: list[_Row] = [*self.days_off, *self.make_up_working_days, *self.switchable]
        seen: set[dt.date] = set()
        for row in rows:
            if row.date.year != self.year:
                raise ValueError(f"{row.date} is listed in the calendar of {self.year}")
            if row.date in seen:
                raise ValueError(f"{row.date} is listed twice")
            seen.add(row.date)
        for off in self.days_off:
            if off.date.weekday() in _WEEKEND:
                raise ValueError(f"day off {off.date} is a weekend day; list its substitute")
        for worked in self.make_up_working_days:
            if worked.date.weekday() not in _WEEKEND:
                raise ValueError(f"make-up day {worked.date} is not a weekend day")
        for row in self.switchable:
            weekend = row.date.weekday() in _WEEKEND
            if (row.effect == "day_off") == weekend:
                raise ValueError(f"switchable {row.effect} {row.date} would change nothing")
        if self.status == "provisional":
            if not self.rules:
                raise ValueError("a provisional year must write the rules its rows were chosen by")
            unsourced = [str(row.date) for row in rows if row.source is None]
            if unsourced:
                raise ValueError(f"provisional rows without a source: {', '.join(unsourced)}")
        return self


def parse_calendar_year(text: str, origin: str) -> CalendarYear:
    """Validate one calendar file's text; `origin` names the file in the error."""
    try:
        return CalendarYear.model_validate_json(text)
    except ValidationError as error:
        raise ReferenceDataError(f"calendar file {origin} is invalid: {error}") from None
