"""The MongoDB route store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.ports import RouteStore
from services.routing.store import MongoRouteStore
from services.runtime.errors import NewerLayout
from tests.behaviour.route_store import RouteStoreBehaviour, new_route

pytestmark = pytest.mark.integration


class TestMongoRouteStore(RouteStoreBehaviour):
    @pytest.fixture
    async def store(self, scratch_db: AsyncDatabase[dict[str, Any]]) -> RouteStore:
        store = MongoRouteStore(lambda: scratch_db)
        await store.create_indexes()
        return store

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
