"""The console's pages. Each reads the services through their APIs with the person's token;
the roles checked here only choose what to show, the services decide what is allowed."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from . import dead_letter_pages, timeline
from .backends import Backend, Refused, Unavailable
from .i18n import LANGUAGES, choose, translator
from .session import Session, SignIn, SignInFailed

LANGUAGE_COOKIE = "motcua_lang"
QUEUE_READERS = ("officer", "supervisor", "operator", "admin")
QUEUE_ROUTERS = ("officer", "admin")

PROVINCE_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def local_time(value: str | None) -> str:
    """An instant the APIs give (ISO 8601, any offset) as the province's wall clock."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(PROVINCE_TIME).strftime("%d/%m/%Y %H:%M")


templates.env.filters["local_time"] = local_time


@dataclass(frozen=True, slots=True)
class Backends:
    routing: Backend
    sla: Backend
    intake: Backend
    notifier: Backend

    def services(self) -> tuple[Backend, ...]:
        """Every service, in the order records go through them."""
        return (self.intake, self.routing, self.sla, self.notifier)


@dataclass(frozen=True, slots=True)
class Kit:
    """What every page module renders and checks with."""

    render: Callable[..., HTMLResponse]
    refused: Callable[..., HTMLResponse]
    signed_in: Callable[..., Awaitable[Session | Response]]


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the console and the roles it is for."""

    path: str
    key: str
    roles: tuple[str, ...]


SUPERVISION_READERS = ("supervisor", "operator", "admin")
ACKNOWLEDGERS = ("supervisor", "admin")
OPERATORS = ("operator", "admin")
PAGES = (Page("/queue", "queue", QUEUE_READERS), Page("/late", "late", SUPERVISION_READERS),
         Page("/records", "timeline", ("operator", "supervisor", "admin")),
         Page("/dead-letters", "dead_letters", OPERATORS))
INDEX_COLUMNS = ("done_early", "done_on_time", "done_late", "in_progress_not_due",
                 "in_progress_nearly_late", "in_progress_late")
"""Decision 766's categories, in the order the provincial dashboards show them."""


