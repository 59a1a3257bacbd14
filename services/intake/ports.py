"""Intake's store port: the typed documents it keeps and the operations the use cases need.

`store.MongoRecordStore` is the production adapter; `tests/fakes/intake.py` keeps the same
promises in memory, and one behaviour suite (`tests/behaviour/intake_store.py`) holds both to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from services.runtime.outbox import StoredMessage
from services.runtime.relay import Pending

from .domain import Application, HistoryEntry, Submission

RECORD_LAYOUT = 1
"""The layout of a record document; a reader meeting a newer one refuses it instead of guessing."""


@dataclass(frozen=True, slots=True)
class Record:
    """An accepted application as stored: what was asked, what was answered, the events to
    publish (the outbox, numbered from 1 in order) and the tracking page's history."""

    code: str
    idempotency_key: str
    fingerprint: str
    procedure_code: str
    received_at: datetime
    submitted_event_id: str
    appointment_original: datetime
    appointment_provisional: bool
    application: Application
    submission: Submission
    """The answer, without the lookup secret (derived from the code on every answer)."""
    outbox: tuple[StoredMessage, ...]
    tracking: tuple[HistoryEntry, ...] = ()
    layout: int = RECORD_LAYOUT


@dataclass(frozen=True, slots=True)
class Replay:
    """A record as the idempotency check finds it: what was asked, and what was answered."""

    fingerprint: str
    submission: Submission


@dataclass(frozen=True, slots=True)
class TrackedRecord:
    """What the tracking page reads of a record."""

    code: str
    procedure_code: str
    received_at: datetime
    submitted_event_id: str
    appointment_original: datetime
    appointment_provisional: bool
    tracking: tuple[HistoryEntry, ...]
    trace_id: str | None = None
    """The trace the submission began (operators follow the record through it)."""


def trace_of(traceparent: str | None) -> str | None:
    """The trace id inside a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


MessageKey = tuple[str, int]
"""A record's stored event: its record code and its place in the record's outbox (from 1)."""
OutboxMessage = Pending[MessageKey]


class RecordStore(Protocol):
    async def create_indexes(self) -> None: ...

    async def claim_sequence(self, unit_code: str, day: date, limit: int) -> int | None:
        """The next number of a receiving unit's day, never given twice; None past `limit`."""

    async def find_by_key(self, key: str) -> Replay | None:
        """The record an Idempotency-Key created."""

    async def insert(self, record: Record, lease_until: datetime) -> Replay | None:
        """Store a new record with its outbox, leased to this process until `lease_until`
        (other relays leave its events alone till then); if its key won a race elsewhere, that
        record's replay instead (nothing stored)."""

    async def tracked(self, code: str) -> TrackedRecord | None: ...

    async def add_tracking(self, entries: Sequence[tuple[str, HistoryEntry]]) -> set[str]:
        """Append history entries, each event once, in the given order; the codes of records
        not stored (their entries were not added)."""

    async def record_sent(self, keys: Sequence[MessageKey]) -> None:
        """These events went out; a record with all its events out is no longer pending."""

    async def unsent_messages(self, code: str) -> list[OutboxMessage]:
        """A record's events not recorded as sent, in order."""

    async def stale_pending(self, limit: int, lease: timedelta) -> list[str]:
        """Records with unsent events whose lease ended, each leased again for `lease` by this
        call: of two relays asking at once, only one gets a record."""
