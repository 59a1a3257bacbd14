"""`GET /asyncapi.json`: a service's AsyncAPI document, from the topic use its composition recorded,
so what it serves is what it does (and what its ACLs allow)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.asyncapi.document import Use, build, dead_letter_of
from contracts.schemagen import load_history

from .kafka_access import TopicUse

PATH = "/asyncapi.json"


def use_of(topic_use: TopicUse) -> Use:
    """A service reads its topics and families, writes its own, and dead-letters what it reads."""
    receives = topic_use.reads | topic_use.read_families
    return Use(receives=frozenset(receives),
               sends=frozenset(topic_use.writes | topic_use.write_families
                               | {dead_letter_of(name) for name in receives}))


def asyncapi_document(app: FastAPI) -> dict[str, Any]:
    """The document of a composed service app (built once; the committed one must equal it)."""
    cached = getattr(app.state, "asyncapi", None)
    if cached is None:
        runtime = app.state.runtime
        cached = build(runtime.settings.service_name, app.title, app.description,
                       use_of(runtime.topic_use), load_history())
        app.state.asyncapi = cached
    document: dict[str, Any] = cached
    return document


def asyncapi_router() -> APIRouter:
    """Public like `/openapi.json`, and like it left out of the OpenAPI document."""
    router = APIRouter()

    @router.get(PATH, include_in_schema=False)
    def asyncapi(request: Request) -> JSONResponse:  # sync: the first call reads the schemas
        return JSONResponse(asyncapi_document(request.app))

    return router
