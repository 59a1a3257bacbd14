"""Handles submitted, routed, department and SLA events: whom to tell, stored once, then handed on.

For each notification the event asks for, a delivery document keyed by its deterministic id is
inserted; a taken key means a redelivered event, and nothing more happens. New deliveries go to
the in-memory delivery queue, planned failures to the outcome publisher. The handler returns once
the documents are stored, so the offset is committed after the effect.

A record event can overtake its record's submission (they travel on different topics): it is
parked and replayed when the submission comes. After parking, the record is looked up once more:
another instance may have stored the submission meanwhile and replayed the parked events before
this one was there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import Envelope, EventPayload, decode
from contracts.records.v1 import RecordSubmitted
from contracts.sla.v1 import EscalationRaised
from services.runtime.clock import Clock
from services.runtime.outbox import message_of, stored_message
from services.runtime.telemetry import current_traceparent

from . import documents
from .domain import NOTIFIED_EVENT_TYPES, DeliveryIntent, Directory, KnownRecord, Templates, plan
from .metrics import NotifierMetrics
from .publisher import OutcomePublisher
from .settings import NotifierSettings
from .store import NotifierStore

log = logging.getLogger(__name__)
Document = dict[str, Any]


class Planner:
    def __init__(self, store: NotifierStore, directory: Directory, templates: Templates,
                 enqueue: Callable[[list[tuple[DeliveryIntent, str | None]]], None],
                 publisher: OutcomePublisher, clock: Clock, settings: NotifierSettings,
                 metrics: NotifierMetrics) -> None:
        self._store = store
        self._directory = directory
        self._templates = templates
        self._enqueue = enqueue
        self._publisher = publisher
        self._clock = clock
        self._settings = settings
        self._metrics = metrics

    async def on_event(self, envelope: Envelope[Any]) -> None:
        """Handler of records.submitted, records.routed, records.department-updates, sla.alerts."""
        if envelope.type not in NOTIFIED_EVENT_TYPES:
            return  # e.g. a warning or a department's internal step: nobody is told
        data = envelope.data
        code = envelope.record_id
        if isinstance(data, RecordSubmitted):
            record = KnownRecord.from_submitted(data)
            await self._store.remember(record)
            await self._plan(envelope, record)
            await self._replay_parked(code, record)
            return
        if isinstance(data, EscalationRaised):
            await self._plan(envelope, None)  # supervisors come from configuration
            return
        known = await self._store.record(code)
        if known is not None:
            await self._plan(envelope, known)
            return
        await self._store.park(envelope.id, code, envelope.type, stored_message("", envelope),
                               datetime.now(UTC))
        self._metrics.events.labels(envelope.type, "parked").inc()
        log.info("event parked until its record's submission",
                 extra={"record_id": code, "event_id": envelope.id, "event_type": envelope.type})
        known = await self._store.record(code)
        if known is not None:  # stored meanwhile by another instance, which may have missed it
            await self._replay_parked(code, known)

    async def _plan(self, envelope: Envelope[EventPayload], record: KnownRecord | None) -> None:
        found = plan(envelope, record, self._directory, self._templates)
        if found.is_empty:
            self._metrics.events.labels(envelope.type, "nothing_to_say").inc()
            return
        real_now, now = datetime.now(UTC), self._clock.now()
        traceparent = current_traceparent()
        failures = [documents.planned_failure(f, created_at=real_now, now=now, traceparent=traceparent)
                    for f in found.failures]
        # A failure's result first: once it exists the sweep publishes its outcome whatever happens.
        failed = await self._store.finish([result for _, result in failures])
        docs = [documents.delivery(i, created_at=real_now, traceparent=traceparent)
                for i in found.intents] + [doc for doc, _ in failures]
        inserted = await self._store.insert_deliveries(docs)
        new = [(i, traceparent) for i in found.intents if i.notification_id in inserted]
        if new:
            self._enqueue(new)
        if failed:
            self._publisher.enqueue([(r["_id"], r["outcome"]) for _, r in failures if r["_id"] in failed])
            for doc, result in failures:
                if doc["_id"] in failed:
                    self._metrics.failed.labels(doc["channel"], result["reason"]).inc()
                    log.warning("notification cannot be attempted", extra={
                        "record_id": doc["record_code"], "event_id": envelope.id,
                        "notification_id": doc["_id"], "reason": result["reason"],
                        "channel": doc["channel"], "address": doc["masked_address"]})
        duplicate = not new and not failed
        self._metrics.events.labels(envelope.type, "duplicate" if duplicate else "planned").inc()

    async def _replay_parked(self, code: str, record: KnownRecord) -> None:
        parked = await self._store.parked_for(code)
        envelopes = sorted((decode(*_parts(doc["message"])) for doc in parked), key=lambda e: e.time)
        for envelope in envelopes:
            await self._plan(envelope, record)
            await self._store.unpark(envelope.id)
        if envelopes:
            log.info("parked events replayed", extra={"record_id": code, "events": len(envelopes)})


def _parts(doc: Document) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    message = message_of(doc)
    return message.key, message.value, message.headers
