"""The one place a service keeps events that came before the record they are about.

A department's answer or a routing decision travels on another topic than the record's
submission and can overtake it. A service that needs the submission first parks such an event
here (keyed by event id, so a redelivered one is parked once) and takes the record's parked
events back, oldest first, when the submission comes; a sweep replays what a crash left.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from contracts.envelope import Envelope, decode

from .duplicates import refused_as_duplicates
from .outbox import StoredMessage, stored_message

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    """An event waiting for its record, as an operator sees it (without its content)."""

    event_id: str
    record_code: str
    event_type: str
    parked_at: datetime


class ParkingLot:
    """Parked events in the service's `parked` collection; takes the database from a provider
    (the client exists only while the service runs)."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]], collection: str = "parked") -> None:
        self._db = db
        self._name = collection

    @property
    def _c(self) -> AsyncCollection[Document]:
        return self._db()[self._name]

    async def create_indexes(self) -> None:
        await self._c.create_index([("record_code", ASCENDING)])

    async def park(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """Keep the events until their records come; one already parked stays as it was."""
        now = datetime.now(UTC)
        docs = list({e.id: {"_id": e.id, "record_code": e.record_id, "event_type": e.type,
                            "parked_at": now, "message": stored_message("", e).document()}
                     for e in envelopes}.values())
        if not docs:
            return
        try:
            await self._c.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            refused_as_duplicates(error)  # parked before: the same event, kept once

    async def records_among(self, codes: Collection[str]) -> set[str]:
        """Which of these records have parked events, in one query on the index."""
        if not codes:
            return set()
        found = self._c.find({"record_code": {"$in": sorted(codes)}}, {"record_code": 1, "_id": 0})
        return {doc["record_code"] async for doc in found}

    async def events_of(self, codes: Collection[str]) -> list[Envelope[Any]]:
        """The parked events of these records, oldest first (event time)."""
        if not codes:
            return []
        found = self._c.find({"record_code": {"$in": sorted(codes)}})
        envelopes = []
        async for doc in found:
            message = StoredMessage.from_document(doc["message"]).kafka()
            envelopes.append(decode(message.key, message.value, message.headers))
        return sorted(envelopes, key=lambda e: (e.time, e.id))

    async def release(self, event_ids: Collection[str]) -> None:
        """Forget events whose replay is done (their effects are stored)."""
        if event_ids:
            await self._c.delete_many({"_id": {"$in": sorted(event_ids)}})

    async def waiting_records(self, limit: int = 1000) -> list[str]:
        """Records with parked events, read from the `record_code` index alone (a covered scan
        in code order, where an empty filter would read the whole collection)."""
        found = self._c.find({"record_code": {"$gte": ""}}, {"record_code": 1, "_id": 0})
        return sorted({doc["record_code"] async for doc in found.sort("record_code", 1).limit(limit)})

    async def listing(self, code: str | None, limit: int) -> list[ParkedEvent]:
        """For operators: what waits (for one record, or a page of everything)."""
        query: Document = {"record_code": {"$gte": ""}} if code is None else {"record_code": code}
        found = self._c.find(query, {"message": 0}).sort("record_code", 1).limit(limit)
        return [ParkedEvent(doc["_id"], doc["record_code"], doc.get("event_type", ""),
                            doc.get("parked_at", datetime.min.replace(tzinfo=UTC)))
                async for doc in found]
