"""The notifier's MongoDB port: known records, and deliveries written by inserts.

* `records`: one document per record (`_id` = record code) with the applicant's contact, from its
  RecordSubmitted. The only place the notifier keeps personal data (with `deliveries`' intents).
* `deliveries`: one document per notification (`_id` = notification id, deterministic per event,
  recipient and channel). Inserting it is what makes a notification happen once: a redelivered
  event finds the key taken and does nothing. It holds the intent (address included) and `open`
  until a sweep sees its result.
* `attempts`: one claim per attempt of a notification (`_id` = ``<notification id>#<n>``): `send`
  inserted just before the send (the evidence a crash leaves), `retry` or `hold` inserted ahead
  for an attempt planned later (after a transient failure, or held by care). Of two processes
  about to make the same attempt only the one whose insert wins goes on.
* `holds`: notifications care holds before they are folded (rate limit, SMS quiet hours).
* `results`: the final status of a notification with its outcome message, inserted once, and
  `published` until a sweep sees its marker in `published`.

Every once-only step is an insert against a unique `_id`, which settles a race between two
processes (or a process and its restarted self) in the database; sweeps read the flags and clear
them in bulk. `results` and `published` are the notifier's own outbox, to be replaced by the
runtime's shared one. Events that overtake their record's submission wait in the runtime's
parking lot (`services.runtime.parking`).
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

from .domain import KnownRecord

Document = dict[str, Any]
_WRITERS = 8
"""Requests in flight at once: enough to hide a round trip's latency, few enough that a burst
does not take every connection of the pool."""


def claim_id(notification_id: str, attempt: int) -> str:
    return f"{notification_id}#{attempt}"


class NotifierStore:
    """Takes the database from a provider: the client exists only while the service runs."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db
        self._writers = asyncio.Semaphore(_WRITERS)

    def _c(self, name: str) -> AsyncCollection[Document]:
        return self._db()[name]

    async def create_indexes(self) -> None:
        await self._c("deliveries").create_index([("record_code", ASCENDING)])
        await self._c("deliveries").create_index([("open", ASCENDING), ("created_at", ASCENDING),
                                                  ("_id", ASCENDING)])
        await self._c("results").create_index([("published", ASCENDING), ("finished_at", ASCENDING)])
        await self._c("holds").create_index([("notification_id", ASCENDING)])

    # --- records ------------------------------------------------------------------------------

    async def remember(self, records: Sequence[KnownRecord]) -> None:
        """Keep records' contacts once; a second submission of the same code changes nothing."""
        await self._insert_unique("records", [{"_id": r.record_code, **r.to_dict()} for r in records])

    async def records(self, codes: Collection[str]) -> dict[str, KnownRecord]:
        """The known records among `codes`, in one query."""
        if not codes:
            return {}
        async with self._writers:
            found = self._c("records").find({"_id": {"$in": sorted(codes)}})
            return {doc["_id"]: KnownRecord.from_dict(doc) async for doc in found}

    # --- the hot path: inserts, and reads by _id ----------------------------------------------

    async def insert_deliveries(self, docs: Sequence[Document]) -> set[str]:
        """The ids inserted now; a taken id was planned before (a redelivered event)."""
        return await self._insert_unique("deliveries", docs)

    async def claim(self, claims: Sequence[Document]) -> set[str]:
        """Insert attempt claims; the ids this call won."""
        return await self._insert_unique("attempts", claims)

    async def hold(self, holds: Sequence[Document]) -> None:
        await self._insert_unique("holds", holds)

    async def finish(self, results: Sequence[Document]) -> set[str]:
        """Insert final results (`_id` = notification id); the ids finished now."""
        return await self._insert_unique("results", results)

    async def mark_published(self, ids: Sequence[str]) -> None:
        await self._insert_unique("published", [{"_id": nid} for nid in ids])

    async def claim_of(self, notification_id: str, attempt: int) -> Document | None:
        return await self._one("attempts", claim_id(notification_id, attempt))

    async def claims_of(self, notification_id: str) -> list[Document]:
        """Every claim of a notification, by `_id` lookups (attempts are numbered from 1)."""
        found: list[Document] = []
        while (claim := await self.claim_of(notification_id, len(found) + 1)) is not None:
            found.append(claim)
        return found

    async def result(self, notification_id: str) -> Document | None:
        return await self._one("results", notification_id)

    async def is_published(self, notification_id: str) -> bool:
        return await self._one("published", notification_id) is not None

    # --- sweeps: scans, and flags cleared in bulk ---------------------------------------------

    async def open_deliveries(self, before: datetime, limit: int,
                              after: tuple[datetime, str] | None = None) -> list[Document]:
        """Deliveries still flagged open, created before `before`, oldest first; `after` (the
        creation time and id of the last one seen) pages on."""
        query: Document = {"open": True, "created_at": {"$lte": before}}
        if after is not None:
            at, nid = after
            query["$or"] = [{"created_at": {"$gt": at}}, {"created_at": at, "_id": {"$gt": nid}}]
        cursor = self._c("deliveries").find(query).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [doc async for doc in cursor]

    async def finished_among(self, ids: Collection[str]) -> set[str]:
        """The notifications among `ids` that have a final result, in one query."""
        if not ids:
            return set()
        async with self._writers:
            found = self._c("results").find({"_id": {"$in": sorted(ids)}}, {"_id": 1})
            return {doc["_id"] async for doc in found}

    async def claims_among(self, ids: Collection[str], attempts: int) -> dict[str, list[Document]]:
        """Each notification's claims (attempts 1 to `attempts`) in attempt order, in one query."""
        if not ids:
            return {}
        keys = [claim_id(nid, n) for nid in sorted(ids) for n in range(1, attempts + 1)]
        async with self._writers:
            found = [doc async for doc in self._c("attempts").find({"_id": {"$in": keys}})]
        claims: dict[str, list[Document]] = {}
        for doc in sorted(found, key=lambda d: d["attempt"]):
            claims.setdefault(doc["notification_id"], []).append(doc)
        return claims

    async def close(self, ids: Sequence[str]) -> None:
        """Clear the open flag of finished deliveries (one scan for the lot)."""
        if ids:
            async with self._writers:
                await self._c("deliveries").update_many({"_id": {"$in": list(ids)}},
                                                        {"$set": {"open": False}})

    async def holds_of(self, ids: Sequence[str]) -> list[Document]:
        return [doc async for doc in self._c("holds").find({"notification_id": {"$in": list(ids)}})]

    async def unpublished(self, before: datetime, limit: int) -> list[Document]:
        cursor = self._c("results").find({"published": False, "finished_at": {"$lte": before}},
                                         {"outcome": 1}).limit(limit)
        return [doc async for doc in cursor]

    async def settle_published(self, ids: Sequence[str]) -> None:
        if ids:
            async with self._writers:
                await self._c("results").update_many({"_id": {"$in": list(ids)}},
                                                     {"$set": {"published": True}})

    async def of_record(self, code: str, limit: int) -> list[Document]:
        cursor = self._c("deliveries").find({"record_code": code}, {"intent": 0}).limit(limit)
        return [doc async for doc in cursor]

    # --- helpers ------------------------------------------------------------------------------

    async def _one(self, collection: str, key: str) -> Document | None:
        async with self._writers:
            return await self._c(collection).find_one({"_id": key})

    async def _insert_unique(self, collection: str, docs: Sequence[Document]) -> set[str]:
        docs = list({doc["_id"]: doc for doc in reversed(docs)}.values())[::-1]  # first of each id
        if not docs:
            return set()
        ids = {doc["_id"] for doc in docs}
        try:
            async with self._writers:
                if len(docs) == 1:
                    await self._c(collection).insert_one(dict(docs[0]))
                else:
                    await self._c(collection).insert_many([dict(d) for d in docs], ordered=False)
        except DuplicateKeyError:
            return set()
        except BulkWriteError as error:
            return ids - {docs[i]["_id"] for i in refused_as_duplicates(error)}
        return ids
