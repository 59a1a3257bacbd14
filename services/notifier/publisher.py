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
from typing import Any

from contracts import topics
from contracts.envelope import Envelope
from contracts.notifications.v1 import NotificationOutcome
from services.runtime.outbox import StoredMessage, stored_message
from services.runtime.relay import Pending

from .store import NotifierStore

SOURCE = "/motcua/notifier"
_NAMESPACE = uuid.UUID("3f0e6a52-94c1-4c1b-8b0e-1d7e2c9a6b10")
Document = dict[str, Any]


def outcome_message(outcome: NotificationOutcome, at: datetime, traceparent: str | None) -> Document:
    """The stored message of a notification's one final outcome; the same id whoever writes it."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"outcome\x1f{outcome.notification_id}"))
    envelope = Envelope.wrap(outcome, source=SOURCE, time=at, id=event_id)
    return stored_message(topics.NOTIFICATION_OUTCOMES, envelope, traceparent).document()


def pending_outcome(result: Document) -> Pending[str]:
    """A stored result's outcome message, for the relay."""
    return Pending(result["_id"], StoredMessage.from_document(result["outcome"]))


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
            marked = await asyncio.gather(*(self._store.is_published(doc["_id"]) for doc in found))
            await self._store.settle_published([doc["_id"] for doc, done in zip(found, marked, strict=True)
                                                if done])
            unsent = [pending_outcome(doc) for doc, done in zip(found, marked, strict=True) if not done]
            if unsent:
                return unsent
