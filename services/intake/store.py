"""Intake's MongoDB port: records with their outbox in one document, record codes, tracking.

A record and the event announcing it are written in a single insert (single-document atomicity,
no transaction), so an accepted application can never exist without its pending event.

Everything that must happen once under concurrency is an insert against a unique key (a claimed
record code, an idempotency key, an applied event id): FerretDB 1.x over SQLite applies updates
as read-modify-write without isolation, so two concurrent `$inc` or conditional updates on one
document can both succeed. Unique inserts are safe there and on MongoDB alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.envelope import KafkaMessage

Document = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class IdempotencyConflict(Exception):
    """The key was used before, for a different request."""


@dataclass(frozen=True)
class Stored:
    """A record as the idempotency check found it."""

    fingerprint: str
    response: Document


@dataclass(frozen=True)
class OutboxMessage:
    record_code: str
    seq: int
    topic: str
    message: KafkaMessage
    traceparent: str | None


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

    @property
    def history(self) -> AsyncCollection[Document]:
        return self._db()["history"]

    async def create_indexes(self) -> None:
        await self.records.create_index([("idempotency_key", ASCENDING)], unique=True)
        await self.records.create_index([("outbox_pending", ASCENDING),
                                         ("outbox_lease_until", ASCENDING)])
        await self.codes.create_index([("unit_day", ASCENDING), ("seq", DESCENDING)])
        await self.history.create_index([("record_code", ASCENDING), ("at", ASCENDING)])

    async def claim_sequence(self, unit_code: str, day: date, limit: int) -> int | None:
        """The next free number of a receiving unit's day, claimed by a unique insert.

        Starts after the highest number claimed so far; a number another request claimed first
        is skipped. None when all numbers up to `limit` are taken.
        """
        unit_day = f"{unit_code}-{day:%y%m%d}"
        last = await self.codes.find_one({"unit_day": unit_day}, sort=[("seq", DESCENDING)])
        seq = int(last["seq"]) + 1 if last else 1
        while seq <= limit:
            try:
                await self.codes.insert_one({"_id": f"{unit_day}-{seq:04d}", "unit_day": unit_day,
                                             "seq": seq})
                return seq
            except DuplicateKeyError:
                seq += 1
        return None

    async def find_by_key(self, key: str) -> Stored | None:
        doc = await self.records.find_one({"idempotency_key": key},
                                          {"fingerprint": 1, "response": 1})
        return Stored(doc["fingerprint"], doc["response"]) if doc else None

    async def insert(self, record: Document) -> Stored | None:
        """Insert a new record; if its idempotency key won a race elsewhere, return that one."""
        try:
            await self.records.insert_one(record)
            return None
        except DuplicateKeyError:
            existing = await self.find_by_key(record["idempotency_key"])
            if existing is None:
                raise
            return existing

    async def get(self, code: str) -> Document | None:
        return await self.records.find_one({"_id": code}, {"outbox": 0, "application": 0})

    async def history_of(self, code: str) -> list[Document]:
        return await self.history.find({"record_code": code}).sort("at", ASCENDING).to_list(None)

    async def add_history(self, entry: Document) -> bool | None:
        """Add a tracking entry once (its `_id` is the event id): None if the record is unknown,
        False if the event was already applied."""
        if not await self.records.count_documents({"_id": entry["record_code"]}, limit=1):
            return None
        try:
            await self.history.insert_one(entry)
            return True
        except DuplicateKeyError:
            return False

    # --- outbox -------------------------------------------------------------------------------

    async def claim_pending(self, limit: int, lease: timedelta) -> tuple[str, list[OutboxMessage]]:
        """Lease up to `limit` records with unsent events; another relay skips them meanwhile."""
        now = datetime.now(UTC)  # leases use real time, never a test clock
        due = {"outbox_pending": True, "outbox_lease_until": {"$lte": now}}
        ids = [doc["_id"] async for doc in self.records.find(due, {"_id": 1}).limit(limit)]
        if not ids:
            return "", []
        token = uuid.uuid4().hex
        await self.records.update_many(
            {**due, "_id": {"$in": ids}},
            {"$set": {"outbox_lease_until": now + lease, "outbox_claim": token}})
        messages: list[OutboxMessage] = []
        async for doc in self.records.find({"_id": {"$in": ids}, "outbox_claim": token},
                                           {"outbox": 1, "outbox_sent_through": 1}):
            for entry in doc["outbox"]:
                if entry["seq"] > doc.get("outbox_sent_through", 0):
                    messages.append(_message(doc["_id"], entry))
        return token, messages

    async def mark_sent(self, token: str, sent: Sequence[OutboxMessage]) -> None:
        """Record what went out; a record is no longer pending once its last event is sent."""
        last: dict[str, int] = {}
        for message in sent:
            last[message.record_code] = max(last.get(message.record_code, 0), message.seq)
        for code, seq in last.items():
            await self.records.update_one(
                {"_id": code, "outbox_claim": token},
                {"$set": {"outbox_sent_through": seq, "outbox_lease_until": EPOCH,
                          "outbox_published_at": datetime.now(UTC)}})
            await self.records.update_one(
                {"_id": code, "outbox_last_seq": seq},
                {"$set": {"outbox_pending": False}})

    async def release(self, token: str) -> None:
        """Give leased records back at once (the broker refused; retry without waiting the lease)."""
        await self.records.update_many({"outbox_claim": token},
                                       {"$set": {"outbox_lease_until": EPOCH}})

    async def pending_count(self) -> int:
        return await self.records.count_documents({"outbox_pending": True})


def outbox_entry(seq: int, topic: str, message: KafkaMessage, traceparent: str | None) -> Document:
    return {"seq": seq, "topic": topic, "key": message.key.decode(),
            "value": message.value.decode(), "headers": message.header_map(),
            "traceparent": traceparent}


def _message(code: str, entry: Document) -> OutboxMessage:
    message = KafkaMessage(key=entry["key"].encode(), value=entry["value"].encode(),
                           headers=[(k, v.encode()) for k, v in entry["headers"].items()])
    return OutboxMessage(code, int(entry["seq"]), entry["topic"], message, entry.get("traceparent"))
