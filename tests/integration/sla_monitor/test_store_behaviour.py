"""The MongoDB deadline store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.runtime.errors import NewerLayout
from services.sla_monitor.ports import DeadlineStore
from services.sla_monitor.store import MongoDeadlineStore
from tests.behaviour.deadline_store import DeadlineStoreBehaviour, code, deadline

pytestmark = pytest.mark.integration


class TestMongoDeadlineStore(DeadlineStoreBehaviour):
    @pytest.fixture
    async def store(self, scratch_db: AsyncDatabase[dict[str, Any]]) -> DeadlineStore:
        store = MongoDeadlineStore(lambda: scratch_db)
        await store.create_indexes()
        return store

    async def test_a_deadline_of_a_newer_layout_is_neither_read_fired_nor_rewritten(
            self, store: DeadlineStore) -> None:
        assert isinstance(store, MongoDeadlineStore)
        state = deadline(1)
        assert state.next_fire_at is not None
        await store.create(state, None)
        await store.deadlines.update_one({"_id": state.record_code}, {"$set": {"layout": 2}})
        with pytest.raises(NewerLayout):
            await store.get(state.record_code)
        with pytest.raises(NewerLayout):
            await store.get_many([state.record_code])
        assert await store.due(state.next_fire_at, 10) == []
        assert not await store.replace(state, state.revision, None)
        await store.set_aside(state.record_code, state.next_fire_at)
        doc = await store.deadlines.find_one({"_id": state.record_code})
        assert doc is not None and doc["revision"] == state.revision

    async def test_a_deadline_stored_before_layouts_were_numbered_still_reads(
            self, store: DeadlineStore) -> None:
        assert isinstance(store, MongoDeadlineStore)
        state = deadline(1)
        await store.create(state, None)
        await store.deadlines.update_one({"_id": state.record_code}, {"$unset": {"layout": 1}})
        stored = await store.get(state.record_code)
        assert stored is not None and stored.state == state
        assert await store.replace(state, state.revision, None)

    async def test_a_document_that_is_not_a_deadline_is_named_and_set_aside(
            self, store: DeadlineStore) -> None:
        assert isinstance(store, MongoDeadlineStore)
        await store.create(deadline(1), None)
        await store.deadlines.insert_one({"_id": code(2), "revision": 0, "state": {"x": 1}})
        found, unreadable = await store.get_many([code(1), code(2)])
        assert (list(found), unreadable) == ([code(1)], [code(2)])
        first = deadline(1).next_fire_at
        assert first is not None
        until = first + timedelta(days=1)
        await store.set_aside(code(2), until)
        assert await store.due(until - timedelta(seconds=1), 10) == [code(1)]
        assert await store.due(until, 10) == [code(1), code(2)]
        doc = await store.deadlines.find_one({"_id": code(2)})
        assert doc is not None and doc["revision"] == 1
