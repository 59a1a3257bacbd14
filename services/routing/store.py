"""Routing's MongoDB port: table versions (insert-only) and one route document per record.

A route document keeps the record's routing state, the ids of the events already applied, and
the messages its decisions produced, each tagged with its cause. The hot path reads and writes
by `_id`: a batch of new records' routes is one unordered bulk insert, whose unique `_id` also
settles a redelivered submission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.runtime.errors import StateChanged

Document = dict[str, Any]
_DUPLICATE_KEY = 11000


class RouteStore:
    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db

    @property
    def routes(self) -> AsyncCollection[Document]:
        return self._db()["routes"]

    @property
    def refusals(self) -> AsyncCollection[Document]:
        """Updates the gate refused, by `<sender>:<event id>`, with the feedback message."""
        return self._db()["refusals"]

    @property
    def tables(self) -> AsyncCollection[Document]:
        return self._db()["tables"]

    async def create_indexes(self) -> None:
        await self.routes.create_index([("status", ASCENDING), ("department", ASCENDING)])
        await self.routes.create_index([("unsent", ASCENDING)],
                                       partialFilterExpression={"unsent": True})

    # --- table versions -----------------------------------------------------------------------

    async def newest_table_version(self) -> int | None:
        versions = [int(doc["_id"]) async for doc in self.tables.find({}, {"_id": 1})]
        return max(versions, default=None)

    async def table(self, version: int) -> Document | None:
        doc = await self.tables.find_one({"_id": version})
        return doc["table"] if doc else None

    async def add_table(self, version: int, table: Document) -> bool:
        """Publish a version; False if that version number exists already (never overwritten)."""
        try:
            await self.tables.insert_one({"_id": version, "table": table})
            return True
        except DuplicateKeyError:
            return False

    # --- routes -------------------------------------------------------------------------------

    async def get(self, code: str) -> Document | None:
        return await self.routes.find_one({"_id": code})

    async def get_many(self, codes: Collection[str]) -> dict[str, Document]:
        """The routes of these records that exist, in one query."""
        return {doc["_id"]: doc async for doc in self.routes.find({"_id": {"$in": sorted(codes)}})}

    async def create_many(self, routes: Sequence[Document]) -> set[str]:
        """Insert routes in one unordered bulk write; the codes of those inserted (the others
        already had a route: a redelivered or concurrent submission). Any other failure raises."""
        if not routes:
            return set()
        codes = [route["_id"] for route in routes]
        try:
            await self.routes.insert_many(routes, ordered=False)
            return set(codes)
        except BulkWriteError as error:
            details = error.details
            others = [e for e in details.get("writeErrors", []) if e.get("code") != _DUPLICATE_KEY]
            if others or details.get("writeConcernErrors"):
                raise
            existing = {codes[e["index"]] for e in details.get("writeErrors", [])}
            return set(codes) - existing

    async def apply(self, read: Document, event_id: str, changes: Document,
                    messages: list[Document]) -> None:
        """Store an event's effect and the messages it produced, if the route is still as it
        was `read`: same assignment (`attempt`), same stage. Otherwise another path moved it
        in between (a reorganisation, another instance) and the decision must be taken again
        on what is stored now: `StateChanged`, which the runtime retries."""
        stored = await self.routes.update_one(
            {"_id": read["_id"], "attempt": read["attempt"], "stage": read.get("stage"),
             "applied": {"$ne": event_id}},
            {"$set": changes, "$push": {"applied": event_id, "outbox": {"$each": messages}}})
        if not stored.matched_count:
            raise StateChanged(f"route {read['_id']} changed while {event_id} was decided")

    async def refusal(self, sender: str, event_id: str) -> Document | None:
        return await self.refusals.find_one({"_id": f"{sender}:{event_id}"})

    async def refuse(self, sender: str, event_id: str, message: Document) -> Document:
        """Keep the gate's refusal of an update; the one kept first if a redelivery raced it."""
        key = f"{sender}:{event_id}"
        try:
            await self.refusals.insert_one({"_id": key, "message": message})
        except DuplicateKeyError:
            kept = await self.refusals.find_one({"_id": key})
            if kept is not None:
                return dict(kept["message"])
        return message

    async def mark_sent(self, code: str) -> None:
        """A reorganisation's messages went out (consumer paths need no mark: Kafka redelivers)."""
        await self.routes.update_one({"_id": code}, {"$set": {"unsent": False}})

    async def unsent(self) -> AsyncIterator[Document]:
        """Routes a crash left with a reorganisation's messages unsent (start-up only)."""
        async for doc in self.routes.find({"unsent": True}):
            yield doc

    async def held_by(self, departments: set[str]) -> AsyncIterator[Document]:
        """Open routes held by these departments (run on table changes)."""
        async for doc in self.routes.find({"status": "routed",
                                           "department": {"$in": sorted(departments)}}):
            yield doc
