"""Vietnam's wall-clock time, in which all working-day arithmetic is done."""

# Vietnam has used UTC+7 with no daylight saving since 1975, so a fixed offset is exact for every
# date this system handles and needs no tz database (slim images often lack one).

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")
"""Asia/Ho_Chi_Minh as a fixed offset (UTC+7, no DST)."""


def to_local(instant: datetime) -> datetime:
    """The same instant on Vietnam's clock; naive datetimes are refused, never guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware; got {instant.isoformat()}")
    return instant.astimezone(VIETNAM)


def local_instant(day: date, at: time) -> datetime:
    """The aware instant of a wall-clock time on a day in Vietnam."""
    return datetime.combine(day, at, tzinfo=VIETNAM)
