"""Consumer lag on the real broker, read with the service's own principal and its own ACLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import samples, topics
from contracts.envelope import Envelope, encode
from services.routing.settings import RoutingSettings
from services.runtime.kafka import ensure_topics, topic_spec
from services.runtime.lag import LAG_METRIC
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints
from tests.kafka_io import write_raw

pytestmark = pytest.mark.integration

MESSAGES = 5
KEY = samples.RECORD_CODE
"""One key: every message lands on the same partition."""


@pytest.fixture
async def routing(make_settings: Callable[..., Any], endpoints: Endpoints, namespace: str
                  ) -> AsyncIterator[tuple[ServiceRuntime, asyncio.Event, list[str]]]:
    """Routing's runtime as routing's principal, its handler held until the event is set."""
    settings: RoutingSettings = make_settings(
        RoutingSettings, MOTCUA_TOPIC_NAMESPACE=namespace, consumer_group="motcua-routing",
        METRICS_REFRESH_S=0.3, **endpoints.authority.service_env("routing"))
    runtime = ServiceRuntime(settings)
    release = asyncio.Event()
    handled: list[str] = []

    async def handle(envelope: Envelope[Any]) -> None:
        await release.wait()
        handled.append(envelope.id)

    runtime.subscribe(topics.RECORDS_SUBMITTED, handle)
    yield runtime, release, handled
    release.set()
    await runtime.stop()


def lag(runtime: ServiceRuntime) -> dict[tuple[str, str, str], float]:
    """The lag samples the service's /metrics would show."""
    return {(s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value
            for family in runtime.metrics.collect() if family.name == LAG_METRIC
            for s in family.samples}


async def until(runtime: ServiceRuntime, wanted: Callable[[dict[tuple[str, str, str], float]], bool],
                timeout_s: float = 30.0) -> dict[tuple[str, str, str], float]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        found = lag(runtime)
        if wanted(found):
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"lag never as wanted; last {lag(runtime)}")


async def test_lag_counts_what_a_group_has_not_consumed_and_falls_to_zero_after(
        routing: tuple[ServiceRuntime, asyncio.Event, list[str]], endpoints: Endpoints) -> None:
    runtime, release, handled = routing
    settings = runtime.settings
    await ensure_topics(settings, [topics.RECORDS_SUBMITTED])
    for n in range(MESSAGES):
        message = encode(Envelope.wrap(samples.record_submitted(), source="/motcua/intake",
                                       time=datetime.now(UTC), id=f"lag-{n}"))
        await write_raw(endpoints.kafka, settings.topic(topics.RECORDS_SUBMITTED), message.value,
                        key=KEY.encode(), headers=message.headers)
    await runtime.start()

    before = await until(runtime, lambda found: MESSAGES in found.values())
    group = "motcua-routing"
    rows = {key: value for key, value in before.items() if key[0] == group}
    assert {topic for _, topic, _ in rows} == {topics.RECORDS_SUBMITTED}, "logical names only"
    assert sorted(rows.values()) == [0.0] * (len(rows) - 1) + [float(MESSAGES)], rows
    assert len(rows) == topic_spec(topics.RECORDS_SUBMITTED).partitions

    release.set()
    after = await until(runtime, lambda found: bool(found) and not any(found.values()))
    assert len(handled) == MESSAGES
    assert set(after) == set(rows)
