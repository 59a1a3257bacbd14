"""Gauges read in the background: a scrape shows the last read, never a stale one after a failure."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, generate_latest

from contracts import topics
from services.runtime.lag import GroupReads
from services.runtime.sampled import SampledGauge, Samples


def samples_of(registry: CollectorRegistry, name: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.values()): s.value for family in registry.collect()
            if family.name == name for s in family.samples}


async def test_a_scrape_shows_the_last_read_and_an_empty_family_after_a_failure() -> None:
    answers: list[Samples | Exception] = [{("A", "open"): 3.0}, RuntimeError("database gone")]

    async def read() -> Samples:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    gauge = SampledGauge("motcua_test_things", "things", ["who", "state"], read, timeout_s=1.0)
    registry = CollectorRegistry()
    registry.register(gauge)
    assert samples_of(registry, "motcua_test_things") == {}
    assert await gauge.refresh()
    assert samples_of(registry, "motcua_test_things") == {("A", "open"): 3.0}
    assert not await gauge.refresh()
    assert samples_of(registry, "motcua_test_things") == {}
    assert gauge.failures == 1
    assert b"# TYPE motcua_test_things gauge" in generate_latest(registry)


async def test_a_read_that_hangs_is_given_up_within_the_timeout() -> None:
    async def hang() -> Samples:
        await asyncio.sleep(60)
        return {}

    gauge = SampledGauge("motcua_test_hung", "hung", [], hang, timeout_s=0.05)
    assert not await asyncio.wait_for(gauge.refresh(), 2)
    assert gauge.failures == 1


def test_a_group_reading_a_family_covers_every_department_topic_of_it_and_not_its_dead_letters() -> None:
    reads = GroupReads(topics={topics.RECORDS_SUBMITTED}, families={topics.UPDATES_TOPIC_MARKER})
    assert reads.covers(topics.RECORDS_SUBMITTED)
    assert reads.covers(topics.updates_topic("CA-TINH"))
    assert not reads.covers(topics.dead_letter_topic(topics.updates_topic("CA-TINH")))
    assert not reads.covers(topics.feedback_topic("CA-TINH"))
