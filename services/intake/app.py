"""Composition root of the intake service: builds everything, connects nothing until started."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from contracts import topics
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from reference.units import load_units
from services.runtime.calendar_watch import watch_calendar
from services.runtime.clock import Clock
from services.runtime.relay import OutboxRelay
from services.runtime.service import ServiceRuntime

from .api import router
from .applications import Applications
from .handlers import TrackingHandler
from .outbox import RecordOutbox
from .settings import IntakeSettings
from .store import MongoRecordStore


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings, clock)
    store = MongoRecordStore(lambda: runtime.db, settings.mongodb_timeout_s)
    outbox = RecordOutbox(store, timedelta(seconds=settings.relay_lease_s))
    relay = OutboxRelay(outbox, runtime.send_stored, runtime.metrics,
                        batch_size=settings.relay_batch_size,
                        sweep_interval=timedelta(seconds=settings.relay_sweep_s))
    calendar = load_calendar()
    watch_calendar(runtime, calendar)
    applications = Applications(store, relay, outbox.lease, load_catalog(), load_units(), calendar,
                                runtime.clock, runtime.metrics,
                                [key.get_secret_value().encode() for key in
                                 (settings.lookup_key, *settings.lookup_retired_keys)])
    runtime.declare_topics(topics.RECORDS_SUBMITTED)
    runtime.subscribe_batch([topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES, topics.SLA_ALERTS],
                            TrackingHandler(store))
    runtime.on_start(store.create_indexes)
    runtime.run_in_background(relay.run)
    app = runtime.asgi(
        router(applications),
        title="motcua intake",
        description="Accepts applications, gives each a record code and an appointment date.",
        max_body_bytes=settings.max_body_bytes,
        json_paths=("/applications",),
    )
    app.state.relay = relay
    return app
