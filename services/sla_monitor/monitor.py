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
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import Counter

from contracts.envelope import Envelope
from contracts.records.v1 import RecordSubmitted
from reference.calendar import WorkingCalendar
from reference.errors import YearNotCovered
from services.runtime.clock import Clock
from services.runtime.consumer import Incoming
from services.runtime.consumer import Refusal as ChassisRefusal
from services.runtime.parking import ParkingLot
from services.runtime.service import ServiceRuntime
from services.runtime.telemetry import current_traceparent

from .domain import SLA_EVENT_TYPES, Refusal, SlaEvent, SlaPolicy, evolve
from .ports import DeadlineStore, RefusedEvent

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
    def __init__(self, runtime: ServiceRuntime, store: DeadlineStore, parking: ParkingLot,
                 calendar: WorkingCalendar, policy: SlaPolicy, locks: RecordLocks,
                 wake: Callable[[], None]) -> None:
        self._store = store
        self._parking = parking
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

    async def on_events(self, batch: Sequence[Incoming]) -> list[ChassisRefusal]:
        """Handler of records.submitted, records.routed and records.department-updates: a batch
        folded into its records' deadlines with one read and one bulk write."""
        events = [(i.envelope, i.envelope.data, i.traceparent) for i in batch
                  if isinstance(i.envelope.data, SLA_EVENT_TYPES)]
        if not events:
            return []  # e.g. a department's own assignment notice: nothing for a deadline
        codes = {payload.record_code for _, payload, _ in events}
        async with self._locks.hold(codes):
            for _ in range(_MAX_CONFLICTS):
                verdicts = await self._fold(events, codes)
                if verdicts is not None:
                    break
            else:
                raise Contention(f"{len(codes)} records changed under {_MAX_CONFLICTS} attempts")
            applied, refused = verdicts
            parked: set[str] = set()
            for envelope, refusal in refused:
                if await self._refuse(envelope, refusal) == "parked":
                    parked.add(envelope.record_id)
            # A replay a crash interrupted goes on (also on a redelivered submission); a record
            # stored by another instance while an event was being parked gets its replay.
            replay = {e.record_id for e in applied if isinstance(e.data, RecordSubmitted)}
            if parked:
                stored, _ = await self._store.get_many(sorted(parked))
                replay |= stored.keys()
            for code in sorted(await self._parking.records_among(replay)):
                await self._replay_parked(code)
        self._wake()
        return []

    async def _fold(self, events: list[tuple[Envelope[Any], SlaEvent, str | None]],
                    codes: set[str]) -> tuple[list[Envelope[Any]],
                                              list[tuple[Envelope[Any], Refusal]]] | None:
        """Apply the events in order to the stored states and save them; None when another
        instance changed one of the records meanwhile (the caller folds again from a new read:
        what was saved reads as duplicates then)."""
        loaded, unreadable = await self._store.get_many(sorted(codes))
        if unreadable:
            raise ValueError(f"{len(unreadable)} stored deadlines cannot be read")
        states = {code: stored.state for code, stored in loaded.items()}
        traces = {code: stored.traceparent for code, stored in loaded.items()}
        applied: list[Envelope[Any]] = []
        refused: list[tuple[Envelope[Any], Refusal]] = []
        changed: set[str] = set()
        fresh: list[Envelope[Any]] = []
        now = self._clock.now()
        for envelope, payload, traceparent in events:
            code = payload.record_code
            try:
                result = evolve(states.get(code), payload, at=envelope.time, now=now,
                                calendar=self._calendar, policy=self._policy, event_id=envelope.id)
            except YearNotCovered as error:
                refused.append((envelope, Refusal("calendar_not_covered", str(error))))
                continue
            if result.duplicate:
                self._duplicates.inc()
                applied.append(envelope)  # as far as the caller goes: in effect already
                continue
            if result.refusals or result.state is None:
                refused.append((envelope, result.refusals[0]))
                continue
            states[code] = result.state
            traces.setdefault(code, traceparent)
            changed.add(code)
            applied.append(envelope)
            fresh.append(envelope)
        saved = await self._store.save_many([
            (states[code], loaded[code].state.revision if code in loaded else None, traces[code])
            for code in sorted(changed)])
        if not saved:
            return None
        for envelope in fresh:
            self._applied.labels(envelope.type).inc()
        return applied, refused

    async def replay_stranded(self) -> int:
        """Replay parked events whose record exists by now (a sweep: nothing stays parked
        because a replay was cut short); returns how many records had some."""
        codes = await self._parking.waiting_records()
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
            await self._parking.park([envelope])
        await self._store.refuse(RefusedEvent(  # a replay's verdict replaces it
            event_id=envelope.id, record_code=code, event_type=envelope.type,
            event_time=envelope.time, reason=refusal.reason, detail=refusal.detail,
            parked=parked, refused_at=datetime.now(UTC)))
        self._refused.labels(refusal.reason).inc()
        (log.info if parked else log.warning)(
            "event parked until its record's submission" if parked else "event refused",
            extra={"record_id": code, "event_id": envelope.id, "event_type": envelope.type,
                   "reason": refusal.reason})
        return "parked" if parked else "refused"

    async def _replay_parked(self, code: str) -> None:
        envelopes = await self._parking.events_of([code])
        for envelope in envelopes:
            if isinstance(envelope.data, SLA_EVENT_TYPES):
                outcome = await self._apply(envelope, envelope.data)
                if outcome in ("applied", "duplicate"):
                    await self._store.resolve_refusal(envelope.id, "applied after its submission",
                                                      datetime.now(UTC))
            await self._parking.release([envelope.id])
        if envelopes:
            log.info("parked events replayed", extra={"record_id": code, "events": len(envelopes)})