def router(signin: SignIn, backends: Backends, jaeger_url: str | None = None) -> APIRouter:
    routes = APIRouter()

    def render(request: Request, template: str, session: Session | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        language = choose(request.cookies.get(LANGUAGE_COOKIE),
                          request.headers.get("accept-language"))
        return templates.TemplateResponse(request, template, status_code=status, context={
            "t": translator(language), "lang": language, "session": session,
            "pages": [p for p in PAGES if session and session.has(*p.roles)],
            "path": request.url.path, **context})

    def to_signin(request: Request) -> Response:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)

    def refused(request: Request, session: Session, detail: str | None = None) -> HTMLResponse:
        return render(request, "refused.html", session, status=403, detail=detail)

    async def signed_in(request: Request, roles: tuple[str, ...] = (),
                        csrf: str | None = None) -> Session | Response:
        """The person, signed in with one of `roles` (any, if none) and, for a form, its token;
        else the answer to give instead: to the sign-in page, or refused."""
        session = await signin.session(request)
        if session is None:
            return to_signin(request)
        if roles and not session.has(*roles):
            return refused(request, session)
        if csrf is not None and csrf != session.csrf:
            return refused(request, session, "stale form: reload the page")
        return session

    @routes.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return render(request, "home.html", await signin.session(request))

    @routes.get("/signin")
    async def start(request: Request, next: str | None = None) -> Response:
        return signin.start(request, next)

    @routes.get("/callback")
    async def callback(request: Request, code: str = "", state: str = "") -> Response:
        try:
            token, next_path = await signin.finish(request, code, state)
        except SignInFailed as failed:
            return render(request, "refused.html", None, status=400, detail=str(failed))
        response = RedirectResponse(next_path, status_code=303)
        signin.keep(response, token)
        return response

    @routes.post("/signout")
    async def signout(request: Request, csrf: Annotated[str, Form()]) -> Response:
        session = await signin.session(request)
        response = RedirectResponse("/", status_code=303)
        if session is None or csrf == session.csrf:
            signin.forget(response)
        return response

    @routes.get("/lang/{language}")
    async def language(language: str, next: str = "/") -> Response:
        response = RedirectResponse(next if next.startswith("/") and not next.startswith("//")
                                    else "/", status_code=303)
        if language in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax")
        return response

    # --- the manual queue (one-stop office) ---------------------------------------------------

    async def queue_page(request: Request, session: Session, status: int = 200,
                         **context: Any) -> HTMLResponse:
        try:
            queue = await backends.routing.call("GET", "/manual-queue", session.token)
            departments = await backends.routing.call("GET", "/departments", session.token)
        except Refused as refusal:
            return refused(request, session, str(refusal))
        except Unavailable:
            return render(request, "unavailable.html", session, status=503)
        names = {d["code"]: d["name"] for d in departments}
        return render(request, "queue.html", session, status=status, queue=queue,
                      departments=departments, names=names, can_route=session.has(*QUEUE_ROUTERS),
                      **context)

    @routes.get("/queue", response_class=HTMLResponse)
    async def queue(request: Request, done: str | None = None, to: str | None = None) -> Response:
        session = await signed_in(request, QUEUE_READERS)
        if not isinstance(session, Session):
            return session
        return await queue_page(request, session, done=done, to=to)

    @routes.post("/queue/{code}")
    async def route_record(request: Request, code: str, department_code: Annotated[str, Form()],
                           attempt: Annotated[int, Form()], note: Annotated[str, Form()],
                           csrf: Annotated[str, Form()]) -> Response:
        session = await signed_in(request, csrf=csrf)  # routing decides who may route
        if not isinstance(session, Session):
            return session
        try:
            await backends.routing.call(
                "POST", f"/manual-queue/{quote(code, safe='')}/route", session.token,
                json={"department_code": department_code, "attempt": attempt, "note": note})
        except Refused as refusal:
            if refusal.status == 403:
                return refused(request, session, str(refusal))
            return await queue_page(request, session, status=refusal.status, error=str(refusal),
                                    error_code=code)
        except Unavailable:
            return render(request, "unavailable.html", session, status=503)
        return RedirectResponse(f"/queue?done={quote(code)}&to={quote(department_code)}",
                                status_code=303)

    # --- late and at risk (supervisors) ---------------------------------------------------------

    async def late_page(request: Request, session: Session, status: int = 200,
                        **context: Any) -> HTMLResponse:
        try:
            escalations, risky, index = await asyncio.gather(
                backends.sla.call("GET", "/escalations", session.token),
                backends.sla.call("GET", "/at-risk", session.token),
                backends.sla.call("GET", "/index", session.token))
        except Refused as refusal:
            return refused(request, session, str(refusal))
        except Unavailable:
            return render(request, "unavailable.html", session, status=503)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for escalation in sorted(escalations, key=lambda e: (e["department_code"] or "",
                                                              -e["level"], e["raised_at"])):
            grouped.setdefault(escalation["department_code"] or "—", []).append(escalation)
        return render(request, "late.html", session, status=status, grouped=grouped,
                      risky=risky, index=index, columns=INDEX_COLUMNS,
                      can_ack=session.has(*ACKNOWLEDGERS), **context)

    @routes.get("/late", response_class=HTMLResponse)
    async def late(request: Request, acked: str | None = None) -> Response:
        session = await signed_in(request, SUPERVISION_READERS)
        if not isinstance(session, Session):
            return session
        return await late_page(request, session, acked=acked)

    @routes.post("/late/escalations/{event_id}")
    async def acknowledge(request: Request, event_id: str, record_code: Annotated[str, Form()],
                          note: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
        session = await signed_in(request, csrf=csrf)  # the SLA monitor decides who may
        if not isinstance(session, Session):
            return session
        try:
            await backends.sla.call("POST", f"/escalations/{quote(event_id, safe='')}/acknowledge",
                                    session.token, json={"note": note})
        except Refused as refusal:
            if refusal.status == 403:
                return refused(request, session, str(refusal))
            return await late_page(request, session, status=refusal.status, error=str(refusal))
        except Unavailable:
            return render(request, "unavailable.html", session, status=503)
        return RedirectResponse(f"/late?acked={quote(record_code)}", status_code=303)

    @routes.get("/late/index.csv")
    async def index_csv(request: Request) -> Response:
        """The Decision 766 figures per department, for a spreadsheet."""
        session = await signed_in(request)
        if not isinstance(session, Session):
            return session
        try:
            index = await backends.sla.call("GET", "/index", session.token)
        except Refused as refusal:
            return refused(request, session, str(refusal))
        except Unavailable:
            return render(request, "unavailable.html", session, status=503)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["department", *INDEX_COLUMNS, "late_rate_percent", "on_time_rate_percent",
                         "average_lateness_working_days"])
        for department, figures in index["departments"].items():
            writer.writerow([department, *(figures[c] for c in INDEX_COLUMNS),
                             figures["late_rate_percent"], figures["on_time_rate_percent"],
                             figures["average_lateness_working_days"] or ""])
        day = str(index["at"])[:10]
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="chi-so-766-{day}.csv"'})

    kit = Kit(render, refused, signed_in)
    routes.include_router(timeline.router(kit, backends, jaeger_url))
    routes.include_router(dead_letter_pages.router(kit, backends))
    return routes
