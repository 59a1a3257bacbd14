"""What the SLA monitor keeps, as typed values, and the store port the monitor, the scheduler
and the read API speak to.

Three kinds of things are kept: each record's `Deadline` (replaced whole under a compare-and-set
on its revision), one claim per alert (inserting it is the claim: its deterministic event id
decides, across instances and restarts, who publishes the alert), and the events refused with
their reason, for operators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.runtime.outbox import StoredMessage

from .domain import Deadline, Standing

DEADLINE_LAYOUT = 1
"""The layout of deadline documents this build writes and reads."""

Change = tuple[Deadline, int | None, str | None]
"""A record's new state, the revision it replaces (None: a new record), its submission's trace."""


@dataclass(frozen=True, slots=True)
class StoredDeadline:
    state: Deadline
    traceparent: str | None
    """The trace of the record's submission: alerts fired later join it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertClaim:
    """An alert, claimed once; it keeps its message, `pending` until the broker took it."""

    event_id: str
    record_code: str
    rule: str
    event_type: str
    due_at: datetime
    claimed_at: datetime
    """Real time, never a test clock: a claim pending a lease after it is its dead taker's."""
    message: StoredMessage
    pending: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedEvent:
    """An event that changed nothing, and why; a parked one waits for its record's submission."""

    event_id: str
    record_code: str
    event_type: str
    event_time: datetime
    reason: str
    detail: str
    parked: bool
    refused_at: datetime
    resolution: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledgement:
    """A supervisor saw an escalation and says what is being done: who, when, and the note."""

    event_id: str
    """The escalation's event id."""
    record_code: str
    by: str
    """The subject of the supervisor's sign-in."""
    note: str
    at: datetime


class DeadlineStore(Protocol):
    async def create_indexes(self) -> None: ...

    # deadlines: one per record, replaced whole under a compare-and-set on the revision
    async def get(self, code: str) -> StoredDeadline | None: ...

    async def create(self, state: Deadline, traceparent: str | None) -> bool:
        """Insert a new record's deadline; False if one exists already (another writer won)."""
        ...

    async def replace(self, state: Deadline, expected_revision: int,
                      traceparent: str | None) -> bool:
        """Write `state` if the stored revision is still `expected_revision`."""
        ...

    async def replace_many(self, changes: Sequence[Change]) -> list[str]:
        """Write several records' states at once, each as `create` or `replace` would; the
        codes another writer created or changed meanwhile (those are not written)."""
        ...

    async def save_many(self, changes: Sequence[Change]) -> bool:
        """`replace_many` for a caller that only needs to know whether all were written."""
        ...

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Codes of the deadlines with an alert due at `now`, earliest first."""
        ...

    async def get_many(self, codes: Sequence[str]) -> tuple[dict[str, StoredDeadline], list[str]]:
        """The states of several records, and the codes whose document does not read as a
        deadline (set aside by the scheduler, never fired)."""
        ...

    async def set_aside(self, code: str, until: datetime) -> None:
        """A document that does not read as a deadline (`get_many`'s second list) is due again
        only at `until`, and its revision moves on."""
        ...

    def all(self, department: str | None = None) -> AsyncIterator[Deadline]:
        """Every deadline, or a department's (the service index): a full read, on demand."""
        ...

    async def standings(self) -> dict[tuple[str, Standing], int]:
        """How many open deadlines each holding department (`UNASSIGNED` for none) has in each
        `standing`: one aggregate, counted by the store (the metrics read it every few seconds)."""
        ...

    # alert claims: insert-only, unique by event id
    async def claim(self, claims: Sequence[AlertClaim]) -> set[str]:
        """Insert claims; the event ids this call won."""
        ...

    async def sent(self, event_ids: Sequence[str]) -> None:
        """The broker took these alerts: their claims stop being pending."""
        ...

    async def stale_claims(self, before: datetime, limit: int) -> list[AlertClaim]:
        """Claims still pending, taken before `before`, oldest first."""
        ...

    async def claims_of(self, code: str) -> list[AlertClaim]:
        """A record's alert claims, by due time."""
        ...

    async def claim_of(self, event_id: str) -> AlertClaim | None: ...

    async def claims_of_type(self, event_type: str, limit: int) -> list[AlertClaim]:
        """The latest claims of one alert type (escalations, for supervisors), newest first."""
        ...

    # acknowledgements of escalations: insert-only, one per escalation
    async def acknowledge(self, ack: Acknowledgement) -> Acknowledgement:
        """Keep `ack`; the one kept first if the escalation was acknowledged already."""
        ...

    async def acknowledgements(self, event_ids: Sequence[str]) -> dict[str, Acknowledgement]:
        ...

    # refused events
    async def refuse(self, refused: RefusedEvent) -> None:
        """Note a refusal; a later verdict on the same event replaces it."""
        ...

    async def resolve_refusal(self, event_id: str, resolution: str, at: datetime) -> None:
        """A parked event was applied after all: no longer parked, with how it ended."""
        ...

    async def refusals_of(self, code: str | None, limit: int) -> list[RefusedEvent]:
        """The latest refusals, of one record or all, newest first."""
        ...
