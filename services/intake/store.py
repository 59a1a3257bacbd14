"""Intake's MongoDB port: records with their outbox in one document, daily sequences, idempotency.

A record and the event announcing it are written in a single insert (single-document atomicity,
no transaction), so an accepted application can never exist without its pending event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
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
    def sequences(self) -> AsyncCollection[Document]:
        return self._db()["sequences"]

    async def create_indexes(self) -> None:
        await self.records.create_index([("idempotency_key", ASCENDING)], unique=True)
        await self.records.create_index([("outbox_pending", ASCENDING),
                                         ("outbox_lease_until", ASCENDING)])

    async def next_sequence(self, unit_code: str, day: date) -> int:
        """The next number of a receiving unit's day, atomically (concurrent requests differ)."""
        key = f"{unit_code}-{day:%y%m%d}"
        for _ in range(3):
            try:
                doc = await self.sequences.find_one_and_update(
                    {"_id": key}, {"$inc": {"value": 1}}, upsert=True,
                    return_document=ReturnDocument.AFTER)
                assert doc is not None
                return int(doc["value"])
            except DuplicateKeyError:  # two first-of-the-day upserts raced; the loser retries
                continue
        raise RuntimeError(f"could not allocate a sequence number for {key}")

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

    async def record_event(self, code: str, event_id: str, entry: Document,
                           always: Document, status: str | None, status_fields: Document,
                           at: datetime) -> bool | None:
        """Apply an event once: None if the record is unknown, False if it was already applied.

        Events reach intake on several topics, so they may arrive out of order: the status (and
        what goes with it) only moves forward in event time.
        """
        result = await self.records.update_one(
            {"_id": code, "applied_events": {"$ne": event_id}},
            {"$push": {"history": entry, "applied_events": event_id},
             **({"$set": always} if always else {})})
        if not result.modified_count:
            exists = await self.records.count_documents({"_id": code}, limit=1)
            return False if exists else None
        if status is not None:
            await self.records.update_one(
                {"_id": code, "status_at": {"$lte": at}},
                {"$set": {"status": status, "status_at": at, **status_fields}})
        return True

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
