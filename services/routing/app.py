"""Composition root of the routing service: builds everything, connects nothing until started."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from .settings import RoutingSettings


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(settings, clock)
    runtime.declare_topics(topics.RECORDS_ROUTED)
    return runtime.asgi(
        title="motcua routing",
        description="Routes each record to the department responsible; re-routes when it goes astray.",
    )
