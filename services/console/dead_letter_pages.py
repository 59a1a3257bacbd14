"""Operators' page of dead letters: every service's, per topic, with the reason and headers;
replay after a fix or discard with a reason (each service audits the command)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .backends import Backend, Refused, Unavailable
from .letters import ACTIONS, DECIDED, by_service, command
from .session import Session

if TYPE_CHECKING:
    from .pages import Backends, Kit

OPERATORS = ("operator", "admin")
STATES = ("waiting", "replaying", "replayed", "discarded")


async def _listing(backend: Backend, token: str, topic: str | None, state: str) -> dict[str, Any] | None:
    """One service's dead letters, or None when it does not answer (the others still show)."""
    params = {"state": state, **({"topic": topic} if topic else {})}
    try:
        found: dict[str, Any] = await backend.call("GET", "/dead-letters", token, params=params)
    except Unavailable:
        return None
    return found


def router(kit: Kit, backends: Backends) -> APIRouter:
    routes = APIRouter()

    async def page(request: Request, session: Session, topic: str | None, state: str,
                   status: int = 200, **context: Any) -> HTMLResponse:
        services = backends.services()
        try:
            answers = await asyncio.gather(*(_listing(b, session.token, topic, state) for b in services))
        except Refused as refusal:
            return kit.refused(request, session, str(refusal))
        topics = [{"service": b.name, **count} for b, answer in zip(services, answers, strict=True)
                  if answer for count in answer["topics"]]
        letters = [{"service": b.name, **letter} for b, answer in zip(services, answers, strict=True)
                   if answer for letter in answer["dead_letters"]]
        letters.sort(key=lambda letter: letter["failed_at"], reverse=True)
        silent = [b.name for b, answer in zip(services, answers, strict=True) if answer is None]
        return kit.render(request, "dead_letters.html", session, status=status, topics=topics,
                          letters=letters, silent=silent, topic=topic, state=state, states=STATES,
                          **context)

    @routes.get("/dead-letters", response_class=HTMLResponse)
    async def listing(request: Request, topic: str | None = None, state: str = "waiting",
                      done: int | None = None, action: str | None = None) -> Response:
        session = await kit.signed_in(request, OPERATORS)
        if not isinstance(session, Session):
            return session
        return await page(request, session, topic or None, state if state in STATES else "waiting",
                          done=done, action=action if action in ACTIONS else None)

    @routes.post("/dead-letters")
    async def act(request: Request, action: Annotated[str, Form()], csrf: Annotated[str, Form()],
                  letter: Annotated[list[str], Form()], note: Annotated[str, Form()] = "",
                  topic: Annotated[str, Form()] = "") -> Response:
        session = await kit.signed_in(request, csrf=csrf)  # each service decides who may
        if not isinstance(session, Session):
            return session
        if action not in ACTIONS:
            return await page(request, session, topic or None, "waiting", status=422,
                              error=f"unknown action {action!r}")
        by_name = {b.name: b for b in backends.services()}
        done = 0
        try:
            for service, ids in by_service(letter).items():
                backend = by_name.get(service)
                if backend is None:
                    continue
                decisions = await command(backend, session.token, action, ids, note)
                done += sum(1 for d in decisions if d["outcome"] in DECIDED)
        except Refused as refusal:
            if refusal.status == 403:
                return kit.refused(request, session, str(refusal))
            return await page(request, session, topic or None, "waiting", status=refusal.status,
                              error=str(refusal))
        except Unavailable as silent:
            return await page(request, session, topic or None, "waiting", status=503, error=str(silent))
        query = urlencode({"done": done, "action": action, **({"topic": topic} if topic else {})})
        return RedirectResponse(f"/dead-letters?{query}", status_code=303)

    return routes
