"""Value types all event families share, so a code or a time is checked the same everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from contracts.topics import DEPARTMENT_CODE_PATTERN

# Patterns use [0-9], never \d: the validator's \d also matches non-ASCII digits.

RecordCode = Annotated[
    str, StringConstraints(pattern=r"^[0-9A-Z.]+-[0-9]{6}-[0-9]{4}$", max_length=64)
]
"""Record code (Circular 01/2018 art. 19): receiving unit code, YYMMDD of receipt, sequence."""

ProcedureCode = Annotated[
    str, StringConstraints(pattern=r"^[0-9]+\.[0-9]{6}(\.[0-9A-Z]+)+$", max_length=64)
]
"""Procedure code from the national catalogue, e.g. ``1.000948.H38``, ``2.001218.000.00.00.H38``."""

UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]+(\.[0-9A-Z]+)+$", max_length=32)]
"""National agency code, e.g. ``000.00.21.H40``."""

DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE_PATTERN)]
"""Processing department; also names its topic, e.g. ``SO-TU-PHAP``, ``UBND-X-27280``."""

AdministrativeUnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,5}$")]
"""Administrative division code: province (2 digits), former district (3), commune (5)."""

ProvinceCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
CommuneCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
CitizenId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^(\+[1-9][0-9]{6,14}|0[0-9]{9,10})$")]
EmailAddress = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

MaskedAddress = Annotated[
    str, StringConstraints(pattern=r"^[^\s]*\*{3,}[^\s]*$", min_length=3, max_length=254)
]
"""A contact address with the personal part hidden, e.g. ``n***@example.vn``, ``09*****678``."""

EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]

Channel = Literal["online", "counter", "post"]
OnlineLevel = Literal["full", "partial", "none"]
Language = Literal["vi", "en"]
ContactChannel = Literal["email", "sms"]
ProcessingLevel = Literal["province", "commune"]
SupervisorRole = Literal["department_head", "provincial_supervisor", "one_stop_office_supervisor"]

NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
WorkingHours = Annotated[float, Field(ge=0)]


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime has no timezone: give an offset, e.g. 2025-11-24T08:15:00+07:00")
    return value


Timestamp = Annotated[datetime, AfterValidator(_require_aware)]
"""An instant: timezone-aware, any offset (naive datetimes are rejected)."""
