"""Handles submitted, routed, department and SLA events: whom to tell, stored once, then handed on.

A batch of events at a time: its records are looked up in one query, every notification the
events ask for is planned by the pure domain, and the batch's delivery documents (keyed by their
deterministic ids) are inserted in one bulk write; a taken key means a redelivered event, and
nothing more happens. New deliveries go to the in-memory delivery queue, planned failures to the
outcome publisher. The handler returns once the documents are stored, so the offsets are
committed after the effects.

A record event can overtake its record's submission (they travel on different topics): it is
parked and replayed when the submission comes. After parking, the records are looked up once
more: another instance may have stored a submission meanwhile and replayed the parked events
before these were there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.envelope import Envelope, EventPayload
from contracts.records.v1 import RecordSubmitted
from contracts.sla.v1 import EscalationRaised
from services.runtime.clock import Clock
from services.runtime.consumer import Incoming, Refusal
from services.runtime.parking import ParkingLot
from services.runtime.relay import OutboxRelay

from . import documents
from .domain import NOTIFIED_EVENT_TYPES, DeliveryIntent, Directory, KnownRecord, Templates, plan
from .metrics import NotifierMetrics
from .ports import NotifierStore
from .publisher import pending_outcome
from .settings import NotifierSettings

log = logging.getLogger(__name__)


class Planner:
    def __init__(self, store: NotifierStore, parking: ParkingLot, directory: Directory,
                 templates: Templates,
                 enqueue: Callable[[list[tuple[DeliveryIntent, str | None]]], None],
                 publisher: OutboxRelay[str], clock: Clock, settings: NotifierSettings,
                 metrics: NotifierMetrics) -> None:
        self._store = store
        self._parking = parking
        self._directory = directory
        self._templates = templates
        self._enqueue = enqueue
        self._publisher = publisher
        self._clock = clock
        self._settings = settings
        self._metrics = metrics

    async def on_events(self, batch: Sequence[Incoming]) -> list[Refusal]:
        """Handler of records.submitted, records.routed, records.department-updates, sla.alerts."""
        events = [i for i in batch if i.envelope.type in NOTIFIED_EVENT_TYPES]
        submitted: dict[str, KnownRecord] = {}
        for incoming in events:
            if isinstance(incoming.envelope.data, RecordSubmitted):
                submitted.setdefault(incoming.envelope.record_id,
                                     KnownRecord.from_submitted(incoming.envelope.data))
        await self._store.remember(list(submitted.values()))
        wanted = {i.envelope.record_id for i in events
                  if not isinstance(i.envelope.data, RecordSubmitted | EscalationRaised)}
        known = {**await self._store.records(wanted - submitted.keys()), **submitted}
        planned: list[Planned] = []
        parked: list[Incoming] = []
        for incoming in events:
            data = incoming.envelope.data
            if isinstance(data, RecordSubmitted):
                planned.append(Planned(incoming.envelope, KnownRecord.from_submitted(data),
                                       incoming.traceparent))
            elif isinstance(data, EscalationRaised):  # supervisors come from configuration
                planned.append(Planned(incoming.envelope, None, incoming.traceparent))
            elif (record := known.get(incoming.envelope.record_id)) is not None:
                planned.append(Planned(incoming.envelope, record, incoming.traceparent))
            else:
                parked.append(incoming)
        replay = set(submitted)
        if parked:
            await self._park(parked)
            # Stored meanwhile by another instance, which may have missed these.
            late = await self._store.records({i.envelope.record_id for i in parked})
            known.update(late)
            replay |= late.keys()
        replayed = await self._parked_of(replay, known, {
            i.envelope.record_id: i.traceparent for i in events})
        await self._plan([*planned, *replayed])
        await self._parking.release([p.envelope.id for p in replayed])
        return []

    async def _park(self, parked: list[Incoming]) -> None:
        await self._parking.park([i.envelope for i in parked])
        for incoming in parked:
            self._metrics.events.labels(incoming.envelope.type, "parked").inc()
            log.info("event parked until its record's submission", extra={
                "record_id": incoming.envelope.record_id, "event_id": incoming.envelope.id,
                "event_type": incoming.envelope.type})

    async def _parked_of(self, codes: set[str], known: dict[str, KnownRecord],
                         traces: dict[str, str | None]) -> list[Planned]:
        """The parked events of these records, in time order, to plan now."""
        replayed = [Planned(e, known[e.record_id], traces.get(e.record_id))
                    for e in await self._parking.events_of(codes) if e.record_id in known]
        if replayed:
            log.info("parked events replayed", extra={"events": len(replayed)})
        return replayed

    async def _plan(self, events: list[Planned]) -> None:
        real_now, now = datetime.now(UTC), self._clock.now()
        plans = []
        seen: set[str] = set()
        for event in events:
            if event.envelope.id in seen:  # delivered twice in one batch
                self._metrics.events.labels(event.envelope.type, "duplicate").inc()
                continue
            seen.add(event.envelope.id)
            found = plan(event.envelope, event.record, self._directory, self._templates)
            if found.is_empty:
                self._metrics.events.labels(event.envelope.type, "nothing_to_say").inc()
                continue
            failures = [documents.planned_failure(f, created_at=real_now, now=now,
                                                  traceparent=event.traceparent)
                        for f in found.failures]
            plans.append((event, found, failures))
        if not plans:
            return
        # A failure's result first: once it exists the sweep publishes its outcome whatever happens.
        failed = await self._store.finish([result for _, _, fs in plans for _, result in fs])
        inserted = await self._store.insert_deliveries([
            delivery for event, found, failures in plans
            for delivery in [documents.delivery(i, created_at=real_now, traceparent=event.traceparent)
                             for i in found.intents] + [d for d, _ in failures]])
        new = [(i, event.traceparent) for event, found, _ in plans for i in found.intents
               if i.notification_id in inserted]
        if new:
            self._enqueue(new)
        self._publisher.enqueue([pending_outcome(r) for _, _, fs in plans for _, r in fs
                                 if r.notification_id in failed])
        for event, found, failures in plans:
            for delivery, result in failures:
                if delivery.notification_id in failed:
                    self._metrics.failed.labels(delivery.channel, result.reason).inc()
                    log.warning("notification cannot be attempted", extra={
                        "record_id": delivery.record_code, "event_id": event.envelope.id,
                        "notification_id": delivery.notification_id, "reason": result.reason,
                        "channel": delivery.channel, "address": delivery.masked_address})
            fresh = any(i.notification_id in inserted for i in found.intents) or any(
                d.notification_id in failed for d, _ in failures)
            self._metrics.events.labels(event.envelope.type,
                                        "planned" if fresh else "duplicate").inc()


@dataclass(frozen=True, slots=True)
class Planned:
    """An event to plan, the record it is about (None for supervisors' alerts), and the trace
    its deliveries join."""

    envelope: Envelope[EventPayload]
    record: KnownRecord | None
    traceparent: str | None

