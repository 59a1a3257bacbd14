"""The MongoDB record store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.intake.ports import RecordStore
from services.intake.store import MongoRecordStore
from services.runtime.errors import NewerLayout
from tests.behaviour.intake_store import FUTURE, RecordStoreBehaviour, new_record
from tests.endpoints import Endpoints

pytestmark = pytest.mark.integration


class TestMongoRecordStore(RecordStoreBehaviour):
    @pytest.fixture
    async def store(self, endpoints: Endpoints, unique: str) -> AsyncIterator[RecordStore]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri,
                                                                    tz_aware=True)
        db = client[f"t{unique}_intake_store"]
        store = MongoRecordStore(lambda: db)
        await store.create_indexes()
        try:
            yield store
        finally:
            await client.drop_database(db.name)
            await client.close()

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
