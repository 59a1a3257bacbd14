"""Record codes (Circular 01/2018 art. 19): a receiving unit's code, the day, a four-digit number."""

from __future__ import annotations

from datetime import date

MAX_DAILY_SEQUENCE = 9999
"""Four digits per unit and day: the 10,000th application of a unit's day is refused (503) and
the applicant told to come back the next day, or to another receiving unit."""


class SequenceExhausted(Exception):
    """A receiving unit has used all four-digit record numbers of a day."""


def format_record_code(unit_code: str, day: date, sequence: int) -> str:
    """`<receiving unit code>-<YYMMDD>-<XXXX>`."""
    if not 1 <= sequence <= MAX_DAILY_SEQUENCE:
        raise SequenceExhausted(f"sequence {sequence} of {unit_code} on {day} is out of 1..9999")
    return f"{unit_code}-{day:%y%m%d}-{sequence:04d}"


def unit_day(unit_code: str, day: date) -> str:
    """The key of a unit's daily counter."""
    return f"{unit_code}-{day:%y%m%d}"
