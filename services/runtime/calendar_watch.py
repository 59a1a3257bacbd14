"""Tells operators, from 1 October, that next year's working calendar is missing or provisional."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reference.calendar import WorkingCalendar
from reference.calendar_outlook import CalendarOutlook, next_year_outlook
from reference.localtime import to_local

from .clock import Clock
from .service import ServiceRuntime

log = logging.getLogger(__name__)


class _OutlookGauge(Collector):
    """`motcua_calendar_next_year{year, status}`: 1 while the year needs an operator, read on
    every scrape so it follows the service's clock."""

    def __init__(self, outlook: Callable[[], CalendarOutlook]) -> None:
        self._outlook = outlook

    def collect(self) -> Iterator[GaugeMetricFamily]:
        outlook: CalendarOutlook = self._outlook()
        family = GaugeMetricFamily(
            "motcua_calendar_next_year",
            "1 from 1 October while next year's working calendar is missing or provisional",
            labels=["year", "status"])
        family.add_metric([str(outlook.year), outlook.status], 1.0 if outlook.attention else 0.0)
        yield family


def watch_calendar(runtime: ServiceRuntime, calendar: WorkingCalendar) -> None:
    """A readiness notice, a gauge and a warning at start for next year's calendar."""
    clock: Clock = runtime.clock

    def outlook() -> CalendarOutlook:
        return next_year_outlook(calendar, to_local(clock.now()).date())

    def notice() -> dict[str, Any] | None:
        found = outlook()
        if not found.attention:
            return None
        return {"kind": "calendar", "year": found.year, "status": found.status,
                "message": found.message()}

    async def warn_at_start() -> None:
        found = outlook()
        if found.attention:
            log.warning(found.message(), extra={"calendar_year": found.year,
                                                "calendar_status": found.status})

    runtime.metrics.register(_OutlookGauge(outlook))
    runtime.add_notice(notice)
    runtime.on_start(warn_at_start)
