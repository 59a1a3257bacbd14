"""Fires due alerts in batches: query by next firing time, claim each alert once, publish, save.

Every alert is claimed by inserting a document keyed by its deterministic event id before it is
published, so it goes out once whatever happens: two instances firing the same deadline, or a
crash in the middle of a batch (the rerun finds the claims taken). A claim whose publisher died
before the broker took it is sent again by the sweep, with the same event id.

The cost of a pass grows with the deadlines due (one index range on `next_fire_at`), not with
the deadlines open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Histogram

from contracts import topics
from contracts.envelope import Envelope
from reference.calendar import WorkingCalendar
from services.runtime.clock import Clock
from services.runtime.outbox import stored_message
from services.runtime.relay import OutboxRelay, Pending
from services.runtime.retrying import until_done
from services.runtime.service import ServiceRuntime
from services.runtime.waits import woken_within

from .domain import Deadline, FiredAlert, SlaPolicy, fire
from .monitor import RecordLocks
from .ports import AlertClaim, DeadlineStore, StoredDeadline
from .settings import SlaMonitorSettings

log = logging.getLogger(__name__)
SOURCE = "/motcua/sla_monitor"
_SET_ASIDE = timedelta(minutes=15)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)


class Scheduler:
    def __init__(self, runtime: ServiceRuntime, store: DeadlineStore, calendar: WorkingCalendar,
                 policy: SlaPolicy, locks: RecordLocks, settings: SlaMonitorSettings) -> None:
        self._runtime = runtime
        self._store = store
        self._calendar = calendar
        self._policy = policy
        self._locks = locks
        self._settings = settings
        self._clock: Clock = runtime.clock
        self._woken = asyncio.Event()
        registry = runtime.metrics
        self._relay = OutboxRelay(ClaimOutbox(store, timedelta(seconds=settings.claim_lease_s)),
                                  runtime.send_stored, registry, batch_size=settings.batch_size)
        self._fired = Counter("motcua_sla_alerts_fired", "alerts published, by rule",
                              ["rule"], registry=registry)
        self._failed = Counter("motcua_sla_fire_failures", "deadlines the rules failed to fire",
                               registry=registry)
        self._resent = Counter("motcua_sla_alerts_resent", "claimed alerts the sweep sent again",
                               registry=registry)
        self._lag = Histogram("motcua_sla_alert_lag_seconds",
                              "from an alert's due time (service clock) to the broker's ack",
                              buckets=_LAG_BUCKETS, registry=registry)
        self._query = Histogram("motcua_sla_due_query_seconds", "time of one query for due deadlines",
                                registry=registry)
        self._batches = Histogram("motcua_sla_due_batch_deadlines", "deadlines per batch",
                                  buckets=(1, 10, 50, 100, 250, 500, 1000, 5000), registry=registry)

    def wake(self) -> None:
        """Look for due deadlines now (an event changed one, or the test clock moved)."""
        self._woken.set()

    async def run(self) -> None:
        await self._retrying(self.sweep)
        next_sweep = time.monotonic() + self._settings.sweep_s
        while True:
            self._woken.clear()
            count = await self._retrying(self.tick)
            if time.monotonic() >= next_sweep:
                await self._retrying(self.sweep)
                next_sweep = time.monotonic() + self._settings.sweep_s
            if count < self._settings.batch_size:
                await woken_within(self._woken, self._settings.tick_s)

    async def tick(self) -> int:
        """One batch: the deadlines due now, fired; returns how many were due."""
        now = self._clock.now()
        started = time.perf_counter()
        due = await self._store.due(now, self._settings.batch_size)
        self._query.observe(time.perf_counter() - started)
        if due:
            self._batches.observe(len(due))
            await self._fire(due, now)
        return len(due)

    async def _fire(self, codes: Sequence[str], now: datetime) -> None:
        async with self._locks.hold(codes):
            # Read under the locks: this process's consumer may have moved a deadline (a pause,
            # a new date) since the query.
            pending = list(codes)
            for _ in range(5):
                fresh, unreadable = await self._store.get_many(pending)
                for code in unreadable:
                    log.error("deadline document cannot be read; set aside", extra={"record_id": code})
                    self._failed.inc()
                    await self._store.set_aside(code, now + _SET_ASIDE)
                pending = await self._fire_batch([fresh[c] for c in pending if c in fresh], now)
                if not pending:
                    return
            log.warning("deadlines kept changing while firing; left for the next pass",
                        extra={"records": len(pending)})

    async def _fire_batch(self, due: Sequence[StoredDeadline], now: datetime) -> list[str]:
        """Claim, publish and save one batch; the record codes whose save lost a race."""
        plans: list[tuple[StoredDeadline, Deadline]] = []
        claims: list[AlertClaim] = []
        alerts: dict[str, FiredAlert] = {}
        for stored in due:
            try:
                fired = fire(stored.state, now, self._calendar, self._policy)
            except Exception:
                # One deadline the rules cannot fire must not hold up the others: it is set
                # aside for a while (a fix may be deployed meanwhile) and logged.
                log.exception("deadline could not be fired; retried later",
                              extra={"record_id": stored.state.record_code})
                self._failed.inc()
                plans.append((stored, replace(stored.state, next_fire_at=now + _SET_ASIDE,
                                              revision=stored.state.revision + 1)))
                continue
            state = fired.state
            if state.next_fire_at is not None and state.next_fire_at <= now:
                # Never busy-loop on a record the rules cannot settle: look again in a minute.
                log.error("deadline still due after firing", extra={"record_id": state.record_code})
                state = replace(state, next_fire_at=now + timedelta(minutes=1),
                                revision=stored.state.revision + 1)
            plans.append((stored, state))
            for alert in fired.alerts:
                claims.append(self._claim(alert, stored.traceparent, now))
                alerts[alert.event_id] = alert
        won = await self._store.claim(claims)
        winners = [c for c in claims if c.event_id in won]
        await self._relay.publish([_pending(c) for c in winners])
        acked = self._clock.now()
        for claim in winners:
            alert = alerts[claim.event_id]
            self._fired.labels(alert.key).inc()
            self._lag.observe(max((acked - alert.due_at).total_seconds(), 0.0))
        return await self._store.replace_many(
            [(state, stored.state.revision, stored.traceparent) for stored, state in plans])

    def _claim(self, alert: FiredAlert, traceparent: str | None, now: datetime) -> AlertClaim:
        envelope = Envelope.wrap(alert.payload, source=SOURCE, time=now, id=alert.event_id)
        return AlertClaim(event_id=alert.event_id, record_code=alert.payload.record_code,
                          rule=alert.key, event_type=alert.payload.event_type,
                          due_at=alert.due_at,
                          claimed_at=datetime.now(UTC),  # leases run on real time, never a test clock
                          message=stored_message(topics.SLA_ALERTS, envelope, traceparent))

    async def sweep(self) -> int:
        """Send the claims an instance took but did not see published; returns how many."""
        resent = await self._relay.sweep()
        self._resent.inc(resent)
        return resent

    async def _retrying(self, step: Callable[[], Awaitable[int]]) -> int:
        return await until_done(step, log, "scheduler step")


def _pending(claim: AlertClaim) -> Pending[str]:
    return Pending(claim.event_id, claim.message)


class ClaimOutbox:
    """The alert claims as the relay's outbox: a claim still pending a lease after it was taken
    belongs to an instance that died before the broker had its alert."""

    def __init__(self, store: DeadlineStore, lease: timedelta) -> None:
        self._store = store
        self._lease = lease

    async def mark_sent(self, ids: Sequence[str]) -> None:
        await self._store.sent(ids)

    async def stale(self, limit: int) -> list[Pending[str]]:
        before = datetime.now(UTC) - self._lease  # leases run on real time, never a test clock
        return [_pending(claim) for claim in await self._store.stale_claims(before, limit)]

