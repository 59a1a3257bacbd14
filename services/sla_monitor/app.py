"""Composition root of the sla_monitor service: builds everything, connects nothing until started."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from .settings import SlaMonitorSettings


def create_app(settings: SlaMonitorSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SlaMonitorSettings()
    runtime = ServiceRuntime(settings, clock)
    runtime.declare_topics(topics.SLA_ALERTS)
    return runtime.asgi(
        title="motcua SLA monitor",
        description="Statutory deadlines in working days: warnings, breaches, escalations.",
    )
