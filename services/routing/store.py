"""Routing's MongoDB port: table versions (insert-only) and one route document per record.

A route document keeps the record's routing state, the ids of the events already applied, and
the messages its decisions produced with how many of them went out: a redelivered event
re-sends what a crash left unsent and changes nothing else. Lookups are by `_id` (the only
indexed query FerretDB 1.x runs); a claim that must be unique across instances is an insert.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


class RouteStore:
    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db

    @property
    def routes(self) -> AsyncCollection[Document]:
        return self._db()["routes"]

    @property
    def tables(self) -> AsyncCollection[Document]:
        return self._db()["tables"]

    @property
    def claims(self) -> AsyncCollection[Document]:
        return self._db()["reroute_claims"]

    async def create_indexes(self) -> None:
        await self.routes.create_index([("status", ASCENDING), ("department", ASCENDING)])

    # --- table versions -----------------------------------------------------------------------

    async def table_versions(self) -> list[Document]:
        return await self.tables.find({}).to_list(None)

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

    async def create(self, route: Document) -> bool:
        """False if the record already has a route (a redelivered or concurrent submission)."""
        try:
            await self.routes.insert_one(route)
            return True
        except DuplicateKeyError:
            return False

    async def apply(self, code: str, event_id: str, changes: Document,
                    messages: list[Document]) -> None:
        """Store an event's effect and the messages it produced, by `_id`."""
        await self.routes.update_one({"_id": code}, {
            "$set": changes,
            "$push": {"applied": event_id, "outbox": {"$each": messages}}})

    async def mark_sent(self, code: str, count: int) -> None:
        await self.routes.update_one({"_id": code}, {"$max": {"outbox_sent": count}})

    async def held_by(self, departments: set[str]) -> AsyncIterator[Document]:
        """Open routes held by these departments (a scan on FerretDB; run on table changes)."""
        async for doc in self.routes.find({"status": "routed",
                                           "department": {"$in": sorted(departments)}}):
            yield doc

    async def claim_reroute(self, code: str, version: int) -> bool:
        """Only one instance moves a record for a table version."""
        try:
            await self.claims.insert_one({"_id": f"{code}@v{version}"})
            return True
        except DuplicateKeyError:
            return False
