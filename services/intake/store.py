"""Intake's MongoDB adapter: records with their outbox in one document, record codes, idempotency.

A record and the event announcing it are written in a single insert (single-document atomicity,
no transaction), so an accepted application can never exist without its pending event.

What must happen once under concurrency is decided by the database in one operation: a record
code by an atomic `$inc` of its unit's daily counter, a record by the unique index on its
idempotency key, a tracking entry by a conditional `$push`, a relay's lease by
`find_one_and_update`, the events that went out by one bulk update of their records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pymongo
from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.runtime.duplicates import refused_as_duplicates
from services.runtime.errors import NewerLayout
from services.runtime.group_commit import GroupCommit
from services.runtime.outbox import StoredMessage
from services.runtime.relay import Pending

from .domain import HistoryEntry, Submission, TrackingChange, unit_day
from .ports import RECORD_LAYOUT, MessageKey, OutboxMessage, Record, Replay, TrackedRecord, trace_of

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    counter: str
    """The unit day's counter: `unit_day(unit, day)`."""
    limit: int


class MongoRecordStore:
    """Takes the database from a provider: the client exists only while the service runs.

    Concurrent requests' lookups, code claims and inserts are group-committed: each kind that
    arrives while one is under way goes in the next single call, bounded by `deadline_s`."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]],
                 deadline_s: float = 10.0) -> None:
        self._db = db
        self._deadline_s = deadline_s
        self._lookups = GroupCommit(self._find_by_keys)
        self._claims = GroupCommit(self._claim_all)
        self._inserts = GroupCommit(self._insert_all)

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
        """The next number of a receiving unit's day: by an atomic `$inc` of its counter, so two
        requests never get the same number. None once `limit` numbers were given."""
        return await self._claims(Claim(unit_day(unit_code, day), limit))

    async def _claim_all(self, claims: list[Claim]) -> list[int | None]:
        """One `$inc` by the number of claims per unit day, the numbers handed out in order."""
        wanted: dict[str, int] = {}
        for claim in claims:
            wanted[claim.counter] = wanted.get(claim.counter, 0) + 1
        with pymongo.timeout(self._deadline_s):
            lasts = await asyncio.gather(*(self._advance(counter, n)
                                           for counter, n in wanted.items()))
        following = {counter: last - wanted[counter] for counter, last in zip(wanted, lasts,
                                                                              strict=True)}
        numbers: list[int | None] = []
        for claim in claims:
            following[claim.counter] += 1
            seq = following[claim.counter]
            numbers.append(seq if seq <= claim.limit else None)
        return numbers

    async def _advance(self, counter: str, by: int) -> int:
        """The counter after adding `by`, created at zero by the day's first claim."""
        try:
            doc = await self.codes.find_one_and_update(
                {"_id": counter}, {"$inc": {"last": by}}, upsert=True,
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # two first claims of the day both upserted
            doc = await self.codes.find_one_and_update(
                {"_id": counter}, {"$inc": {"last": by}}, return_document=ReturnDocument.AFTER)
        assert doc is not None  # upserted, or created by the claim that won the upsert
        return int(doc["last"])

    # --- records and idempotency --------------------------------------------------------------

    async def find_by_key(self, key: str) -> Replay | None:
        """The record an Idempotency-Key created, by the records' unique index on the key."""
        return await self._lookups(key)

    async def _find_by_keys(self, keys: list[str]) -> list[Replay | None]:
        with pymongo.timeout(self._deadline_s):
            found = {doc["idempotency_key"]: doc async for doc in self.records.find(
                {"idempotency_key": {"$in": sorted(set(keys))}},
                {"idempotency_key": 1, "fingerprint": 1, "response": 1, "layout": 1})}
        return [_replay(found[key]) if key in found else None for key in keys]

    async def insert(self, record: Record, lease_until: datetime) -> Replay | None:
        """The key lives in the record itself (unique index), so the record and its key are one
        durable write: no state where one exists without the other."""
        if await self._inserts(_record_document(record, lease_until)):
            return None
        # a concurrent retry with the same key got there first
        stored = await self.find_by_key(record.idempotency_key)
        if stored is None:
            raise DuplicateKeyError(f"record {record.code} exists under another key")
        return stored

    async def _insert_all(self, docs: list[Document]) -> list[bool]:
        """One unordered insert; False for each record refused as a duplicate, any other
        failure fails the batch (its requests answer 503 and their retries replay)."""
        try:
            with pymongo.timeout(self._deadline_s):
                await self.records.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            refused = refused_as_duplicates(error)
            return [index not in refused for index in range(len(docs))]
        return [True] * len(docs)

    async def tracked(self, code: str) -> TrackedRecord | None:
        doc = await self.records.find_one({"_id": code}, {
            "application": 0, "response": 0, "outbox.value": 0, "outbox.headers": 0,
            "outbox.key": 0, "outbox.topic": 0})
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
        tracking=tuple(_entry(entry) for entry in doc.get("tracking", [])),
        trace_id=trace_of(next((m.get("traceparent") for m in doc.get("outbox", [])
                                if m.get("seq") == 1), None)))


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
