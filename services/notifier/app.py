"""Composition root of the notifier service: builds everything, connects nothing until started."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from contracts import topics
from services.runtime.clock import Clock
from services.runtime.parking import ParkingLot
from services.runtime.relay import OutboxRelay
from services.runtime.service import ServiceRuntime

from . import config
from .api import router
from .metrics import NotifierMetrics
from .planner import Planner
from .publisher import OutcomeOutbox
from .settings import NotifierSettings
from .store import MongoNotifierStore
from .worker import Deliverer

log = logging.getLogger(__name__)
CONSUMED = (topics.RECORDS_SUBMITTED, topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES,
            topics.SLA_ALERTS)


def create_app(settings: NotifierSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    runtime = ServiceRuntime(settings, clock)
    channels = config.channels_config(settings)
    directory = config.directory(settings, channels)
    templates = config.templates(settings)
    metrics = NotifierMetrics(runtime.metrics)
    store = MongoNotifierStore(lambda: runtime.db)
    parking = ParkingLot(lambda: runtime.db)
    publisher = OutboxRelay(OutcomeOutbox(store, timedelta(seconds=settings.lease_s)),
                            runtime.send_stored, runtime.metrics, batch_size=settings.batch_size,
                            sweep_interval=timedelta(seconds=settings.sweep_s))
    deliverer = Deliverer(store, publisher, templates, channels, config.retry_policy(settings),
                          config.care_policy(settings), runtime.clock, settings, metrics)
    planner = Planner(store, parking, directory, templates, deliverer.enqueue, publisher, runtime.clock,
                      settings, metrics)

    async def announce() -> None:
        off = sorted({"email", "sms", "webhook"} - channels.enabled)
        if off:
            log.warning("channels not configured, notifications on them fail at once",
                        extra={"disabled": off, "enabled": sorted(channels.enabled)})

    runtime.declare_topics(topics.NOTIFICATION_OUTCOMES)
    runtime.subscribe_batch(list(CONSUMED), planner.on_events)
    runtime.on_start(store.create_indexes)
    runtime.on_start(parking.create_indexes)
    runtime.on_start(announce)
    runtime.run_in_background(deliverer.run)
    runtime.run_in_background(publisher.run)
    app = runtime.asgi(
        router(store, parking),
        title="motcua notifier",
        description="Tells applicants and supervisors what happens to a record, once, in their "
                    "language: email, SMS and webhooks, with retries, folding and quiet hours.",
    )
    app.state.store = store
    app.state.deliverer = deliverer
    return app
