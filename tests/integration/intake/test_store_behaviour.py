"""The MongoDB record store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.ports import RecordStore
from services.intake.store import MongoRecordStore
from services.runtime.errors import NewerLayout
from tests.behaviour.intake_store import FUTURE, RecordStoreBehaviour, new_record

pytestmark = pytest.mark.integration


class TestMongoRecordStore(RecordStoreBehaviour):
    @pytest.fixture
    async def store(self, scratch_db: AsyncDatabase[dict[str, Any]]) -> RecordStore:
        store = MongoRecordStore(lambda: scratch_db)
        await store.create_indexes()
        return store

    async def test_a_record_of_a_newer_layout_is_refused_not_misread(
            self, store: RecordStore) -> None:
        assert isinstance(store, MongoRecordStore)
        record = new_record(1)
        await store.insert(record, FUTURE)
        await store.records.update_one({"_id": record.code}, {"$set": {"layout": 2}})
        with pytest.raises(NewerLayout):
            await store.find_by_key(record.idempotency_key)
        with pytest.raises(NewerLayout):
            await store.tracked(record.code)
