"""The MongoDB route store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.routing.ports import RouteStore
from services.routing.store import MongoRouteStore
from services.runtime.errors import NewerLayout
from tests.behaviour.route_store import RouteStoreBehaviour, new_route
from tests.endpoints import Endpoints

pytestmark = pytest.mark.integration


class TestMongoRouteStore(RouteStoreBehaviour):
    @pytest.fixture
    async def store(self, endpoints: Endpoints, unique: str) -> AsyncIterator[RouteStore]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri,
                                                                    tz_aware=True)
        db = client[f"t{unique}_route_store"]
        store = MongoRouteStore(lambda: db)
        await store.create_indexes()
        try:
            yield store
        finally:
            await client.drop_database(db.name)
            await client.close()

    async def test_a_route_of_a_newer_layout_is_refused_not_misread(
            self, store: RouteStore) -> None:
        assert isinstance(store, MongoRouteStore)
        stored = new_route(1)
        await store.create_many([stored])
        await store.routes.update_one({"_id": stored.code}, {"$set": {"layout": 2}})
        with pytest.raises(NewerLayout):
            await store.get(stored.code)
        with pytest.raises(NewerLayout):
            _ = [s async for s in store.held_by({"SO-TU-PHAP"})]

    async def test_a_route_stored_before_layouts_were_numbered_still_reads(
            self, store: RouteStore) -> None:
        assert isinstance(store, MongoRouteStore)
        stored = new_route(1)
        await store.create_many([stored])
        await store.routes.update_one({"_id": stored.code}, {"$unset": {"layout": ""}})
        assert await store.get(stored.code) == stored
