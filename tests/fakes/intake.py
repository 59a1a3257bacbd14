"""Intake's record store in memory: the same promises as MongoDB's adapter, for unit tests of the
use cases. `tests/behaviour/intake_store.py` holds both to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from services.intake.domain import HistoryEntry, unit_day
from services.intake.ports import MessageKey, OutboxMessage, Record, Replay, TrackedRecord, trace_of
from services.runtime.relay import Pending


@dataclass
class _Kept:
    record: Record
    lease_until: datetime
    sent: set[int] = field(default_factory=set)

    @property
    def pending(self) -> bool:
        return len(self.sent) < len(self.record.outbox)


class InMemoryRecordStore:
    def __init__(self) -> None:
        self._records: dict[str, _Kept] = {}
        self._by_key: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    async def create_indexes(self) -> None:
        return None

    async def claim_sequence(self, unit_code: str, day: date, limit: int) -> int | None:
        key = unit_day(unit_code, day)
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key] if self._counters[key] <= limit else None

    async def find_by_key(self, key: str) -> Replay | None:
        code = self._by_key.get(key)
        if code is None:
            return None
        record = self._records[code].record
        return Replay(record.fingerprint, record.submission)

    async def insert(self, record: Record, lease_until: datetime) -> Replay | None:
        if record.idempotency_key in self._by_key:
            return await self.find_by_key(record.idempotency_key)
        if record.code in self._records:
            raise ValueError(f"record {record.code} exists")  # as MongoDB's duplicate _id would
        self._records[record.code] = _Kept(record, lease_until)
        self._by_key[record.idempotency_key] = record.code
        return None

    async def tracked(self, code: str) -> TrackedRecord | None:
        kept = self._records.get(code)
        if kept is None:
            return None
        r = kept.record
        return TrackedRecord(r.code, r.procedure_code, r.received_at, r.submitted_event_id,
                             r.appointment_original, r.appointment_provisional, r.tracking,
                             trace_of(r.outbox[0].traceparent if r.outbox else None))

    async def add_tracking(self, entries: Sequence[tuple[str, HistoryEntry]]) -> set[str]:
        unknown: set[str] = set()
        for code, entry in entries:
            kept = self._records.get(code)
            if kept is None:
                unknown.add(code)
            elif all(e.event_id != entry.event_id for e in kept.record.tracking):
                kept.record = replace(kept.record, tracking=(*kept.record.tracking, entry))
        return unknown

    async def record_sent(self, keys: Sequence[MessageKey]) -> None:
        for code, seq in keys:
            if code in self._records:
                self._records[code].sent.add(seq)

    async def unsent_messages(self, code: str) -> list[OutboxMessage]:
        kept = self._records.get(code)
        if kept is None:
            return []
        return [Pending((code, seq), message)
                for seq, message in enumerate(kept.record.outbox, start=1) if seq not in kept.sent]

    async def stale_pending(self, limit: int, lease: timedelta) -> list[str]:
        now = datetime.now(UTC)
        codes: list[str] = []
        for code, kept in self._records.items():
            if len(codes) >= limit:
                break
            if kept.pending and kept.lease_until <= now:
                kept.lease_until = now + lease
                codes.append(code)
        return codes
