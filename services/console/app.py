"""Composition root of the console: settings, the sign-in, the services' clients, the pages."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .backends import Backend
from .pages import Backends, router
from .session import SignIn
from .settings import ConsoleSettings

HERE = Path(__file__).parent


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    client = httpx.AsyncClient(timeout=settings.backend_timeout_s)
    urls = settings.by_service()
    backends = Backends(**{key: Backend(name, urls[name], client) for key, name in (
        ("intake", "intake"), ("routing", "routing"), ("sla", "sla_monitor"),
        ("notifier", "notifier"))})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(title="motcua console", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/health/live")
    @app.get("/health/ready")
    async def health() -> dict[str, object]:
        return {"status": "ready", "pid": os.getpid()}

    app.include_router(router(SignIn(settings, client), backends, settings.jaeger_url))
    return app
