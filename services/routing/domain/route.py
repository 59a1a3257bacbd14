"""One record's route as a plain value, and how each decision moves it (pure, no I/O).

A route knows what routing needs to decide again later: the record as submitted (a move sends
it to the next holder), its holder and stage (the gate checks updates against them), the
candidates left to try after a misrouted return, and the table version it was decided under.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from contracts.department import v1 as department
from contracts.records.v1 import RecordSubmitted
from reference.catalog import AgencyKind, Procedure

from .decide import Decision
from .gate import Holding, Stage, later, stage_after

RouteStatus = Literal["routed", "manual", "closed"]
Kind = Literal["routed", "rerouted", "manual"]
"""How a record came to its holder, as `records.routed.v1` says it."""

CLOSING = (department.RecordResolved, department.RecordRejected, department.ResultReturned)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    record: RecordSubmitted
    procedure_code: str
    agency_kind: AgencyKind
    handling_level: Literal["province", "commune"]
    department: str
    attempt: int
    """Assignments so far: 1 for the first routing, one more per return or move."""
    returned_by: tuple[str, ...]
    candidates_left: tuple[str, ...]
    table_version: int
    status: RouteStatus
    stage: Stage | None
    """None for a route stored before the gate kept stages."""
    last_event_at: datetime | None
    reason: str | None = None
    """Why the record went to its holder (None for a route stored before reasons were kept)."""
    assigned_at: datetime | None = None
    """When it went to its holder (None for a route stored before this was kept)."""

    @property
    def code(self) -> str:
        return self.record.record_code

    @property
    def waiting_since(self) -> datetime:
        """When it went to its holder, as well as the route knows (older routes kept less)."""
        return self.assigned_at or self.last_event_at or self.record.accepted_at

    @property
    def unit(self) -> str:
        return self.record.administrative_unit_code

    @property
    def holding(self) -> Holding:
        return Holding(department_code=self.department, stage=self.stage,
                       last_event_at=self.last_event_at)


def kind_of(decision: Decision, *, first: bool) -> Kind:
    if decision.is_manual:
        return "manual"
    return "routed" if first else "rerouted"


def first_route(record: RecordSubmitted, procedure: Procedure, decision: Decision,
                table_version: int, now: datetime) -> Route:
    """A new record, assigned where the table sends it (or to the one-stop office's queue)."""
    return Route(record=record, procedure_code=procedure.code,
                 agency_kind=procedure.agency_kind, handling_level=procedure.handling_level,
                 department=decision.department_code,
                 attempt=1, returned_by=(), candidates_left=decision.candidates_left,
                 table_version=table_version, status=_status(decision), stage="assigned",
                 last_event_at=now, reason=decision.reason, assigned_at=now)


def after_update(route: Route, update: department.DepartmentUpdate, at: datetime) -> Route:
    """The holder's update the gate let through (a misrouted return goes to `bounced`)."""
    return replace(route, stage=stage_after(update, route.stage),
                   last_event_at=later(route.last_event_at, at),
                   status="closed" if isinstance(update, CLOSING) else route.status)


def bounced(route: Route, returned_by: str, decision: Decision, now: datetime) -> Route:
    """Returned as not theirs: assigned to the next candidate (or the manual queue)."""
    return replace(route, department=decision.department_code, attempt=route.attempt + 1,
                   returned_by=(*route.returned_by, returned_by),
                   candidates_left=decision.candidates_left, status=_status(decision),
                   stage="assigned", last_event_at=later(route.last_event_at, now),
                   reason=decision.reason, assigned_at=now)


def moved(route: Route, decision: Decision, table_version: int, now: datetime) -> Route:
    """Off a department the table in force dissolved, to its successor."""
    return replace(route, department=decision.department_code, attempt=route.attempt + 1,
                   candidates_left=(), table_version=table_version, status=_status(decision),
                   stage="assigned", last_event_at=later(route.last_event_at, now),
                   reason=decision.reason, assigned_at=now)


def chosen(route: Route, decision: Decision, now: datetime) -> Route:
    """Out of the manual queue to the department a person chose."""
    return replace(route, department=decision.department_code, attempt=route.attempt + 1,
                   candidates_left=decision.candidates_left, status=_status(decision),
                   stage="assigned", last_event_at=later(route.last_event_at, now),
                   reason=decision.reason, assigned_at=now)


def _status(decision: Decision) -> RouteStatus:
    return "manual" if decision.is_manual else "routed"
