"""The MongoDB-protocol server through PyMongo's async API, as the services use it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from tests.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def test_document_round_trips_with_vietnamese_text_and_aware_datetimes(
    endpoints: Endpoints, unique: str
) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    try:
        records = client[f"t{unique}"]["records"]
        received = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
        await records.insert_one({"_id": "000.00.21.H40-261124-0001",
                                  "procedure": "Đăng ký khai sinh", "received_at": received})
        found = await records.find_one({"_id": "000.00.21.H40-261124-0001"})
        assert found == {"_id": "000.00.21.H40-261124-0001", "procedure": "Đăng ký khai sinh",
                         "received_at": received}
    finally:
        await client.drop_database(f"t{unique}")
        await client.close()


async def test_unique_index_and_atomic_counter_hold(endpoints: Endpoints, unique: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongodb_uri)
    try:
        db = client[f"t{unique}"]
        await db["inbox"].create_index([("consumer", 1), ("event_id", 1)], unique=True)
        await db["inbox"].insert_one({"consumer": "routing", "event_id": "e1"})
        with pytest.raises(DuplicateKeyError) as caught:
            await db["inbox"].insert_one({"consumer": "routing", "event_id": "e1"})
        assert caught.value.code == 11000
        counters = db["counters"]
        values = []
        for _ in range(3):
            doc = await counters.find_one_and_update(
                {"_id": "000.00.21.H40-261124"}, {"$inc": {"seq": 1}}, upsert=True,
                return_document=ReturnDocument.AFTER)
            assert doc is not None
            values.append(doc["seq"])
        assert values == [1, 2, 3]
    finally:
        await client.drop_database(f"t{unique}")
        await client.close()
