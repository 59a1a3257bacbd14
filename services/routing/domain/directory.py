"""Who can receive records: departments, their supervisors, and what replaced a dissolved one."""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics import DEPARTMENT_CODE_PATTERN

MANUAL_QUEUE: Final = "MOT-CUA-TINH"
"""The provincial one-stop office's queue for records that need a person to choose the department."""

COMMUNE_OF_RECORD: Final = "commune-of-record"
"""Successor token: the People's Committee of the record's own commune."""

COMMUNE_PPC_PREFIX: Final = "UBND-X-"
DISTRICT_PPC_PREFIX: Final = "UBND-H-"

_TOPIC_SAFE = re.compile(DEPARTMENT_CODE_PATTERN)

Level = Literal["province_department", "province_police", "commune_ppc", "district_ppc",
                "one_stop_office", "provincial_service"]
SupervisorRole = Literal["department_head", "provincial_supervisor", "one_stop_office_supervisor"]


def is_topic_safe(code: str) -> bool:
    """Whether a department code can become part of its topic names (`routed.<code>.v2` and the others)."""
    return _TOPIC_SAFE.fullmatch(code) is not None


def commune_ppc_code(commune_code: str) -> str:
    """The department code of a commune People's Committee."""
    return f"{COMMUNE_PPC_PREFIX}{commune_code}"


def district_ppc_code(district_code: str) -> str:
    """The department code of a former district People's Committee."""
    return f"{DISTRICT_PPC_PREFIX}{district_code}"


class Contact(BaseModel):
    """A post to alert, reached through its official mailbox, never a person's own address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: SupervisorRole
    name: str = Field(min_length=1)
    """The post, e.g. "Giám đốc Sở Tư pháp"."""
    email: str = Field(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)
    webhook: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=2000)


class Department(BaseModel):
    """An agency that processes records; its code names its topics (`routed.<code>.v2`, …)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    """Checked to be topic-safe by `validate_table`, so a bad code is reported, not crashed on."""
    name: str = Field(min_length=1)
    level: Level
    supervisors: tuple[Contact, ...] = ()
    active: bool = True
    successor: str | None = None
    """Where its open records go once it is dissolved: a department code or `commune-of-record`."""
