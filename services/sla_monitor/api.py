"""Read side of the SLA monitor: a record's deadline, the Decision 766 index, refused events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from reference.calendar import WorkingCalendar
from reference.localtime import to_local
from services.runtime.auth import requires
from services.runtime.clock import Clock
from services.runtime.params import RecordCodePath
from services.runtime.problems import Problem, problem_responses

from .domain import SlaPolicy, index_to_json, service_index
from .ports import DeadlineStore


def router(store: DeadlineStore, clock: Clock, calendar: WorkingCalendar, policy: SlaPolicy) -> APIRouter:
    routes = APIRouter(tags=["deadlines"],
                       dependencies=[Depends(requires("operator", "supervisor", "admin"))])

    @routes.get("/deadlines/{record_code}", responses=problem_responses(404, 422))
    async def deadline(record_code: RecordCodePath) -> dict[str, Any]:
        """The record's deadline state and the alerts claimed for it."""
        stored = await store.get(record_code)
        if stored is None:
            raise Problem(404, "unknown-record", "No deadline for this record",
                          f"The SLA monitor has no deadline for record {record_code}.")
        claims = await store.claims_of(record_code)
        return {**stored.state.to_dict(),
                "alerts": [{"event_id": c.event_id, "rule": c.rule, "event_type": c.event_type,
                            "due_at": to_local(c.due_at).isoformat(), "sent": not c.pending}
                           for c in claims]}

    @routes.get("/index")
    async def index(basis: Literal["original", "current"] = "original",
                    department: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        """Decision 766 figures per department at the service's now.

        `basis=original` judges against the receipt's appointment (moved only by pauses), as the
        provincial dashboards do; `current` also accepts the department's reported new date.
        """
        now = clock.now()
        states = [state async for state in store.all(department)]
        figures = service_index(states, now, calendar, policy, basis=basis)
        return {"at": to_local(now).isoformat(), "basis": basis, "records": len(states),
                "departments": index_to_json(figures)}

    @routes.get("/refusals")
    async def refusals(record_code: Annotated[str | None, Query(max_length=64)] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
        """Events refused with their reason (parked ones wait for their record's submission)."""
        refused = await store.refusals_of(record_code, limit)
        return [{"event_id": r.event_id, "record_code": r.record_code, "event_type": r.event_type,
                 "reason": r.reason, "detail": r.detail, "parked": r.parked,
                 "resolution": r.resolution,
                 "refused_at": to_local(r.refused_at).isoformat()} for r in refused]

    return routes
