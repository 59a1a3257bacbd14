"""A record's timeline for operators: what intake, the SLA monitor and the notifier each know of
it, read through their APIs and put in one order, with a link to the record's trace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .backends import Backend, Refused, Unavailable
from .session import Session

if TYPE_CHECKING:
    from .pages import Backends, Kit

READERS = ("operator", "supervisor", "admin")


@dataclass(frozen=True, slots=True)
class Moment:
    """One line of the timeline: when, which service saw it, what."""

    at: str
    service: str
    kind: str
    text: str


async def _read(backend: Backend, path: str, token: str,
                params: dict[str, Any] | None = None) -> Any:
    """A service's view, None if it holds nothing of the record (404) or does not answer."""
    try:
        return await backend.call("GET", path, token, params=params)
    except Refused as refusal:
        if refusal.status == 404:
            return None
        raise
    except Unavailable:
        return None


def moments(record: dict[str, Any] | None, deadline: dict[str, Any] | None) -> list[Moment]:
    """Intake's history (received, routed, every department answer) with the deadline's pauses,
    breach and alerts, in time order."""
    found: list[Moment] = []
    for entry in (record or {}).get("history", []):
        found.append(Moment(entry["at"], "intake", entry["event_type"].rsplit(".", 1)[-1],
                            entry["summary"]))
    if deadline is not None:
        for pause in deadline.get("pauses", []):
            found.append(Moment(pause["requested_at"], "sla_monitor", "paused",
                                f"{pause['paused_on']} → {pause['resumed_on'] or '…'}"))
        for extension in deadline.get("extensions", []):
            found.append(Moment(extension["at"], "sla_monitor", f"extended-{extension['kind']}",
                                f"{extension['previous_due_at']} →"))
        if deadline.get("breached_at"):
            found.append(Moment(deadline["breached_at"], "sla_monitor", "breached", ""))
        for alert in deadline.get("alerts", []):
            found.append(Moment(alert["due_at"], "sla_monitor", alert["event_type"].rsplit(".", 1)[-1],
                                f"{alert['rule']}{'' if alert['sent'] else ' (pending)'}"))
        closure = deadline.get("closure")
        if closure:
            found.append(Moment(closure["closed_at"], "sla_monitor", "closed",
                                f"{closure['closed_by']}: {closure['outcome']}"))
    return sorted(found, key=lambda m: datetime.fromisoformat(m.at))


def router(kit: Kit, backends: Backends, jaeger_url: str | None) -> APIRouter:
    routes = APIRouter()

    @routes.get("/records", response_class=HTMLResponse)
    async def find(request: Request,
                   code: Annotated[str | None, Query(max_length=64)] = None) -> Response:
        session = await kit.signed_in(request, READERS)
        if not isinstance(session, Session):
            return session
        if code and code.strip():
            return RedirectResponse(f"/records/{quote(code.strip(), safe='')}", status_code=303)
        return kit.render(request, "timeline.html", session, code=None)

    @routes.get("/records/{code}", response_class=HTMLResponse)
    async def timeline(request: Request, code: str) -> Response:
        session = await kit.signed_in(request, READERS)
        if not isinstance(session, Session):
            return session
        quoted = quote(code, safe="")
        try:
            record, deadline, deliveries = await asyncio.gather(
                _read(backends.intake, f"/records/{quoted}", session.token),
                _read(backends.sla, f"/deadlines/{quoted}", session.token),
                _read(backends.notifier, "/deliveries", session.token, {"record_code": code})
                if session.has("operator", "admin") else asyncio.sleep(0, None))
        except Refused as refusal:
            if refusal.status == 422:
                return kit.render(request, "timeline.html", session, status=422, code=code,
                                  error=str(refusal))
            return kit.refused(request, session, str(refusal))
        if record is None and deadline is None:
            return kit.render(request, "timeline.html", session, status=404, code=code,
                              missing=True)
        trace_id = (record or {}).get("trace_id")
        return kit.render(
            request, "timeline.html", session, code=code, record=record, deadline=deadline,
            deliveries=deliveries, moments=moments(record, deadline),
            trace_url=f"{jaeger_url.rstrip('/')}/trace/{trace_id}" if jaeger_url and trace_id else None)

    return routes
