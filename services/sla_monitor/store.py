"""The SLA monitor's MongoDB port: one deadline document per record, alert claims, refusals.

* `deadlines`: the record's `Deadline` state, its `revision` and `next_fire_at` (indexed: the
  scheduler's query), replaced whole under a compare-and-set on the revision.
* `alert_claims`: one document per alert, `_id` = the alert's deterministic event id. Inserting it
  is the claim: a unique key decides, across instances and restarts, who publishes an alert. It
  carries the stored message and `pending` until the broker took it.
* `refusals`: events refused with a reason, for the operators.

The compare-and-set on the revision is one atomic update, so of two instances saving the same
record one wins and the other reloads; within one process the monitor also serialises each
record's changes itself. Alerts are exactly-once because their claims are unique inserts.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.runtime.duplicates import refused_as_duplicates

from .domain import Deadline

Document = dict[str, Any]


@dataclass(frozen=True)
class StoredDeadline:
    state: Deadline
    traceparent: str | None
    """The trace of the record's submission: alerts fired later join it."""


class DeadlineStore:
    """Takes the database from a provider: the client exists only while the service runs."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db

    @property
    def deadlines(self) -> AsyncCollection[Document]:
        return self._db()["deadlines"]

    @property
    def claims(self) -> AsyncCollection[Document]:
        return self._db()["alert_claims"]

    @property
    def refusals(self) -> AsyncCollection[Document]:
        return self._db()["refusals"]

    async def create_indexes(self) -> None:
        await self.deadlines.create_index([("next_fire_at", ASCENDING)])
        await self.claims.create_index([("pending", ASCENDING), ("claimed_at", ASCENDING)])
        await self.claims.create_index([("record_code", ASCENDING)])
        await self.refusals.create_index([("record_code", ASCENDING), ("refused_at", DESCENDING)])

    # --- deadlines ----------------------------------------------------------------------------

    async def get(self, code: str) -> StoredDeadline | None:
        doc = await self.deadlines.find_one({"_id": code})
        return _stored(doc) if doc is not None else None

    async def create(self, state: Deadline, traceparent: str | None) -> bool:
        """Insert a new record's deadline; False if one exists already (another instance won)."""
        try:
            await self.deadlines.insert_one(_document(state, traceparent))
        except DuplicateKeyError:
            return False
        return True

    async def replace(self, state: Deadline, expected_revision: int, traceparent: str | None) -> bool:
        """Write `state` if the stored revision is still `expected_revision`."""
        result = await self.deadlines.replace_one(
            {"_id": state.record_code, "revision": expected_revision}, _document(state, traceparent))
        return result.matched_count == 1

    async def replace_many(self, changes: Sequence[tuple[Deadline, int | None, str | None]]
                           ) -> list[str]:
        """Write several records' states in one unordered bulk write, each as `create` (no
        expected revision) or `replace` would; returns the codes another writer created or
        changed meanwhile (not written; the others are). A bulk write counts matches but does
        not say which: only when some are missing are the documents this write marked
        (`written_by`) read back to name the others."""
        if not changes:
            return []
        mark = uuid.uuid4().hex
        requests: list[InsertOne[Document] | ReplaceOne[Document]] = [
            InsertOne({**_document(state, trace), "written_by": mark}) if expected is None else
            ReplaceOne({"_id": state.record_code, "revision": expected},
                       {**_document(state, trace), "written_by": mark})
            for state, expected, trace in changes]
        try:
            result = await self.deadlines.bulk_write(requests, ordered=False)
            written = result.inserted_count + result.matched_count
        except BulkWriteError as error:
            details = error.details
            if details.get("writeConcernErrors"):
                raise
            refused_as_duplicates(error)
            written = details["nInserted"] + details["nMatched"]
        codes = [state.record_code for state, _, _ in changes]
        if written == len(codes):
            return []
        mine = self.deadlines.find({"_id": {"$in": codes}, "written_by": mark}, {"_id": 1})
        found = {doc["_id"] async for doc in mine}
        return [code for code in codes if code not in found]

    async def save_many(self, changes: Sequence[tuple[Deadline, int | None, str | None]]) -> bool:
        """`replace_many` for a caller that only needs to know whether all were written."""
        return not await self.replace_many(changes)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Codes of the deadlines with an alert due at `now`, earliest first: an index range on
        MongoDB. Only the ids: the scheduler reads the documents under its locks."""
        cursor = (self.deadlines.find({"next_fire_at": {"$lte": now}}, {"_id": 1})
                  .sort("next_fire_at", ASCENDING).limit(limit))
        return [doc["_id"] async for doc in cursor]

    async def get_many(self, codes: Sequence[str]) -> tuple[dict[str, StoredDeadline], list[str]]:
        """The current state of several records, and the codes whose document no longer reads
        as a deadline."""
        found: dict[str, StoredDeadline] = {}
        unreadable: list[str] = []
        async for doc in self.deadlines.find({"_id": {"$in": list(codes)}}):
            try:
                found[doc["_id"]] = _stored(doc)
            except ValueError:  # pydantic's ValidationError included
                unreadable.append(doc["_id"])
        return found, unreadable

    async def set_aside(self, code: str, until: datetime) -> None:
        """Look at a document again only at `until` (it cannot be read or fired now)."""
        await self.deadlines.update_one({"_id": code}, {"$set": {"next_fire_at": until},
                                                        "$inc": {"revision": 1}})

    async def all(self, department: str | None = None) -> AsyncIterator[Deadline]:
        """Every deadline (the service index): a full read, on demand only."""
        query: Document = {} if department is None else {"state.department_code": department}
        async for doc in self.deadlines.find(query, {"state": 1}):
            yield Deadline.from_dict(doc["state"])

    # --- alert claims -------------------------------------------------------------------------

    async def claim(self, claims: Sequence[Document]) -> set[str]:
        """Insert claims (each with its `_id` and stored message); the ids this call won."""
        if not claims:
            return set()
        try:
            await self.claims.insert_many([{**c, "pending": True} for c in claims], ordered=False)
        except BulkWriteError as error:
            lost = {claims[i]["_id"] for i in refused_as_duplicates(error)}
            return {c["_id"] for c in claims} - lost
        return {c["_id"] for c in claims}

    async def sent(self, ids: Sequence[str]) -> None:
        if ids:
            await self.claims.update_many({"_id": {"$in": list(ids)}}, {"$set": {"pending": False}})

    async def stale_claims(self, before: datetime, limit: int) -> list[Document]:
        """Claims still pending since before `before`: their instance died before publishing."""
        cursor = (self.claims.find({"pending": True, "claimed_at": {"$lte": before}})
                  .sort("claimed_at", ASCENDING).limit(limit))
        return [doc async for doc in cursor]

    async def claims_of(self, code: str) -> list[Document]:
        return [doc async for doc in self.claims.find({"record_code": code}, {"message.value": 0})]

    # --- refusals -----------------------------------------------------------------------

    async def refuse(self, entry: Document) -> None:
        """Note why an event was refused (its `_id` is the event id); a parked event's later
        verdict replaces the first one."""
        await self.refusals.replace_one({"_id": entry["_id"]}, entry, upsert=True)

    async def resolve_refusal(self, event_id: str, resolution: str) -> None:
        await self.refusals.update_one({"_id": event_id}, {"$set": {
            "parked": False, "resolution": resolution, "resolved_at": datetime.now(UTC)}})

    async def refusals_of(self, code: str | None, limit: int) -> list[Document]:
        query: Document = {} if code is None else {"record_code": code}
        cursor = self.refusals.find(query).sort("refused_at", DESCENDING).limit(limit)
        return [doc async for doc in cursor]


def _document(state: Deadline, traceparent: str | None) -> Document:
    return {"_id": state.record_code, "revision": state.revision, "next_fire_at": state.next_fire_at,
            "traceparent": traceparent, "state": state.to_dict()}


def _stored(doc: Document) -> StoredDeadline:
    return StoredDeadline(Deadline.from_dict(doc["state"]), doc.get("traceparent"))
