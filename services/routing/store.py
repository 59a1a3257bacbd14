"""Routing's MongoDB port: table versions (insert-only) and one route document per record.

A route document keeps the record's routing state, the ids of the events already applied, and
the messages its decisions produced, each tagged with its cause. The hot path reads and writes
by `_id`: a batch of new records' routes is one unordered bulk insert, whose unique `_id` also
settles a redelivered submission. Documents carry their layout; a newer one is never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts.records.v1 import RecordSubmitted
from services.runtime.duplicates import refused_as_duplicates
from services.runtime.errors import NewerLayout, StateChanged
from services.runtime.outbox import StoredMessage

from .domain.directory import MANUAL_QUEUE
from .domain.route import Route
from .domain.table import RoutingTable
from .ports import ROUTE_LAYOUT, Outgoing, StoredRoute

Document = dict[str, Any]


class MongoRouteStore:
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

    async def table(self, version: int) -> RoutingTable | None:
        doc = await self.tables.find_one({"_id": version})
        return RoutingTable.model_validate(doc["table"]) if doc else None

    async def add_table(self, table: RoutingTable) -> bool:
        try:
            await self.tables.insert_one({"_id": table.version,
                                          "table": table.model_dump(mode="json")})
            return True
        except DuplicateKeyError:
            return False

    # --- routes -------------------------------------------------------------------------------

    async def get(self, code: str) -> StoredRoute | None:
        doc = await self.routes.find_one({"_id": code})
        return None if doc is None else _stored_route(doc)

    async def get_many(self, codes: Collection[str]) -> dict[str, StoredRoute]:
        """The routes of these records that exist, in one query."""
        return {doc["_id"]: _stored_route(doc)
                async for doc in self.routes.find({"_id": {"$in": sorted(codes)}})}

    async def create_many(self, routes: Sequence[StoredRoute]) -> set[str]:
        """Insert routes in one unordered bulk write; the codes of those inserted (the others
        already had a route: a redelivered or concurrent submission). Any other failure raises."""
        if not routes:
            return set()
        codes = [stored.code for stored in routes]
        try:
            await self.routes.insert_many([_document(stored) for stored in routes], ordered=False)
            return set(codes)
        except BulkWriteError as error:
            return set(codes) - {codes[i] for i in refused_as_duplicates(error)}

    async def apply(self, read: StoredRoute, event_id: str, route: Route,
                    messages: Sequence[Outgoing], *, unsent: bool = False) -> None:
        """Store an event's effect and the messages it produced, if the route is still as it
        was `read`: same assignment (`attempt`), same stage. Otherwise another path moved it
        in between (a reorganisation, another instance) and the decision must be taken again
        on what is stored now: `StateChanged`, which the runtime retries."""
        changes = _state(route)
        if unsent:
            changes["unsent"] = True
        stored = await self.routes.update_one(
            {"_id": read.code, "attempt": read.route.attempt, "stage": read.route.stage,
             "applied": {"$ne": event_id}, "layout": {"$not": {"$gt": ROUTE_LAYOUT}}},
            {"$set": changes, "$push": {"applied": event_id,
                                        "outbox": {"$each": [_outgoing(m) for m in messages]}}})
        if not stored.matched_count:
            raise StateChanged(f"route {read.code} changed while {event_id} was decided")

    async def mark_sent(self, code: str) -> None:
        """A reorganisation's messages went out (consumer paths need no mark: Kafka redelivers)."""
        await self.routes.update_one({"_id": code}, {"$set": {"unsent": False}})

    async def unsent(self) -> AsyncIterator[StoredRoute]:
        """Routes a crash left with a reorganisation's messages unsent (start-up only)."""
        async for doc in self.routes.find({"unsent": True}):
            yield _stored_route(doc)

    async def held_by(self, departments: Collection[str]) -> AsyncIterator[StoredRoute]:
        """Open routes held by these departments (run on table changes)."""
        async for doc in self.routes.find({"status": "routed",
                                           "department": {"$in": sorted(departments)}}):
            yield _stored_route(doc)

    async def waiting(self, limit: int) -> list[Route]:
        """The manual queue, longest waiting first (without the routes' outboxes)."""
        found = self.routes.find({"status": "manual", "department": MANUAL_QUEUE},
                                 {"applied": 0, "outbox": 0})
        routes = [_route(doc) async for doc in found]
        return sorted(routes, key=lambda route: route.waiting_since)[:limit]

    # --- the gate's refusals ------------------------------------------------------------------

    async def refusal(self, sender: str, event_id: str) -> StoredMessage | None:
        doc = await self.refusals.find_one({"_id": f"{sender}:{event_id}"})
        return None if doc is None else StoredMessage.from_document(doc["message"])

    async def refuse(self, sender: str, event_id: str, message: StoredMessage) -> StoredMessage:
        """Keep the gate's refusal of an update; the one kept first if a redelivery raced it."""
        key = f"{sender}:{event_id}"
        try:
            await self.refusals.insert_one({"_id": key, "message": message.document()})
        except DuplicateKeyError:
            kept = await self.refusals.find_one({"_id": key})
            if kept is not None:
                return StoredMessage.from_document(kept["message"])
        return message


def _state(route: Route) -> Document:
    """The fields decisions change (the record and its procedure never do)."""
    return {"department": route.department, "attempt": route.attempt,
            "returned_by": list(route.returned_by), "candidates_left": list(route.candidates_left),
            "table_version": route.table_version, "status": route.status, "stage": route.stage,
            "last_event_at": route.last_event_at, "reason": route.reason,
            "assigned_at": route.assigned_at}


def _document(stored: StoredRoute) -> Document:
    route = stored.route
    return {"_id": route.code, "layout": ROUTE_LAYOUT, "record": route.record.model_dump(mode="json"),
            "procedure_code": route.procedure_code, "agency_kind": route.agency_kind,
            "handling_level": route.handling_level, "unit": route.unit, **_state(route),
            "applied": list(stored.applied), "outbox": [_outgoing(m) for m in stored.outbox],
            **({"unsent": True} if stored.unsent else {})}


def _outgoing(out: Outgoing) -> Document:
    return {**out.message.document(), "cause": out.cause}


def _route(doc: Document) -> Route:
    layout = int(doc.get("layout", 1))  # routes stored before layouts were numbered are layout 1
    if layout > ROUTE_LAYOUT:
        raise NewerLayout(f"route {doc['_id']} has layout {layout}; this routing reads up to "
                          f"{ROUTE_LAYOUT}")
    return Route(record=RecordSubmitted.model_validate(doc["record"]),
                  procedure_code=doc["procedure_code"], agency_kind=doc["agency_kind"],
                  handling_level=doc["handling_level"], department=doc["department"],
                  attempt=int(doc["attempt"]), returned_by=tuple(doc["returned_by"]),
                  candidates_left=tuple(doc["candidates_left"]),
                  table_version=int(doc["table_version"]), status=doc["status"],
                  stage=doc.get("stage"), last_event_at=doc.get("last_event_at"),
                  reason=doc.get("reason"), assigned_at=doc.get("assigned_at"))


def _stored_route(doc: Document) -> StoredRoute:
    return StoredRoute(route=_route(doc), applied=tuple(doc["applied"]),
                       outbox=tuple(Outgoing(m["cause"], StoredMessage.from_document(m))
                                    for m in doc["outbox"]),
                       unsent=bool(doc.get("unsent", False)))
