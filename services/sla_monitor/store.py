"""The SLA monitor's store on MongoDB (the port and its values: `ports.py`).

* `deadlines`: the record's `Deadline` state, its `revision`, `layout` and `next_fire_at`
  (indexed: the scheduler's query), replaced whole under a compare-and-set on the revision.
* `alert_claims`: one document per alert, `_id` = the alert's deterministic event id, carrying
  the stored message and `pending` until the broker took it.
* `refusals`: events refused with a reason, `_id` = the event id.

The compare-and-set on the revision is one atomic update, so of two instances saving the same
record one wins and the other reloads; within one process the monitor also serialises each
record's changes itself. Alerts are exactly-once because their claims are unique inserts. A
deadline written by a newer build (a higher `layout`) is never read nor rewritten by this one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, get_args

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.runtime.duplicates import refused_as_duplicates
from services.runtime.errors import NewerLayout
from services.runtime.outbox import StoredMessage

from .domain import UNASSIGNED, Deadline, Standing
from .domain.state import Status
from .ports import (
    DEADLINE_LAYOUT,
    Acknowledgement,
    AlertClaim,
    Change,
    RefusedEvent,
    StoredDeadline,
)

Document = dict[str, Any]
_NOT_CLOSED = [status for status in get_args(Status) if status != "closed"]
_READABLE: Document = {"layout": {"$not": {"$gt": DEADLINE_LAYOUT}}}
"""Deadlines this build may read and write (those stored before layouts were numbered too)."""


class MongoDeadlineStore:
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

    @property
    def acks(self) -> AsyncCollection[Document]:
        return self._db()["acknowledgements"]

    async def create_indexes(self) -> None:
        await self.deadlines.create_index([("next_fire_at", ASCENDING)])
        await self.deadlines.create_index([("state.status", ASCENDING)])
        await self.claims.create_index([("pending", ASCENDING), ("claimed_at", ASCENDING)])
        await self.claims.create_index([("record_code", ASCENDING)])
        await self.claims.create_index([("event_type", ASCENDING), ("due_at", DESCENDING)])
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
            {"_id": state.record_code, "revision": expected_revision, **_READABLE},
            _document(state, traceparent))
        return result.matched_count == 1

    async def replace_many(self, changes: Sequence[Change]) -> list[str]:
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
            ReplaceOne({"_id": state.record_code, "revision": expected, **_READABLE},
                       {**_document(state, trace), "written_by": mark})
            for state, expected, trace in changes]
        try:
            result = await self.deadlines.bulk_write(requests, ordered=False)
            written = result.inserted_count + result.matched_count
        except BulkWriteError as error:
            details = error.details
            refused_as_duplicates(error)
            written = details["nInserted"] + details["nMatched"]
        codes = [state.record_code for state, _, _ in changes]
        if written == len(codes):
            return []
        mine = self.deadlines.find({"_id": {"$in": codes}, "written_by": mark}, {"_id": 1})
        found = {doc["_id"] async for doc in mine}
        return [code for code in codes if code not in found]

    async def save_many(self, changes: Sequence[Change]) -> bool:
        """`replace_many` for a caller that only needs to know whether all were written."""
        return not await self.replace_many(changes)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Codes of the deadlines with an alert due at `now`, earliest first: an index range on
        MongoDB. Only the ids: the scheduler reads the documents under its locks."""
        cursor = (self.deadlines.find({"next_fire_at": {"$lte": now}, **_READABLE}, {"_id": 1})
                  .sort("next_fire_at", ASCENDING).limit(limit))
        return [doc["_id"] async for doc in cursor]

    async def get_many(self, codes: Sequence[str]) -> tuple[dict[str, StoredDeadline], list[str]]:
        """The current state of several records, and the codes whose document no longer reads
        as a deadline."""
        found: dict[str, StoredDeadline] = {}
        unreadable: list[str] = []
        async for doc in self.deadlines.find({"_id": {"$in": list(codes)}}):
            try:
                found[doc["_id"]] = _stored(doc)  # a newer layout raises NewerLayout
            except (ValueError, KeyError, TypeError):  # pydantic's ValidationError included
                unreadable.append(doc["_id"])
        return found, unreadable

    async def set_aside(self, code: str, until: datetime) -> None:
        """Look at a document again only at `until` (it cannot be read or fired now)."""
        await self.deadlines.update_one({"_id": code, **_READABLE},
                                        {"$set": {"next_fire_at": until}, "$inc": {"revision": 1}})

    async def all(self, department: str | None = None) -> AsyncIterator[Deadline]:
        """Every deadline (the service index): a full read, on demand only."""
        query: Document = {} if department is None else {"state.department_code": department}
        async for doc in self.deadlines.find(query, {"state": 1, "layout": 1}):
            yield _stored(doc).state

    async def standings(self) -> dict[tuple[str, Standing], int]:
        """`domain.standing` as one aggregation over the open deadlines."""
        state = "$state"
        pipeline: list[Document] = [
            # Named statuses, not `$ne: closed`, so the status index bounds it to open ones.
            {"$match": {"state.status": {"$in": _NOT_CLOSED}, **_READABLE}},
            {"$group": {"_id": {
                "department": {"$ifNull": [f"{state}.department_code", UNASSIGNED]},
                "standing": {"$switch": {"branches": [
                    {"case": {"$ne": [{"$ifNull": [f"{state}.breached_at", None]}, None]},
                     "then": "breached"},
                    {"case": {"$in": ["warning", {"$ifNull": [f"{state}.alerts_fired", []]}]},
                     "then": "warned"},
                ], "default": "open"}},
            }, "deadlines": {"$sum": 1}}},
        ]
        cursor = await self.deadlines.aggregate(pipeline)
        return {(doc["_id"]["department"], doc["_id"]["standing"]): doc["deadlines"]
                async for doc in cursor}

    # --- alert claims -------------------------------------------------------------------------

    async def claim(self, claims: Sequence[AlertClaim]) -> set[str]:
        """Insert claims; the event ids this call won."""
        if not claims:
            return set()
        try:
            await self.claims.insert_many([_claim_document(c) for c in claims], ordered=False)
        except BulkWriteError as error:
            lost = {claims[i].event_id for i in refused_as_duplicates(error)}
            return {c.event_id for c in claims} - lost
        return {c.event_id for c in claims}

    async def sent(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self.claims.update_many({"_id": {"$in": list(event_ids)}},
                                          {"$set": {"pending": False}})

    async def stale_claims(self, before: datetime, limit: int) -> list[AlertClaim]:
        """Claims still pending since before `before`: their instance died before publishing."""
        cursor = (self.claims.find({"pending": True, "claimed_at": {"$lte": before}})
                  .sort("claimed_at", ASCENDING).limit(limit))
        return [_claim(doc) async for doc in cursor]

    async def claims_of(self, code: str) -> list[AlertClaim]:
        cursor = self.claims.find({"record_code": code}).sort([("due_at", ASCENDING),
                                                               ("_id", ASCENDING)])
        return [_claim(doc) async for doc in cursor]

    async def claim_of(self, event_id: str) -> AlertClaim | None:
        doc = await self.claims.find_one({"_id": event_id})
        return None if doc is None else _claim(doc)

    async def claims_of_type(self, event_type: str, limit: int) -> list[AlertClaim]:
        cursor = self.claims.find({"event_type": event_type}).sort(
            [("due_at", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_claim(doc) async for doc in cursor]

    # --- acknowledgements ---------------------------------------------------------------

    async def acknowledge(self, ack: Acknowledgement) -> Acknowledgement:
        try:
            await self.acks.insert_one({"_id": ack.event_id, "record_code": ack.record_code,
                                        "by": ack.by, "note": ack.note, "at": ack.at})
        except DuplicateKeyError:
            kept = await self.acks.find_one({"_id": ack.event_id})
            if kept is not None:
                return _ack(kept)
        return ack

    async def acknowledgements(self, event_ids: Sequence[str]) -> dict[str, Acknowledgement]:
        found = self.acks.find({"_id": {"$in": list(event_ids)}})
        return {doc["_id"]: _ack(doc) async for doc in found}

    # --- refusals -----------------------------------------------------------------------

    async def refuse(self, refused: RefusedEvent) -> None:
        """Note why an event was refused; a parked event's later verdict replaces the first."""
        await self.refusals.replace_one({"_id": refused.event_id}, _refusal_document(refused),
                                        upsert=True)

    async def resolve_refusal(self, event_id: str, resolution: str, at: datetime) -> None:
        await self.refusals.update_one({"_id": event_id}, {"$set": {
            "parked": False, "resolution": resolution, "resolved_at": at}})

    async def refusals_of(self, code: str | None, limit: int) -> list[RefusedEvent]:
        query: Document = {} if code is None else {"record_code": code}
        cursor = self.refusals.find(query).sort("refused_at", DESCENDING).limit(limit)
        return [_refusal(doc) async for doc in cursor]


def _document(state: Deadline, traceparent: str | None) -> Document:
    return {"_id": state.record_code, "layout": DEADLINE_LAYOUT, "revision": state.revision,
            "next_fire_at": state.next_fire_at, "traceparent": traceparent,
            "state": state.to_dict()}


def _stored(doc: Document) -> StoredDeadline:
    layout = int(doc.get("layout", 1))  # deadlines stored before layouts were numbered are 1
    if layout > DEADLINE_LAYOUT:
        raise NewerLayout(f"deadline {doc['_id']} has layout {layout}; this sla_monitor reads "
                          f"up to {DEADLINE_LAYOUT}")
    return StoredDeadline(Deadline.from_dict(doc["state"]), doc.get("traceparent"))


def _claim_document(claim: AlertClaim) -> Document:
    return {"_id": claim.event_id, "record_code": claim.record_code, "rule": claim.rule,
            "event_type": claim.event_type, "due_at": claim.due_at,
            "claimed_at": claim.claimed_at, "message": claim.message.document(),
            "pending": claim.pending}


def _claim(doc: Document) -> AlertClaim:
    return AlertClaim(event_id=doc["_id"], record_code=doc["record_code"], rule=doc["rule"],
                      event_type=doc["event_type"], due_at=doc["due_at"],
                      claimed_at=doc["claimed_at"],
                      message=StoredMessage.from_document(doc["message"]),
                      pending=bool(doc["pending"]))


def _ack(doc: Document) -> Acknowledgement:
    return Acknowledgement(event_id=doc["_id"], record_code=doc["record_code"], by=doc["by"],
                           note=doc["note"], at=doc["at"])


def _refusal_document(refused: RefusedEvent) -> Document:
    return {"_id": refused.event_id, "record_code": refused.record_code,
            "event_type": refused.event_type, "event_time": refused.event_time,
            "reason": refused.reason, "detail": refused.detail, "parked": refused.parked,
            "refused_at": refused.refused_at, "resolution": refused.resolution,
            "resolved_at": refused.resolved_at}


def _refusal(doc: Document) -> RefusedEvent:
    return RefusedEvent(event_id=doc["_id"], record_code=doc["record_code"],
                        event_type=doc["event_type"], event_time=doc["event_time"],
                        reason=doc["reason"], detail=doc["detail"], parked=bool(doc["parked"]),
                        refused_at=doc["refused_at"], resolution=doc.get("resolution"),
                        resolved_at=doc.get("resolved_at"))
