"""Composition root of the notifier service: builds everything, connects nothing until started."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from .settings import NotifierSettings


def create_app(settings: NotifierSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    runtime = ServiceRuntime(settings, clock)
    runtime.declare_topics(topics.NOTIFICATION_OUTCOMES)
    return runtime.asgi(
        title="motcua notifier",
        description="Tells applicants and supervisors what happens to a record, once.",
    )
