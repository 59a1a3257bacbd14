"""Each notification's outcome, stored with its final result and published by the runtime's relay.

The outcome message (its event id derived from the notification id) is written with the final
result; the relay then sends it and notes it with a marker insert. Its sweep asks for results
still flagged unpublished: with a marker the flag is only cleared, without one (a process died
before the broker took it) the same message goes out again, which consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from contracts import topics
from contracts.envelope import Envelope
from contracts.notifications.v1 import NotificationOutcome
from services.runtime.outbox import StoredMessage, stored_message
from services.runtime.relay import Pending

from .ports import FinalResult, NotifierStore

SOURCE = "/motcua/notifier"
_NAMESPACE = uuid.UUID("3f0e6a52-94c1-4c1b-8b0e-1d7e2c9a6b10")


def outcome_message(outcome: NotificationOutcome, at: datetime,
                    traceparent: str | None) -> StoredMessage:
    """The stored message of a notification's one final outcome; the same id whoever writes it."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"outcome\x1f{outcome.notification_id}"))
    envelope = Envelope.wrap(outcome, source=SOURCE, time=at, id=event_id)
    return stored_message(topics.NOTIFICATION_OUTCOMES, envelope, traceparent)


def pending_outcome(result: FinalResult) -> Pending[str]:
    """A stored result's outcome message, for the relay."""
    return Pending(result.notification_id, result.outcome)


class OutcomeOutbox:
    """The results collection as the relay's outbox, keyed by notification id."""

    def __init__(self, store: NotifierStore, lease: timedelta) -> None:
        self._store = store
        self._lease = lease

    async def mark_sent(self, ids: Sequence[str]) -> None:
        await self._store.mark_published(ids)

    async def stale(self, limit: int) -> list[Pending[str]]:
        """Results finished longer than a lease ago and still flagged unpublished: those with a
        published marker only get the flag cleared; the others are returned to be sent."""
        while True:
            before = datetime.now(UTC) - self._lease
            found = await self._store.unpublished(before, limit)
            if not found:
                return []
            marked = await asyncio.gather(*(self._store.is_published(r.notification_id)
                                            for r in found))
            await self._store.settle_published([r.notification_id for r, done
                                                in zip(found, marked, strict=True) if done])
            unsent = [pending_outcome(r) for r, done in zip(found, marked, strict=True) if not done]
            if unsent:
                return unsent
