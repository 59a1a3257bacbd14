"""Publishes each notification's outcome, stored first in its delivery document, at least once.

The outcome message (its event id derived from the notification id) is written with the final
result; this publisher then sends it and notes it with a marker insert. The sweep finds results
still flagged unpublished: with a marker it only clears the flag, without one (a process died
before the broker took it) it sends the same message again, which consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from contracts import topics
from contracts.envelope import Envelope
from contracts.notifications.v1 import NotificationOutcome
from services.runtime.outbox import StoredMessage, stored_message
from services.runtime.retrying import until_done
from services.runtime.service import ServiceRuntime
from services.runtime.waits import next_within

from .settings import NotifierSettings
from .store import NotifierStore

log = logging.getLogger(__name__)
SOURCE = "/motcua/notifier"
_NAMESPACE = uuid.UUID("3f0e6a52-94c1-4c1b-8b0e-1d7e2c9a6b10")
Document = dict[str, Any]


def outcome_message(outcome: NotificationOutcome, at: datetime, traceparent: str | None) -> Document:
    """The stored message of a notification's one final outcome; the same id whoever writes it."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"outcome\x1f{outcome.notification_id}"))
    envelope = Envelope.wrap(outcome, source=SOURCE, time=at, id=event_id)
    return stored_message(topics.NOTIFICATION_OUTCOMES, envelope, traceparent).document()


class OutcomePublisher:
    def __init__(self, runtime: ServiceRuntime, store: NotifierStore, settings: NotifierSettings) -> None:
        self._runtime = runtime
        self._store = store
        self._settings = settings
        self._queue: asyncio.Queue[tuple[str, Document]] = asyncio.Queue()

    def enqueue(self, outcomes: list[tuple[str, Document]]) -> None:
        """(notification id, stored message) pairs whose documents are stored: publish them."""
        for item in outcomes:
            self._queue.put_nowait(item)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        await until_done(self.sweep, log, "outcome sweep")
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + self._settings.sweep_s
        while True:
            first = await next_within(self._queue, max(0.01, next_sweep - loop.time()))
            if first is not None:
                batch = [first]
                while len(batch) < self._settings.batch_size and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await until_done(partial(self._publish, batch), log, "outcome publish")
            if loop.time() >= next_sweep:
                await until_done(self.sweep, log, "outcome sweep")
                next_sweep = loop.time() + self._settings.sweep_s

    async def _publish(self, batch: list[tuple[str, Document]]) -> int:
        await self._runtime.stored_sender.send(
            [StoredMessage.from_document(message) for _, message in batch])
        await self._store.mark_published([nid for nid, _ in batch])
        return len(batch)

    async def sweep(self) -> int:
        """Publish outcomes stored longer than a lease ago with no published marker; clear the
        flag of those that have one. Returns how many were published again."""
        total = 0
        while True:
            before = datetime.now(UTC) - timedelta(seconds=self._settings.lease_s)
            found = await self._store.unpublished(before, self._settings.batch_size)
            if not found:
                break
            marked = await asyncio.gather(*(self._store.is_published(doc["_id"]) for doc in found))
            unsent = [(doc["_id"], doc["outcome"]) for doc, done in zip(found, marked, strict=True)
                      if not done]
            if unsent:
                total += await self._publish(unsent)
            await self._store.settle_published([doc["_id"] for doc in found])
        if total:
            log.info("sweep published outcomes left unpublished", extra={"outcomes": total})
        return total
