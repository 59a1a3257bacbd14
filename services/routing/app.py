"""Composition root of the routing service: builds everything, connects nothing until started."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from contracts import topics
from reference.catalog import load_catalog
from reference.units import load_units
from services.runtime.clock import Clock
from services.runtime.service import ServiceRuntime

from . import queue
from .api import router
from .dispatcher import Dispatcher
from .domain.directory import MANUAL_QUEUE
from .settings import RoutingSettings
from .store import MongoRouteStore
from .versions import TableVersions


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = ServiceRuntime(settings, clock)
    catalog, units = load_catalog(), load_units()
    store = MongoRouteStore(lambda: runtime.db)
    versions = TableVersions(store, catalog, units)
    dispatcher = Dispatcher(runtime, store, versions, catalog, units, clock=runtime.clock,
                            metrics=runtime.metrics, max_bounces=settings.max_bounces,
                            skew_s=settings.update_clock_skew_s)

    async def prepare() -> None:
        await store.create_indexes()
        await versions.load(settings.initial_tables)

    async def follow_tables() -> None:
        """Learn every department's topic at once, send what a crash left unsent, finish a
        reorganisation a crash interrupted, then pick up versions published through another
        instance."""
        await runtime.track_topics(topics.department_topic(department.code)
                                   for department in versions.current.departments
                                   if department.active)
        await dispatcher.recover()
        await dispatcher.reorganise()
        while True:
            await asyncio.sleep(settings.table_refresh_s)
            before = versions.current.version
            if (await versions.refresh()).version != before:
                await dispatcher.reorganise()

    runtime.declare_topics(topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES,
                           *topics.department_topics(MANUAL_QUEUE))
    runtime.declare_topic_families(topics.DEPARTMENT_TOPIC_MARKER, topics.UPDATES_TOPIC_MARKER,
                                   topics.FEEDBACK_TOPIC_MARKER)
    runtime.subscribe_batch(topics.RECORDS_SUBMITTED, dispatcher.on_submitted)
    # Its own group: a department's first topic joining the pattern rebalances this consumer
    # only, never the one routing new submissions.
    runtime.subscribe_family(topics.UPDATES_TOPIC_MARKER, dispatcher.on_update,
                              group=f"{settings.consumer_group}-gate")
    runtime.on_start(prepare)
    runtime.run_in_background(follow_tables)
    app = runtime.asgi(
        router(versions, dispatcher),
        queue.router(dispatcher, versions, catalog, units),
        title="motcua routing",
        description="Routes each record to the department responsible; re-routes when it goes "
                    "astray or when the administrative map changes.",
        json_paths=("/admin/", "/manual-queue/"),
    )
    app.state.dispatcher = dispatcher
    app.state.versions = versions
    return app
