"""Supervisors' routes: open escalations, acknowledging one, and the records at risk.

Reading is for supervisors, operators and admins; acknowledging is a supervisor's (or an
admin's) act, kept with who and why. Nothing about the applicant is shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.topics import DEPARTMENT_CODE_PATTERN
from reference.localtime import to_local
from services.runtime.auth import Principal, requires
from services.runtime.problems import Problem, problem_responses

from .ports import Acknowledgement
from .supervision import AcknowledgedAlready, OpenEscalation, Supervision, UnknownEscalation

DepartmentQuery = Annotated[str | None, Query(max_length=64, pattern=DEPARTMENT_CODE_PATTERN)]


class Ack(BaseModel):
    by: str
    note: str
    at: datetime

    @classmethod
    def of(cls, ack: Acknowledgement) -> Ack:
        return cls(by=ack.by, note=ack.note, at=to_local(ack.at))


class Escalation(BaseModel):
    event_id: str
    record_code: str
    procedure_code: str
    department_code: str | None
    kind: Literal["late", "misrouted"]
    level: int
    recipient_role: str
    reason: str
    raised_at: datetime
    due_at: datetime
    lateness_working_days: int | None
    acknowledged: Ack | None

    @classmethod
    def of(cls, found: OpenEscalation) -> Escalation:
        raised = found.raised
        return cls(event_id=found.event_id, record_code=raised.record_code,
                   procedure_code=raised.procedure_code, department_code=found.department_code,
                   kind=raised.kind, level=raised.level, recipient_role=raised.recipient_role,
                   reason=raised.reason, raised_at=to_local(found.claim.due_at),
                   due_at=to_local(raised.due_at),
                   lateness_working_days=raised.lateness_working_days,
                   acknowledged=Ack.of(found.acknowledgement) if found.acknowledgement else None)


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)] = Field(
        description="what is being done about it; no personal data")


class RecordAtRisk(BaseModel):
    record_code: str
    procedure_code: str
    department_code: str | None
    category: Literal["in_progress_nearly_late", "in_progress_late"]
    late_working_days: int
    due_original_at: datetime
    due_current_at: datetime
    paused: bool


def router(supervision: Supervision) -> APIRouter:
    routes = APIRouter(tags=["supervision"])
    read = [Depends(requires("supervisor", "operator", "admin"))]

    @routes.get("/escalations", dependencies=read)
    async def escalations(department: DepartmentQuery = None) -> list[Escalation]:
        """Open escalations, newest first (a late one until the record is closed, a misrouted
        one until a department accepted the record), with their acknowledgement."""
        return [Escalation.of(found) for found in await supervision.escalations(department)]

    @routes.post("/escalations/{event_id}/acknowledge", responses=problem_responses(404, 409, 422))
    async def acknowledge(event_id: Annotated[str, Path(max_length=200)], body: Acknowledge,
                          supervisor: Annotated[Principal, Depends(requires("supervisor", "admin"))]
                          ) -> Ack:
        """Acknowledge an escalation with a note; 409 if someone else acknowledged it first
        (a repeat of the same acknowledgement answers the same)."""
        try:
            return Ack.of(await supervision.acknowledge(event_id, supervisor.subject, body.note))
        except UnknownEscalation:
            raise Problem(404, "unknown-escalation", "No such escalation",
                          f"no escalation has the event id {event_id}") from None
        except AcknowledgedAlready as already:
            raise Problem(409, "acknowledged-already", "Acknowledged already",
                          f"{already}: {already.ack.note}") from None

    @routes.get("/at-risk", dependencies=read)
    async def records_at_risk(department: DepartmentQuery = None,
                              basis: Literal["original", "current"] = "original"
                              ) -> list[RecordAtRisk]:
        """Open records nearly late or late (Decision 766's categories), the latest first."""
        return [RecordAtRisk(record_code=r.state.record_code, procedure_code=r.state.procedure_code,
                             department_code=r.state.department_code, category=r.category,
                             late_working_days=r.late_working_days,
                             due_original_at=to_local(r.state.due_original_at),
                             due_current_at=to_local(r.state.due_current_at),
                             paused=r.state.is_paused)
                for r in await supervision.at_risk(department, basis)]

    return routes
