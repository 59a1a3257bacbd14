"""Folds submitted, routed and department events into each record's deadline, once each.

Events of one record reach the monitor on three topics, so their order across topics is not
guaranteed: an update that arrives before its record's submission is parked and replayed when
the submission comes. Other events that cannot apply are refused with a reason and recorded;
none stops the consumer, none changes a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import Counter

from contracts.envelope import Envelope, decode
from contracts.records.v1 import RecordSubmitted
from reference.calendar import WorkingCalendar
from reference.errors import YearNotCovered
from services.runtime.clock import Clock
from services.runtime.outbox import message_of, stored_message
from services.runtime.service import ServiceRuntime
from services.runtime.telemetry import current_traceparent

from .domain import SLA_EVENT_TYPES, Refusal, SlaEvent, SlaPolicy, evolve
from .store import DeadlineStore

log = logging.getLogger(__name__)

_MAX_CONFLICTS = 20
Outcome = Literal["applied", "duplicate", "refused", "parked"]


class RecordLocks:
    """One lock per record in this process: the consumer and the scheduler take turns."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, codes: Iterable[str]) -> AsyncIterator[None]:
        """Lock several records, in code order so two holders never wait on each other."""
        ordered = sorted(set(codes))
        async with contextlib.AsyncExitStack() as stack:
            for code in ordered:
                self._users[code] = self._users.get(code, 0) + 1
                stack.callback(self._release, code)
                await stack.enter_async_context(self._locks.setdefault(code, asyncio.Lock()))
            yield

    def _release(self, code: str) -> None:
        self._users[code] -= 1
        if not self._users[code]:
            del self._users[code], self._locks[code]


class Contention(RuntimeError):
    """Another instance kept changing the record; the message is retried."""


class Monitor:
    def __init__(self, runtime: ServiceRuntime, store: DeadlineStore, calendar: WorkingCalendar,
                 policy: SlaPolicy, locks: RecordLocks, wake: Callable[[], None]) -> None:
        self._store = store
        self._calendar = calendar
        self._policy = policy
        self._locks = locks
        self._wake = wake
        self._clock: Clock = runtime.clock
        self._applied = Counter("motcua_sla_events_applied", "events folded into deadlines",
                                ["event_type"], registry=runtime.metrics)
        self._refused = Counter("motcua_sla_events_refused", "events refused with a reason",
                                ["reason"], registry=runtime.metrics)
        self._duplicates = Counter("motcua_sla_events_duplicate", "redelivered events ignored",
                                   registry=runtime.metrics)

    async def on_event(self, envelope: Envelope[Any]) -> None:
        """Handler of records.submitted, records.routed and records.department-updates."""
        payload = envelope.data
        if not isinstance(payload, SLA_EVENT_TYPES):
            return  # e.g. a department's own assignment notice: nothing for a deadline
        code = payload.record_code
        async with self._locks.hold([code]):
            outcome = await self._apply(envelope, payload)
            if isinstance(payload, RecordSubmitted) and outcome in ("applied", "duplicate"):
                # Also on a redelivered submission: a replay a crash interrupted goes on.
                await self._replay_parked(code)
            elif outcome == "parked" and await self._store.get(code) is not None:
                # The submission was stored (by another instance) while this event was being
                # parked: its replay may have missed this one.
                await self._replay_parked(code)
        self._wake()

    async def replay_stranded(self) -> int:
        """Replay parked events whose record exists by now (a sweep: nothing stays parked
        because a replay was cut short); returns how many records had some."""
        codes = await self._store.parked_records()
        replayed = 0
        for code in codes:
            async with self._locks.hold([code]):
                if await self._store.get(code) is not None:
                    await self._replay_parked(code)
                    replayed += 1
        return replayed

    async def _apply(self, envelope: Envelope[Any], payload: SlaEvent) -> Outcome:
        for _ in range(_MAX_CONFLICTS):
            stored = await self._store.get(payload.record_code)
            state = stored.state if stored is not None else None
            try:
                result = evolve(state, payload, at=envelope.time, now=self._clock.now(),
                                calendar=self._calendar, policy=self._policy, event_id=envelope.id)
            except YearNotCovered as error:
                return await self._refuse(envelope, Refusal("calendar_not_covered", str(error)))
            if result.duplicate:
                self._duplicates.inc()
                return "duplicate"
            if result.refusals or result.state is None:
                return await self._refuse(envelope, result.refusals[0])
            if stored is None or state is None:
                written = await self._store.create(result.state, current_traceparent())
            else:
                written = await self._store.replace(result.state, state.revision, stored.traceparent)
            if written:
                self._applied.labels(envelope.type).inc()
                return "applied"
        raise Contention(f"record {payload.record_code} changed under {_MAX_CONFLICTS} attempts")

    async def _refuse(self, envelope: Envelope[Any], refusal: Refusal) -> Outcome:
        code = envelope.record_id
        parked = refusal.reason == "unknown_record"
        if parked:  # its submission may still be on its way on another topic
            await self._store.park(envelope.id, code, stored_message("", envelope))
        await self._store.refuse({
            "_id": envelope.id, "record_code": code, "event_type": envelope.type,
            "event_time": envelope.time, "reason": refusal.reason, "detail": refusal.detail,
            "parked": parked, "refused_at": datetime.now(UTC)})  # a replay's verdict replaces it
        self._refused.labels(refusal.reason).inc()
        (log.info if parked else log.warning)(
            "event parked until its record's submission" if parked else "event refused",
            extra={"record_id": code, "event_id": envelope.id, "event_type": envelope.type,
                   "reason": refusal.reason})
        return "parked" if parked else "refused"

    async def _replay_parked(self, code: str) -> None:
        parked = await self._store.parked_for(code)
        envelopes = sorted((decode(*_parts(doc["message"])) for doc in parked), key=lambda e: e.time)
        for envelope in envelopes:
            if isinstance(envelope.data, SLA_EVENT_TYPES):
                outcome = await self._apply(envelope, envelope.data)
                if outcome in ("applied", "duplicate"):
                    await self._store.resolve_refusal(envelope.id, "applied after its submission")
            await self._store.unpark(envelope.id)
        if envelopes:
            log.info("parked events replayed", extra={"record_id": code, "events": len(envelopes)})


def _parts(doc: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    message = message_of(doc)
    return message.key, message.value, message.headers
