"""The deadline store's bulk compare-and-set on MongoDB: what it writes and what it names."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.sla_monitor.store import DeadlineStore
from tests.endpoints import Endpoints
from tests.unit.sla_monitor.factories import at, run, submitted

pytestmark = pytest.mark.integration


async def test_replace_many_writes_the_unchanged_records_and_names_those_changed_meanwhile(
        endpoints: Endpoints, unique: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    db = client[f"t{unique}_sla_store"]
    store = DeadlineStore(lambda: db)
    try:
        codes = [f"000.00.21.H40-251110-{n:04d}" for n in (1, 2, 3)]
        states = [run((submitted(at("2025-11-10"), 3, code), at("2025-11-10"))) for code in codes]
        assert await store.save_many([(s, None, None) for s in states])
        raced = states[1]
        assert await store.replace(replace(raced, revision=raced.revision + 1), raced.revision, None)

        later = [replace(s, revision=s.revision + 1, next_fire_at=None) for s in states]
        lost = await store.replace_many([(s, old.revision, "00-t-s-01")
                                         for s, old in zip(later, states, strict=True)])

        assert lost == [codes[1]]
        found, _ = await store.get_many(codes)
        assert found[codes[0]].state == later[0] and found[codes[2]].state == later[2]
        assert found[codes[1]].state != later[1]  # the other writer's, left alone
        assert await store.replace_many([(s, s.revision, None) for s in later[::2]]) == []
    finally:
        await client.drop_database(db.name)
        await client.close()
