"""The notifier's store on MongoDB (the port and its values: `ports.py`).

* `records`: one document per record (`_id` = record code) with the applicant's contact, from its
  RecordSubmitted. The only place the notifier keeps personal data (with `deliveries`' intents).
* `deliveries`: one per notification (`_id` = notification id). Inserting it is what makes a
  notification happen once: a redelivered event finds the key taken and does nothing.
* `attempts`: one claim per attempt (`_id` = ``<notification id>#<n>``). Of two processes about
  to make the same attempt only the one whose insert wins goes on.
* `holds`: notifications care holds before they are folded (rate limit, SMS quiet hours).
* `results`: the final result of a notification with its outcome message, inserted once, and
  `published` until a sweep sees its marker in `published`.

Every document carries the `layout` it was written in: one of a newer build is skipped by the
sweeps' scans (its attempts are settled by unique inserts all the same) and refused by reads by
id (`NewerLayout`: transient, and a 503 on the read API). Events that overtake their record's
submission wait in the runtime's parking lot (`services.runtime.parking`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.runtime.duplicates import refused_as_duplicates
from services.runtime.errors import NewerLayout
from services.runtime.outbox import StoredMessage

from .domain import DeliveryIntent, KnownRecord
from .ports import NOTIFIER_LAYOUT, AttemptClaim, Delivery, FinalResult, Hold, claim_id

Document = dict[str, Any]
_WRITERS = 8
"""Requests in flight at once: enough to hide a round trip's latency, few enough that a burst
does not take every connection of the pool."""
_READABLE: Document = {"layout": {"$not": {"$gt": NOTIFIER_LAYOUT}}}
"""Documents this build reads (those written before layouts were numbered too)."""


class MongoNotifierStore:
    """Takes the database from a provider: the client exists only while the service runs."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db
        self._writers = asyncio.Semaphore(_WRITERS)

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self._db()[name]

    async def create_indexes(self) -> None:
        deliveries = self.collection("deliveries")
        await deliveries.create_index([("record_code", ASCENDING)])
        await deliveries.create_index([("open", ASCENDING), ("created_at", ASCENDING),
                                       ("_id", ASCENDING)])
        await self.collection("results").create_index([("published", ASCENDING),
                                                       ("finished_at", ASCENDING)])
        await self.collection("holds").create_index([("notification_id", ASCENDING)])

    # --- records ------------------------------------------------------------------------------

    async def remember(self, records: Sequence[KnownRecord]) -> None:
        await self._insert_unique("records", [{"_id": r.record_code, **r.to_dict(),
                                               "layout": NOTIFIER_LAYOUT} for r in records])

    async def records(self, codes: Collection[str]) -> dict[str, KnownRecord]:
        if not codes:
            return {}
        async with self._writers:
            found = self.collection("records").find({"_id": {"$in": sorted(codes)}})
            return {doc["_id"]: KnownRecord.from_dict(_readable(doc, "record")) async for doc in found}

    # --- the hot path: inserts, and reads by _id ----------------------------------------------

    async def insert_deliveries(self, deliveries: Sequence[Delivery]) -> set[str]:
        return await self._insert_unique("deliveries", [_delivery_document(d) for d in deliveries])

    async def claim(self, claims: Sequence[AttemptClaim]) -> set[str]:
        return await self._insert_unique("attempts", [_claim_document(c) for c in claims])

    async def hold(self, holds: Sequence[Hold]) -> None:
        await self._insert_unique("holds", [
            {"_id": h.id, "notification_id": h.notification_id, "not_before": h.not_before,
             "lease_until": h.lease_until, "layout": NOTIFIER_LAYOUT} for h in holds])

    async def finish(self, results: Sequence[FinalResult]) -> set[str]:
        return await self._insert_unique("results", [_result_document(r) for r in results])

    async def mark_published(self, ids: Sequence[str]) -> None:
        await self._insert_unique("published", [{"_id": nid} for nid in ids])

    async def claims_of(self, notification_id: str) -> list[AttemptClaim]:
        """By `_id` lookups (attempts are numbered from 1): no index but the key's."""
        found: list[AttemptClaim] = []
        while (doc := await self._one("attempts", claim_id(notification_id, len(found) + 1))):
            found.append(_claim(_readable(doc, "attempt claim")))
        return found

    async def result(self, notification_id: str) -> FinalResult | None:
        doc = await self._one("results", notification_id)
        return _result(_readable(doc, "result")) if doc is not None else None

    async def is_published(self, notification_id: str) -> bool:
        return await self._one("published", notification_id) is not None

    # --- sweeps: scans, and flags cleared in bulk ---------------------------------------------

    async def open_deliveries(self, before: datetime, limit: int,
                              after: tuple[datetime, str] | None = None) -> list[Delivery]:
        query: Document = {"open": True, "created_at": {"$lte": before}, **_READABLE}
        if after is not None:
            at, nid = after
            query["$or"] = [{"created_at": {"$gt": at}}, {"created_at": at, "_id": {"$gt": nid}}]
        cursor = self.collection("deliveries").find(query).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_delivery(doc) async for doc in cursor]

    async def finished_among(self, ids: Collection[str]) -> set[str]:
        """Whatever the layout: a result of any build means the notification ended."""
        if not ids:
            return set()
        async with self._writers:
            found = self.collection("results").find({"_id": {"$in": sorted(ids)}}, {"_id": 1})
            return {doc["_id"] async for doc in found}

    async def claims_among(self, ids: Collection[str], attempts: int) -> dict[str, list[AttemptClaim]]:
        """A newer build's claim is skipped: the attempt it holds stays its own, because
        planning that attempt here loses the claim's unique insert."""
        if not ids:
            return {}
        keys = [claim_id(nid, n) for nid in sorted(ids) for n in range(1, attempts + 1)]
        async with self._writers:
            found = [_claim(doc) async for doc in self.collection("attempts").find(
                {"_id": {"$in": keys}, **_READABLE})]
        claims: dict[str, list[AttemptClaim]] = {}
        for claim in sorted(found, key=lambda c: c.attempt):
            claims.setdefault(claim.notification_id, []).append(claim)
        return claims

    async def close(self, ids: Sequence[str]) -> None:
        """One scan for the lot."""
        if ids:
            async with self._writers:
                await self.collection("deliveries").update_many({"_id": {"$in": list(ids)}},
                                                                {"$set": {"open": False}})

    async def holds_of(self, ids: Sequence[str]) -> list[Hold]:
        cursor = self.collection("holds").find({"notification_id": {"$in": list(ids)}, **_READABLE})
        return [Hold(notification_id=doc["notification_id"], not_before=doc["not_before"],
                     lease_until=doc["lease_until"]) async for doc in cursor]

    async def unpublished(self, before: datetime, limit: int) -> list[FinalResult]:
        cursor = self.collection("results").find(
            {"published": False, "finished_at": {"$lte": before}, **_READABLE}).limit(limit)
        return [_result(doc) async for doc in cursor]

    async def settle_published(self, ids: Sequence[str]) -> None:
        if ids:
            async with self._writers:
                await self.collection("results").update_many({"_id": {"$in": list(ids)}},
                                                             {"$set": {"published": True}})

    async def of_record(self, code: str, limit: int) -> list[Delivery]:
        cursor = self.collection("deliveries").find({"record_code": code}, {"intent": 0}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [_delivery(_readable(doc, "delivery")) async for doc in cursor]

    # --- helpers ------------------------------------------------------------------------------

    async def _one(self, collection: str, key: str) -> Document | None:
        async with self._writers:
            return await self.collection(collection).find_one({"_id": key})

    async def _insert_unique(self, collection: str, docs: Sequence[Document]) -> set[str]:
        docs = list({doc["_id"]: doc for doc in reversed(docs)}.values())[::-1]  # first of each id
        if not docs:
            return set()
        ids = {doc["_id"] for doc in docs}
        try:
            async with self._writers:
                if len(docs) == 1:
                    await self.collection(collection).insert_one(docs[0])
                else:
                    await self.collection(collection).insert_many(docs, ordered=False)
        except DuplicateKeyError:
            return set()
        except BulkWriteError as error:
            return ids - {docs[i]["_id"] for i in refused_as_duplicates(error)}
        return ids


def _readable(doc: Document, what: str) -> Document:
    layout = int(doc.get("layout", 1))
    if layout > NOTIFIER_LAYOUT:
        raise NewerLayout(f"{what} {doc['_id']} has layout {layout}; this notifier reads up to "
                          f"{NOTIFIER_LAYOUT}")
    return doc


def _delivery_document(d: Delivery) -> Document:
    return {"_id": d.notification_id, "record_code": d.record_code,
            "source_event_id": d.source_event_id, "source_event_type": d.source_event_type,
            "recipient_role": d.recipient_role, "channel": d.channel, "template": d.template,
            "language": d.language, "masked_address": d.masked_address,
            "intent": d.intent.to_dict() if d.intent is not None else None, "open": d.open,
            "created_at": d.created_at, "traceparent": d.traceparent, "layout": NOTIFIER_LAYOUT}


def _delivery(doc: Document) -> Delivery:
    intent = doc.get("intent")
    return Delivery(notification_id=doc["_id"], record_code=doc["record_code"],
                    source_event_id=doc["source_event_id"],
                    source_event_type=doc["source_event_type"],
                    recipient_role=doc["recipient_role"], channel=doc["channel"],
                    template=doc["template"], language=doc["language"],
                    masked_address=doc["masked_address"],
                    intent=DeliveryIntent.from_dict(intent) if intent is not None else None,
                    open=doc["open"], created_at=doc["created_at"],
                    traceparent=doc.get("traceparent"))


def _claim_document(c: AttemptClaim) -> Document:
    return {"_id": c.id, "notification_id": c.notification_id, "message_id": c.message_id,
            "attempt": c.attempt, "kind": c.kind, "at": c.at, "lease_until": c.lease_until,
            "previous_detail": c.previous_detail, "layout": NOTIFIER_LAYOUT}


def _claim(doc: Document) -> AttemptClaim:
    return AttemptClaim(notification_id=doc["notification_id"], message_id=doc["message_id"],
                        attempt=doc["attempt"], kind=doc["kind"], at=doc["at"],
                        lease_until=doc["lease_until"], previous_detail=doc.get("previous_detail"))


def _result_document(r: FinalResult) -> Document:
    return {"_id": r.notification_id, "status": r.status, "attempts": r.attempts,
            "message_id": r.message_id, "detail": r.detail, "reason": r.reason,
            "finished_at": r.finished_at, "outcome": r.outcome.document(),
            "published": r.published, "layout": NOTIFIER_LAYOUT}


def _result(doc: Document) -> FinalResult:
    return FinalResult(notification_id=doc["_id"], status=doc["status"], attempts=doc["attempts"],
                       message_id=doc.get("message_id"), detail=doc.get("detail"),
                       reason=doc.get("reason"), finished_at=doc["finished_at"],
                       outcome=StoredMessage.from_document(doc["outcome"]),
                       published=doc["published"])
