"""Each service's app and topic use, read from its own composition root (built, never connected)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from fastapi import FastAPI

from services.routing.domain.table import RoutingTable
from services.runtime.kafka_access import TopicUse
from services.runtime.service import ServiceRuntime

SERVICE_NAMES = ("intake", "routing", "sla_monitor", "notifier")


@functools.cache
def service_apps() -> dict[str, FastAPI]:
    """Every service's app, composed with throwaway settings: what it subscribes to, publishes
    and joins is recorded on its runtime. Built once per process: every fleet provisions."""
    from services.intake.app import create_app as intake
    from services.intake.settings import IntakeSettings
    from services.notifier.app import create_app as notifier
    from services.notifier.settings import NotifierSettings
    from services.routing.app import create_app as routing
    from services.routing.settings import RoutingSettings
    from services.sla_monitor.app import create_app as sla_monitor
    from services.sla_monitor.settings import SlaMonitorSettings

    # Building an app reads its settings; the credentials are never used (nothing connects).
    values = {"KAFKA_SASL_USERNAME": "composition-only",
              "KAFKA_SASL_PASSWORD": "composition-only", "AUTH_ISSUER": "composition-only",
              "AUTH_JWKS_URL": "file:///composition-only", "lookup_key": "composition-only" * 2}
    return {
        "intake": intake(IntakeSettings.model_validate(values)),
        "routing": routing(RoutingSettings.model_validate(values)),
        "sla_monitor": sla_monitor(SlaMonitorSettings.model_validate(values)),
        "notifier": notifier(NotifierSettings.model_validate(values)),
    }


def composed_runtimes() -> dict[str, ServiceRuntime]:
    """Every service's runtime as its composition root builds it, never connected: what it uses
    on the broker, and the metrics it registers."""
    runtimes: dict[str, ServiceRuntime] = {}
    for name, app in service_apps().items():
        runtime = app.state.runtime
        assert isinstance(runtime, ServiceRuntime)
        runtimes[name] = runtime
    return runtimes


def service_uses() -> dict[str, TopicUse]:
    """What every service subscribes to, publishes and joins, as its app declares it (logical
    names: the grants add the namespace)."""
    return {name: runtime.topic_use for name, runtime in composed_runtimes().items()}


def active_departments(tables: Iterable[RoutingTable]) -> list[str]:
    """The codes of departments active in any of the routing tables given (the one-stop office's
    manual queue included: it is a department of the table)."""
    codes: set[str] = set()
    for table in tables:
        codes.update(d.code for d in table.departments if d.active)
    return sorted(codes)
