"""motcua_sla_deadlines: open deadlines per department and standing, from the store's count."""

from __future__ import annotations

from dataclasses import replace

from services.runtime.service import ServiceRuntime
from services.sla_monitor.gauges import DEADLINES_METRIC, watch_deadlines
from services.sla_monitor.settings import SlaMonitorSettings
from tests.behaviour.deadline_store import deadline
from tests.fakes.sla_monitor import InMemoryDeadlineStore
from tests.unit.sla_monitor.factories import DEPT, OTHER

SETTINGS = SlaMonitorSettings.model_validate({
    "KAFKA_SASL_USERNAME": "unit", "KAFKA_SASL_PASSWORD": "unit", "AUTH_ISSUER": "unit",
    "AUTH_JWKS_URL": "file:///unit"})


def shown(runtime: ServiceRuntime) -> dict[tuple[str, str], float]:
    return {(s.labels["department"], s.labels["state"]): s.value
            for family in runtime.metrics.collect() if family.name == DEADLINES_METRIC
            for s in family.samples}


async def test_each_department_shows_every_state_and_a_breach_moves_between_them() -> None:
    store = InMemoryDeadlineStore()
    runtime = ServiceRuntime(SETTINGS)
    gauge = watch_deadlines(runtime, store)
    assert await gauge.refresh()
    assert shown(runtime) == {}

    first, second = deadline(1), deadline(2).with_fired("warning")
    await store.save_many([(first, None, None), (second, None, None),
                           (deadline(3, OTHER), None, None)])
    assert await gauge.refresh()
    assert shown(runtime) == {(DEPT, "open"): 1, (DEPT, "warned"): 1, (DEPT, "breached"): 0,
                              (OTHER, "open"): 1, (OTHER, "warned"): 0, (OTHER, "breached"): 0}

    late = replace(second.with_fired("breach"), breached_at=second.due_current_at,
                   revision=second.revision + 1)
    assert await store.replace(late, second.revision, None)
    assert await gauge.refresh()
    assert shown(runtime)[(DEPT, "warned")] == 0
    assert shown(runtime)[(DEPT, "breached")] == 1
