"""The MongoDB notifier store keeps its promises, on the replica set the services use."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.notifier.ports import NotifierStore
from services.notifier.store import MongoNotifierStore
from services.runtime.errors import NewerLayout
from tests.behaviour.notifier_store import (
    NOW,
    NotifierStoreBehaviour,
    claim,
    code,
    delivery,
    intent,
    result,
)
from tests.unit.notifier.factories import known

pytestmark = pytest.mark.integration


class TestMongoNotifierStore(NotifierStoreBehaviour):
    @pytest.fixture
    async def store(self, scratch_db: AsyncDatabase[dict[str, Any]]) -> NotifierStore:
        store = MongoNotifierStore(lambda: scratch_db)
        await store.create_indexes()
        return store

    async def test_what_a_newer_build_wrote_is_skipped_by_sweeps_and_refused_by_reads(
            self, store: NotifierStore) -> None:
        """A rolling upgrade: the sweeps leave a newer build's work alone (its attempts stay
        its own: planning one here loses the claim's unique insert), except that its result
        still means the notification ended; a read by id says it cannot read it."""
        assert isinstance(store, MongoNotifierStore)
        newer = {"$set": {"layout": 2}}
        await store.insert_deliveries([delivery(1), delivery(2)])
        await store.claim([claim(1, 1), claim(1, 2, "retry")])
        await store.finish([result(1), result(2)])
        await store.remember([known(record_code=code(1))])
        one = intent(1).notification_id
        for collection, key in (("deliveries", one), ("attempts", claim(1, 2).id),
                                ("results", one), ("records", code(1))):
            await store.collection(collection).update_one({"_id": key}, newer)

        assert [d.record_code for d in await store.open_deliveries(NOW, 10)] == [code(2)]
        assert await store.claims_among([one], 3) == {one: [claim(1, 1)]}
        assert await store.finished_among([one]) == {one}
        assert [r.notification_id for r in await store.unpublished(NOW, 10)] == [
            result(2).notification_id]
        for read in (store.result(one), store.claims_of(one), store.records({code(1)}),
                     store.of_record(code(1), 10)):
            with pytest.raises(NewerLayout):
                await read

    async def test_documents_written_before_layouts_were_numbered_still_read(
            self, store: NotifierStore) -> None:
        assert isinstance(store, MongoNotifierStore)
        await store.insert_deliveries([delivery(1)])
        await store.finish([result(1)])
        for collection in ("deliveries", "results"):
            await store.collection(collection).update_many({}, {"$unset": {"layout": 1}})
        assert await store.open_deliveries(NOW, 10) == [delivery(1)]
        assert await store.result(result(1).notification_id) == result(1)
