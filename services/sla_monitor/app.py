"""Composition root of the sla_monitor service: builds everything, connects nothing until started."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from contracts import topics
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from services.runtime.calendar_watch import watch_calendar
from services.runtime.clock import Clock, MovableClock
from services.runtime.parking import ParkingLot
from services.runtime.retrying import until_done
from services.runtime.service import ServiceRuntime

from . import supervisors
from .api import router
from .gauges import watch_deadlines
from .monitor import Monitor, RecordLocks
from .policies import build_policy
from .scheduler import Scheduler
from .settings import SlaMonitorSettings
from .store import MongoDeadlineStore
from .supervision import Supervision

log = logging.getLogger(__name__)


def create_app(settings: SlaMonitorSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SlaMonitorSettings()
    runtime = ServiceRuntime(settings, clock)
    calendar = load_calendar()
    watch_calendar(runtime, calendar)
    policy = build_policy(settings, load_catalog())
    store = MongoDeadlineStore(lambda: runtime.db)
    parking = ParkingLot(lambda: runtime.db)
    locks = RecordLocks()
    scheduler = Scheduler(runtime, store, calendar, policy, locks, settings)
    monitor = Monitor(runtime, store, parking, calendar, policy, locks, scheduler.wake)

    runtime.declare_topics(topics.SLA_ALERTS)
    runtime.subscribe_batch([topics.RECORDS_SUBMITTED, topics.RECORDS_ROUTED,
                             topics.DEPARTMENT_UPDATES], monitor.on_events)
    watch_deadlines(runtime, store)
    runtime.on_start(store.create_indexes)
    runtime.on_start(parking.create_indexes)
    runtime.run_in_background(scheduler.run)

    async def replay_stranded() -> None:
        while True:
            await asyncio.sleep(settings.sweep_s)
            await until_done(monitor.replay_stranded, log, "parked events sweep")

    runtime.run_in_background(replay_stranded)
    if isinstance(runtime.clock, MovableClock):
        runtime.clock.on_move(scheduler.wake)
    app = runtime.asgi(
        router(store, runtime.clock, calendar, policy),
        supervisors.router(Supervision(store, runtime.clock, calendar, policy)),
        title="motcua SLA monitor",
        description="Statutory deadlines in working days: warnings, breaches, escalations, the "
                    "apology with a new date, and the Decision 766 service index.",
        json_paths=("/escalations/",),
    )
    app.state.scheduler = scheduler
    app.state.store = store
    return app
