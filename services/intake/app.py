"""Composition root of the intake service: builds everything, connects nothing until started."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from .settings import IntakeSettings


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings, clock)
    runtime.declare_topics(topics.RECORDS_SUBMITTED)
    return runtime.asgi(
        title="motcua intake",
        description="Accepts applications, gives each a record code and an appointment date.",
    )
