"""What the notifier keeps, as typed values, and the store port the planner, the delivery loop,
the outcome outbox and the read API speak to.

Every once-only step is an insert against a unique id, so a race between two processes (or a
process and its restarted self) is settled by the store: a delivery per notification, a claim
per attempt, a final result per notification, a published marker per outcome. The rest are
flags cleared in bulk by sweeps (`open`, `published`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from services.runtime.outbox import StoredMessage

from .domain import ChannelName, DeliveryIntent, KnownRecord, RecipientRole

NOTIFIER_LAYOUT = 1
"""The layout of the documents this build writes; it reads no newer one."""

ClaimKind = Literal["send", "retry", "hold"]
Status = Literal["sent", "failed"]


def claim_id(notification_id: str, attempt: int) -> str:
    return f"{notification_id}#{attempt}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A notification planned once (its id is deterministic per event, recipient and channel).

    `intent` (the address included) is kept for a takeover; None when it could not even be
    attempted (its result says why). `open` until a sweep sees its result."""

    notification_id: str
    record_code: str
    source_event_id: str
    source_event_type: str
    recipient_role: RecipientRole
    channel: ChannelName
    template: str
    language: str
    masked_address: str
    intent: DeliveryIntent | None
    open: bool
    created_at: datetime
    traceparent: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptClaim:
    """Attempt `attempt` of a notification: made now (`send`, inserted just before the send: the
    evidence a crash leaves) or planned at `at` (`retry`, `hold`). `message_id` is the message
    it goes in (the notification's own id, or a digest's)."""

    notification_id: str
    message_id: str
    attempt: int
    kind: ClaimKind
    at: datetime
    lease_until: datetime
    """Real time: past it, a process that did not finish the attempt is taken to be dead."""
    previous_detail: str | None = None

    @property
    def id(self) -> str:
        return claim_id(self.notification_id, self.attempt)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """Care holds a notification before folding it (rate limit, SMS quiet hours) until
    `not_before`; no sweep takes it over before `lease_until`."""

    notification_id: str
    not_before: datetime
    lease_until: datetime

    @property
    def id(self) -> str:
        return f"{self.notification_id}@{self.not_before.isoformat()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalResult:
    """How a notification ended, with the outcome message to publish (`published` once the
    broker took it and a sweep saw the marker)."""

    notification_id: str
    status: Status
    attempts: int
    message_id: str | None
    detail: str | None
    reason: str | None
    finished_at: datetime
    outcome: StoredMessage
    published: bool = False


class NotifierStore(Protocol):
    async def create_indexes(self) -> None: ...

    # records: the applicant's contact, from the submission (the only personal data kept)
    async def remember(self, records: Sequence[KnownRecord]) -> None:
        """Keep records' contacts once; a second submission of the same code changes nothing."""
        ...

    async def records(self, codes: Collection[str]) -> dict[str, KnownRecord]:
        """The known records among `codes`, in one query."""
        ...

    # the hot path: unique inserts, and reads by id
    async def insert_deliveries(self, deliveries: Sequence[Delivery]) -> set[str]:
        """The ids inserted now; a taken id was planned before (a redelivered event)."""
        ...

    async def claim(self, claims: Sequence[AttemptClaim]) -> set[str]:
        """Insert attempt claims; the claim ids this call won."""
        ...

    async def hold(self, holds: Sequence[Hold]) -> None: ...

    async def finish(self, results: Sequence[FinalResult]) -> set[str]:
        """Insert final results; the notification ids finished now (a taken one finished before)."""
        ...

    async def mark_published(self, ids: Sequence[str]) -> None:
        """The broker took these notifications' outcomes (a marker each, inserted once)."""
        ...

    async def claims_of(self, notification_id: str) -> list[AttemptClaim]:
        """Every claim of a notification, in attempt order."""
        ...

    async def result(self, notification_id: str) -> FinalResult | None: ...

    async def is_published(self, notification_id: str) -> bool: ...

    # sweeps: scans, and flags cleared in bulk
    async def open_deliveries(self, before: datetime, limit: int,
                              after: tuple[datetime, str] | None = None) -> list[Delivery]:
        """Deliveries still open, created before `before`, oldest first; `after` (the creation
        time and id of the last one seen) pages on."""
        ...

    async def finished_among(self, ids: Collection[str]) -> set[str]:
        """The notifications among `ids` that have a final result, in one query."""
        ...

    async def claims_among(self, ids: Collection[str],
                           attempts: int) -> dict[str, list[AttemptClaim]]:
        """Each notification's claims (attempts 1 to `attempts`) in attempt order, in one query."""
        ...

    async def close(self, ids: Sequence[str]) -> None:
        """Finished deliveries are no longer open."""
        ...

    async def holds_of(self, ids: Sequence[str]) -> list[Hold]: ...

    async def unpublished(self, before: datetime, limit: int) -> list[FinalResult]:
        """Results finished before `before` and still flagged unpublished."""
        ...

    async def settle_published(self, ids: Sequence[str]) -> None:
        """Clear the unpublished flag of results whose marker exists."""
        ...

    async def of_record(self, code: str, limit: int) -> list[Delivery]:
        """A record's deliveries, oldest first, without their intents (no addresses)."""
        ...
