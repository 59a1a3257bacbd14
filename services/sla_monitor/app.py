"""Composition root of the sla_monitor service: builds everything, connects nothing until started."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from .api import router
from .monitor import Monitor, RecordLocks
from .policies import build_policy
from .scheduler import Scheduler
from .settings import SlaMonitorSettings
from .store import DeadlineStore


def create_app(settings: SlaMonitorSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SlaMonitorSettings()
    runtime = ServiceRuntime(settings, clock)
    calendar = load_calendar(provisional_years=settings.provisional_years)
    policy = build_policy(settings, load_catalog())
    store = DeadlineStore(lambda: runtime.db)
    locks = RecordLocks()
    scheduler = Scheduler(runtime, store, calendar, policy, locks, settings)
    monitor = Monitor(runtime, store, calendar, policy, locks, scheduler.wake)

    runtime.declare_topics(topics.SLA_ALERTS)
    runtime.subscribe([topics.RECORDS_SUBMITTED, topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES],
                      monitor.on_event)
    runtime.on_start(store.create_indexes)
    runtime.run_in_background(scheduler.run)
    app = runtime.asgi(
        router(store, runtime.clock, calendar, policy),
        title="motcua SLA monitor",
        description="Statutory deadlines in working days: warnings, breaches, escalations, the "
                    "apology with a new date, and the Decision 766 service index.",
    )
    app.state.scheduler = scheduler
    app.state.store = store
    return app
