"""Admin routes of routing: read the table in force, check or publish a new version."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, Depends
from opentelemetry import context as otel_context

from services.runtime.auth import requires
from services.runtime.problems import FieldProblem, Problem

from .dispatcher import Dispatcher
from .domain.table import RoutingTable, TableProblem
from .versions import TableRejected, TableVersions


def _problem(problems: list[TableProblem]) -> Problem:
    return Problem(422, "table-rejected", "Routing table rejected",
                   f"{len(problems)} problem(s); nothing was published.",
                   [FieldProblem(field=p.where, code="table_problem", message=p.message)
                    for p in problems])


async def _beyond_the_request(work: Coroutine[Any, Any, int]) -> int:
    """Run `work` outside the request's database deadline (a reorganisation moves every record a
    dissolved department held: more than one request's worth of writes, under load more than its
    deadline), in the request's trace, to its end even if the caller goes away (a rerun moves
    nothing twice)."""
    trace_context = otel_context.get_current()

    async def traced() -> int:
        token = otel_context.attach(trace_context)
        try:
            return await work
        finally:
            otel_context.detach(token)

    return await asyncio.shield(asyncio.create_task(traced(), context=contextvars.Context()))


def router(versions: TableVersions, dispatcher: Dispatcher) -> APIRouter:
    # The directory names supervisors' mailboxes, and a table moves records: admins (reading it,
    # operators too).
    routes = APIRouter(prefix="/admin/tables", tags=["routing table"])
    read = [Depends(requires("admin", "operator"))]
    change = [Depends(requires("admin"))]

    @routes.get("/current", dependencies=read)
    async def current() -> dict[str, Any]:
        return versions.current.model_dump(mode="json")

    @routes.post("/check", dependencies=change)
    async def check(table: RoutingTable) -> dict[str, Any]:
        problems = versions.check(table)
        if problems:
            raise _problem(problems)
        return {"version": table.version, "problems": []}

    @routes.post("", status_code=201, dependencies=change)
    async def publish(table: RoutingTable) -> dict[str, Any]:
        """Publish a new version: new records use it at once, and open records held by a
        department it dissolves move to the successor."""
        try:
            published = await versions.publish(table)
        except TableRejected as rejected:
            raise _problem(rejected.problems) from None
        moved = await _beyond_the_request(dispatcher.reorganise())
        return {"version": published.version, "moved": moved}

    return routes
