"""The SLA monitor's gauges read from its store: open deadlines per department and standing."""

from __future__ import annotations

from services.runtime.sampled import SampledGauge, Samples
from services.runtime.service import ServiceRuntime

from .domain import STANDINGS
from .ports import DeadlineStore

DEADLINES_METRIC = "motcua_sla_deadlines"


def watch_deadlines(runtime: ServiceRuntime, store: DeadlineStore) -> SampledGauge:
    """`motcua_sla_deadlines{department, state}`, refreshed in the background from one
    aggregate: every standing of a department that has any is shown, zeros included, so a
    dashboard draws a line that falls to 0 instead of one that stops."""

    async def read() -> Samples:
        counts = await store.standings()
        departments = {department for department, _ in counts}
        return {(department, state): float(counts.get((department, state), 0))
                for department in departments for state in STANDINGS}

    return runtime.sample_gauge(DEADLINES_METRIC, "open deadlines by holding department and state: "
                                "open, warned (warning sent) or breached (past due)",
                                ("department", "state"), read)
