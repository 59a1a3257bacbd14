"""Intake's MongoDB port: records with their outbox in one document, record codes, idempotency.

A record and the event announcing it are written in a single insert (single-document atomicity,
no transaction), so an accepted application can never exist without its pending event.

What must happen once under concurrency is decided by the database in one operation: a record
code by an atomic `$inc` of its unit's daily counter, a record by the unique index on its
idempotency key, a tracking entry by a conditional `$push`, a relay's lease by
`find_one_and_update`, the events that went out by one bulk update of their records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


@dataclass(frozen=True)
class Stored:
    """A record as the idempotency check found it."""

    fingerprint: str
    response: Document


@dataclass(frozen=True)
class OutboxMessage:
    record_code: str
    seq: int
    stored: Document
    """A `services.runtime.outbox.stored_message` document."""


class RecordStore:
    """Takes the database from a provider: the client exists only while the service runs."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]]) -> None:
        self._db = db

    @property
    def records(self) -> AsyncCollection[Document]:
        return self._db()["records"]

    @property
    def codes(self) -> AsyncCollection[Document]:
        return self._db()["record_codes"]

    async def create_indexes(self) -> None:
        await self.records.create_index([("idempotency_key", ASCENDING)], unique=True)
        await self.records.create_index([("outbox_pending", ASCENDING),
                                         ("outbox_lease_until", ASCENDING)])

    # --- record codes -------------------------------------------------------------------------

    async def claim_sequence(self, unit_code: str, day: date, limit: int) -> int | None:
        """The next number of a receiving unit's day: one atomic `$inc` of its counter, so two
        requests never get the same number. None once `limit` numbers were given."""
        unit_day = {"_id": f"{unit_code}-{day:%y%m%d}"}
        try:
            counter = await self.codes.find_one_and_update(
                unit_day, {"$inc": {"last": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # two first requests of the day both upserted
            counter = await self.codes.find_one_and_update(
                unit_day, {"$inc": {"last": 1}}, return_document=ReturnDocument.AFTER)
        assert counter is not None  # upserted, or created by the request that won the upsert
        seq = int(counter["last"])
        return seq if seq <= limit else None

    # --- records and idempotency --------------------------------------------------------------

    async def find_by_key(self, key: str) -> Stored | None:
        """The record an Idempotency-Key created, by the records' unique index on the key."""
        doc = await self.records.find_one({"idempotency_key": key},
                                          {"fingerprint": 1, "response": 1})
        return Stored(doc["fingerprint"], doc["response"]) if doc else None

    async def insert(self, record: Document) -> Stored | None:
        """Insert a new record; if its idempotency key won a race elsewhere, return that one.

        The key lives in the record itself (unique index), so the record and its key are one
        durable write: no state where one exists without the other."""
        try:
            await self.records.insert_one(record)
        except DuplicateKeyError:  # a concurrent retry with the same key got there first
            stored = await self.find_by_key(record["idempotency_key"])
            if stored is None:
                raise
            return stored
        return None

    async def get(self, code: str) -> Document | None:
        return await self.records.find_one({"_id": code}, {"outbox": 0, "application": 0})

    async def add_tracking(self, entries: Sequence[tuple[str, Document]]) -> set[str]:
        """Append tracking entries, each once and in the given order, in one bulk write; the
        codes of records intake does not know (their entries were not added)."""
        if not entries:
            return set()
        result = await self.records.bulk_write([
            UpdateOne({"_id": code, "tracking.event_id": {"$ne": entry["event_id"]}},
                      {"$push": {"tracking": entry}}) for code, entry in entries], ordered=True)
        codes = {code for code, _ in entries}
        if result.matched_count == len(entries):
            return set()
        found = self.records.find({"_id": {"$in": sorted(codes)}}, {"_id": 1})
        return codes - {doc["_id"] async for doc in found}

    # --- outbox -------------------------------------------------------------------------------

    async def record_sent(self, messages: list[OutboxMessage]) -> None:
        """Note on each record that these events went out, in one bulk write; a record whose
        events are all out stops being pending, so no sweep reads it again."""
        if not messages:
            return
        sent: dict[str, list[int]] = {}
        for message in messages:
            sent.setdefault(message.record_code, []).append(message.seq)
        await self.records.bulk_write([UpdateOne({"_id": code}, [
            {"$set": {"outbox_sent": {"$setUnion": [{"$ifNull": ["$outbox_sent", []]}, seqs]}}},
            {"$set": {"outbox_pending": {"$lt": [{"$size": "$outbox_sent"},
                                                 {"$size": "$outbox"}]}}},
        ]) for code, seqs in sent.items()], ordered=False)

    async def unsent_messages(self, code: str) -> list[OutboxMessage]:
        """A record's events not noted as sent (one read); a record with none left stops
        being pending."""
        doc = await self.records.find_one({"_id": code}, {"outbox": 1, "outbox_sent": 1})
        if doc is None:
            return []
        done = set(doc.get("outbox_sent", []))
        unsent = [_message(code, entry) for entry in doc["outbox"] if entry["seq"] not in done]
        if not unsent:
            await self.records.update_one({"_id": code}, {"$set": {"outbox_pending": False}})
        return unsent

    async def stale_pending(self, limit: int, lease: timedelta) -> list[str]:
        """Records whose events are still unsent after their lease: a relay died, or the broker
        was down. Each is leased again by one atomic update, so of two relays sweeping at once
        only one takes a record; the other leaves it alone until the new lease ends."""
        now = datetime.now(UTC)  # leases use real time, never a test clock
        due = {"outbox_pending": True, "outbox_lease_until": {"$lte": now}}
        codes: list[str] = []
        while len(codes) < limit:
            doc = await self.records.find_one_and_update(
                due, {"$set": {"outbox_lease_until": now + lease}}, projection={"_id": 1})
            if doc is None:
                break
            codes.append(doc["_id"])
        return codes


def outbox_entry(seq: int, stored: Document) -> Document:
    return {"seq": seq, **stored}


def _message(code: str, entry: Document) -> OutboxMessage:
    return OutboxMessage(code, int(entry["seq"]), entry)
