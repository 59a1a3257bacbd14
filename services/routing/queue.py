"""The one-stop office's manual queue: what waits for a person, and the person's choice.

Reading is for the staff who work or watch the queue; choosing is for officers (and admins).
The choice is a command: routing checks it against the route as the officer saw it, records who
chose and why in the `records.routed.v1` event (the audit of every routing decision), and moves
the record like any routed record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reference.catalog import Catalog
from reference.errors import UnknownProcedure, UnknownUnit
from reference.units import Units
from services.runtime.auth import Principal, requires
from services.runtime.params import RecordCodePath
from services.runtime.problems import Problem, problem_responses

from .dispatcher import Dispatcher, UnknownRecord, Waiting
from .domain.manual import Choice, ChoiceRefused
from .domain.table import RoutingTable
from .versions import TableVersions

_CONFLICTS = {"not_waiting", "moved_on"}


class Department(BaseModel):
    code: str
    name: str
    level: str


class WaitingRecord(BaseModel):
    """A record of the queue, without anything about the applicant."""

    record_code: str
    procedure_code: str
    procedure_name: str
    unit_code: str
    unit_name: str
    waiting_since: datetime
    attempt: int
    """Send it back with the choice: it proves what the officer saw."""
    returned_by: list[str]
    reason: str | None
    """Why no rule could place it."""
    suggestions: list[Department]


class Queue(BaseModel):
    table_version: int
    records: list[WaitingRecord]


class ManualChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    attempt: int = Field(ge=1, description="the record's `attempt` as the queue showed it")
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)] = Field(
        description="why this department: kept in the audit event; no personal data")


class Routed(BaseModel):
    record_code: str
    department_code: str
    attempt: int
    decided_by: str


def _department(table: RoutingTable, code: str) -> Department:
    found = table.department(code)
    return Department(code=code, name=found.name if found else code,
                      level=found.level if found else "unknown")


def _unit_name(units: Units, code: str) -> str:
    try:
        return units.commune(code).name if units.is_commune(code) else units.former_district(code).name
    except UnknownUnit:
        return code


def _procedure_name(catalog: Catalog, code: str) -> str:
    try:
        return catalog.get(code).name_vi
    except UnknownProcedure:
        return code


def router(dispatcher: Dispatcher, versions: TableVersions, catalog: Catalog,
           units: Units) -> APIRouter:
    routes = APIRouter(tags=["manual queue"])
    read = [Depends(requires("officer", "supervisor", "operator", "admin"))]

    def waiting_record(found: Waiting, table: RoutingTable) -> WaitingRecord:
        route = found.route
        return WaitingRecord(
            record_code=route.code, procedure_code=route.procedure_code,
            procedure_name=_procedure_name(catalog, route.procedure_code),
            unit_code=route.unit, unit_name=_unit_name(units, route.unit),
            waiting_since=route.waiting_since, attempt=route.attempt,
            returned_by=list(route.returned_by), reason=route.reason,
            suggestions=[_department(table, code) for code in found.suggestions])

    @routes.get("/manual-queue", dependencies=read)
    async def queue(limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Queue:
        """Records no rule could place, longest waiting first."""
        table = versions.current
        return Queue(table_version=table.version,
                     records=[waiting_record(w, table) for w in await dispatcher.waiting(limit)])

    @routes.get("/departments", dependencies=read)
    async def departments() -> list[Department]:
        """The active departments of the table in force: those a record can be routed to."""
        table = versions.current
        return [Department(code=d.code, name=d.name, level=d.level)
                for d in table.departments if d.active]

    @routes.post("/manual-queue/{code}/route", responses=problem_responses(404, 409, 422))
    async def choose(code: RecordCodePath, body: ManualChoice,
                     officer: Annotated[Principal, Depends(requires("officer", "admin"))]) -> Routed:
        """Route a waiting record to the department chosen; 409 if it is no longer waiting or
        moved since it was shown, 422 if the department cannot take records. A retry of the
        same choice answers the same."""
        choice = Choice(department_code=body.department_code, seen_attempt=body.attempt,
                        officer=officer.subject, note=body.note)
        try:
            route = await dispatcher.choose(code, choice)
        except UnknownRecord:
            raise Problem(404, "unknown-record", "No such record",
                          f"routing holds no record {code}") from None
        except ChoiceRefused as refused:
            status = 409 if refused.reason in _CONFLICTS else 422
            raise Problem(status, refused.reason.replace("_", "-"), "Choice refused",
                          refused.detail) from None
        return Routed(record_code=route.code, department_code=route.department,
                      attempt=route.attempt, decided_by=officer.subject)

    return routes
