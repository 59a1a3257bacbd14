"""Intake's MongoDB adapter: records with their outbox in one document, record codes, idempotency.

A record and the event announcing it are written in a single insert (single-document atomicity,
no transaction), so an accepted application can never exist without its pending event.

What must happen once under concurrency is decided by the database in one operation: a record
code by an atomic `$inc` of its unit's daily counter, a record by the unique index on its
idempotency key, a tracking entry by a conditional `$push`, a relay's lease by
`find_one_and_update`, the events that went out by one bulk update of their records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.runtime.errors import NewerLayout
from services.runtime.outbox import StoredMessage
from services.runtime.relay import Pending

from .domain import HistoryEntry, Submission, TrackingChange, unit_day
from .ports import RECORD_LAYOUT, MessageKey, OutboxMessage, Record, Replay, TrackedRecord

Document = dict[str, Any]


class MongoRecordStore:
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
        counter_id = {"_id": unit_day(unit_code, day)}
        try:
            counter = await self.codes.find_one_and_update(
                counter_id, {"$inc": {"last": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # two first requests of the day both upserted
            counter = await self.codes.find_one_and_update(
                counter_id, {"$inc": {"last": 1}}, return_document=ReturnDocument.AFTER)
        assert counter is not None  # upserted, or created by the request that won the upsert
        seq = int(counter["last"])
        return seq if seq <= limit else None

    # --- records and idempotency --------------------------------------------------------------

    async def find_by_key(self, key: str) -> Replay | None:
        """The record an Idempotency-Key created, by the records' unique index on the key."""
        doc = await self.records.find_one({"idempotency_key": key},
                                          {"fingerprint": 1, "response": 1, "layout": 1})
        return _replay(doc) if doc else None

    async def insert(self, record: Record, lease_until: datetime) -> Replay | None:
        """The key lives in the record itself (unique index), so the record and its key are one
        durable write: no state where one exists without the other."""
        try:
            await self.records.insert_one(_record_document(record, lease_until))
        except DuplicateKeyError:  # a concurrent retry with the same key got there first
            stored = await self.find_by_key(record.idempotency_key)
            if stored is None:
                raise
            return stored
        return None

    async def tracked(self, code: str) -> TrackedRecord | None:
        doc = await self.records.find_one({"_id": code}, {"outbox": 0, "application": 0,
                                                          "response": 0})
        return _tracked(doc) if doc else None

    async def add_tracking(self, entries: Sequence[tuple[str, HistoryEntry]]) -> set[str]:
        """In one ordered bulk write, each entry pushed only if its event is not there yet."""
        if not entries:
            return set()
        result = await self.records.bulk_write([
            UpdateOne({"_id": code, "tracking.event_id": {"$ne": entry.event_id}},
                      {"$push": {"tracking": _entry_document(entry)}}) for code, entry in entries],
            ordered=True)
        codes = {code for code, _ in entries}
        if result.matched_count == len(entries):
            return set()
        found = self.records.find({"_id": {"$in": sorted(codes)}}, {"_id": 1})
        return codes - {doc["_id"] async for doc in found}

    # --- outbox -------------------------------------------------------------------------------

    async def record_sent(self, keys: Sequence[MessageKey]) -> None:
        """Note on each record that these events went out, in one bulk write; a record whose
        events are all out stops being pending, so no sweep reads it again."""
        if not keys:
            return
        sent: dict[str, list[int]] = {}
        for code, seq in keys:
            sent.setdefault(code, []).append(seq)
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
        unsent = [Pending((code, int(entry["seq"])), StoredMessage.from_document(entry))
                  for entry in doc["outbox"] if entry["seq"] not in done]
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


def _record_document(record: Record, lease_until: datetime) -> Document:
    return {
        "_id": record.code, "layout": record.layout, "idempotency_key": record.idempotency_key,
        "fingerprint": record.fingerprint, "procedure_code": record.procedure_code,
        "received_at": record.received_at, "submitted_event_id": record.submitted_event_id,
        "appointment_original": record.appointment_original,
        "appointment_provisional": record.appointment_provisional,
        "application": record.application.model_dump(mode="json"),
        "response": record.submission.model_dump(mode="json"),
        "outbox": [{"seq": seq, **message.document()}
                   for seq, message in enumerate(record.outbox, start=1)],
        "outbox_pending": bool(record.outbox),
        "outbox_lease_until": lease_until,
        "tracking": [_entry_document(entry) for entry in record.tracking],
    }


def _checked(doc: Document) -> Document:
    if int(doc.get("layout", 1)) > RECORD_LAYOUT:
        raise NewerLayout(f"record {doc['_id']} has layout {doc['layout']}; this intake reads "
                          f"up to {RECORD_LAYOUT}")
    return doc


def _replay(doc: Document) -> Replay:
    _checked(doc)
    return Replay(doc["fingerprint"], Submission.model_validate(doc["response"]))


def _tracked(doc: Document) -> TrackedRecord:
    _checked(doc)
    return TrackedRecord(
        code=doc["_id"], procedure_code=doc["procedure_code"], received_at=doc["received_at"],
        submitted_event_id=doc.get("submitted_event_id", ""),
        appointment_original=doc["appointment_original"],
        appointment_provisional=bool(doc.get("appointment_provisional", False)),
        tracking=tuple(_entry(entry) for entry in doc.get("tracking", [])))


def _entry_document(entry: HistoryEntry) -> Document:
    """The stored shape of a history line; `fields` holds only what the event changed."""
    change = entry.change
    fields: Document = {}
    if change.moves_department:
        fields["department_code"] = change.department_code
    if change.appointment_current is not None:
        fields["appointment_current"] = change.appointment_current
    return {"event_id": entry.event_id, "event_type": entry.event_type, "at": entry.at,
            "status": change.status, "summary": change.summary, "fields": fields}


def _entry(doc: Document) -> HistoryEntry:
    fields = doc.get("fields") or {}
    return HistoryEntry(doc["event_id"], doc["event_type"], doc["at"], TrackingChange(
        doc.get("status"), doc["summary"], moves_department="department_code" in fields,
        department_code=fields.get("department_code"),
        appointment_current=fields.get("appointment_current")))
