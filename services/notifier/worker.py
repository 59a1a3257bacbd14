"""The delivery loop: care (fold, rate limit, quiet hours), claim, render, send, record, retry.

Notifications wait in memory per recipient for the fold window (longer if the recipient's rate
limit or the SMS quiet hours say so), then are folded into the messages to send. Each attempt of
each notification is claimed by inserting ``<notification id>#<n>`` before the send: the evidence
a crash leaves, and the guarantee that one attempt is made by one process only. The message id
(the notification id, or a digest's id) is the SMTP Message-ID and the SMS/webhook idempotency key
on every attempt, so a resend after a crash between the provider's acceptance and our record of it
is the same message to the receiving side.

A sweep (at start and every `sweep_s`) takes over open deliveries whose lease ran out: a process
died holding them. One caught in the middle of an attempt is sent again as the same message.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiohttp

from contracts.notifications.v1 import NotificationOutcome
from services.runtime.clock import Clock
from services.runtime.relay import OutboxRelay
from services.runtime.retrying import until_done
from services.runtime.waits import woken_within

from . import documents
from .channels import Channel, ChannelsConfig, build_channels
from .domain import (
    CarePolicy,
    ChannelName,
    DeliveryIntent,
    DeliveryResult,
    Digest,
    Outgoing,
    RenderFailure,
    RetryPolicy,
    Templates,
    after_attempt,
    fold,
    outcomes,
    release_at,
    send_at,
)
from .metrics import NotifierMetrics
from .ports import (
    AttemptClaim,
    ClaimKind,
    Delivery,
    FinalResult,
    Hold,
    NotifierStore,
    Status,
    claim_id,
)
from .publisher import outcome_message, pending_outcome
from .settings import NotifierSettings

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A message to attempt: `attempt` is the number of the next attempt (1-based)."""

    message: Outgoing
    attempt: int = 1
    previous_delay: float | None = None
    claimed: bool = False
    """Its claim was inserted ahead (a retry or a message care holds): no claim before the send."""


@dataclass
class Bucket:
    """Notifications for one recipient waiting to be folded together."""

    first_at: datetime
    intents: list[DeliveryIntent] = field(default_factory=list)
    held_until: datetime | None = None
    """The release time already noted in `holds` (care holds them past the fold window)."""


class Deliverer:
    def __init__(self, store: NotifierStore, publisher: OutboxRelay[str], templates: Templates,
                 channels: ChannelsConfig, retry: RetryPolicy, care: CarePolicy, clock: Clock,
                 settings: NotifierSettings, metrics: NotifierMetrics) -> None:
        self._store = store
        self._publisher = publisher
        self._templates = templates
        self._config = channels
        self._retry = retry
        self._care = care
        self._clock = clock
        self._settings = settings
        self._metrics = metrics
        self._channels: dict[ChannelName, Channel] = {}
        self._buckets: dict[str, Bucket] = {}
        self._timers: list[tuple[datetime, int, Pending]] = []
        self._due_at: list[tuple[datetime, int, str]] = []
        """When each waiting bucket is next worth a look (its release time, as far as known)."""
        self._seq = itertools.count()
        self._held: set[str] = set()
        self._trace: dict[str, str | None] = {}
        self._history: dict[str, list[datetime]] = defaultdict(list)
        self._woken = asyncio.Event()
        self._rng = random.Random()
        self._unrecorded: list[tuple[Pending, DeliveryResult, asyncio.Future[None]]] = []
        self._recording = False
        metrics.queue_depth(lambda: len(self._held))

    # --- intake -------------------------------------------------------------------------------

    def enqueue(self, intents: Sequence[tuple[DeliveryIntent, str | None]]) -> None:
        """Stored deliveries to make (with the trace of the event that asked for them)."""
        now = self._clock.now()
        for intent, traceparent in intents:
            if intent.notification_id in self._held:
                continue
            self._held.add(intent.notification_id)
            self._trace[intent.notification_id] = traceparent
            bucket = self._buckets.get(intent.recipient_key)
            if bucket is None:
                bucket = self._buckets[intent.recipient_key] = Bucket(first_at=now)
                heapq.heappush(self._due_at, (release_at(now, self._care), next(self._seq),
                                              intent.recipient_key))
            bucket.intents.append(intent)
        self._woken.set()

    def _later(self, at: datetime, pending: Pending) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), pending))

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            self._channels = build_channels(self._config, http)
            try:
                await self._loop()
            finally:
                for channel in self._channels.values():
                    await channel.close()

    async def _loop(self) -> None:
        await until_done(self.sweep, log, "delivery sweep")
        next_sweep = time.monotonic() + self._settings.sweep_s
        while True:
            self._woken.clear()
            now = self._clock.now()
            ready, holds, deferred = self._due(now)
            if holds:
                await until_done(partial(self._hold, holds), log, "delivery hold")
            if deferred:
                await until_done(partial(self._defer, deferred), log, "delivery deferral")
            if ready:
                await self._attempt(ready)
            if time.monotonic() >= next_sweep:
                await until_done(self.sweep, log, "delivery sweep")
                next_sweep = time.monotonic() + self._settings.sweep_s
            if not ready:
                wait = min(self._settings.tick_s, self._seconds_to_next(now))
                await woken_within(self._woken, max(wait, 0.005))

    def _seconds_to_next(self, now: datetime) -> float:
        times = [queue[0][0] for queue in (self._due_at, self._timers) if queue]
        return min(((t - now).total_seconds() for t in times), default=self._settings.tick_s)

    # --- care ---------------------------------------------------------------------------------

    def _limit(self, role: str) -> Any:
        return self._care.applicant_limit if role == "applicant" else self._care.supervisor_limit

    def _release_time(self, bucket: Bucket, now: datetime) -> datetime:
        """Fold window, then the recipient's rate-limit slot and, for SMS, the end of quiet hours;
        at once when waiting would take a notice past its legal deadline."""
        first = bucket.intents[0]
        at = release_at(bucket.first_at, self._care)
        limit = self._limit(first.recipient_role)
        if limit is not None:
            at = max(at, limit.next_slot(self._history.get(first.recipient_key, ()), now))
        if first.channel == "sms":
            at = self._care.quiet_hours.next_allowed(at)
        deadlines = [i.not_after for i in bucket.intents if i.not_after is not None]
        if deadlines and now <= min(deadlines) < at:
            return now
        return at

    def _slot(self, message: Outgoing, now: datetime) -> datetime:
        """When a folded message may go; sends already scheduled later count against the limit."""
        times = self._history[message.recipient_key]
        at = send_at(message, now, times, self._care)
        for _ in range(32):
            later = send_at(message, at, times, self._care)
            if later <= at:
                break
            at = later
        deadline = message.not_after
        return now if deadline is not None and now <= deadline < at else at

    def _due(self, now: datetime) -> tuple[list[Pending], list[tuple[list[DeliveryIntent], datetime]],
                                           list[tuple[datetime, Pending]]]:
        """Messages to attempt now, recipients care holds before folding, messages it defers."""
        ready: list[Pending] = []
        holds: list[tuple[list[DeliveryIntent], datetime]] = []
        deferred: list[tuple[datetime, Pending]] = []
        while self._due_at and self._due_at[0][0] <= now and len(ready) < self._settings.batch_size:
            _, _, key = heapq.heappop(self._due_at)
            bucket = self._buckets.get(key)
            if bucket is None:
                continue  # released already (a stale entry)
            release = self._release_time(bucket, now)
            if release > now:
                heapq.heappush(self._due_at, (release, next(self._seq), key))
                if release > release_at(bucket.first_at, self._care) and bucket.held_until != release:
                    bucket.held_until = release
                    holds.append((list(bucket.intents), release))
                continue
            del self._buckets[key]
            for message in fold(bucket.intents):
                at = self._slot(message, now)
                self._history[key].append(at)
                if at <= now:
                    ready.append(Pending(message))
                else:
                    deferred.append((at, Pending(message)))
        while self._timers and self._timers[0][0] <= now and len(ready) < self._settings.batch_size:
            ready.append(heapq.heappop(self._timers)[2])
        return ready, holds, deferred

    async def _hold(self, holds: list[tuple[list[DeliveryIntent], datetime]]) -> None:
        """Note the wait (for operators, and so no sweep takes the notifications over meanwhile)."""
        real_now, now = datetime.now(UTC), self._clock.now()
        await self._store.hold([
            Hold(notification_id=intent.notification_id, not_before=at,
                 lease_until=documents.lease(real_now, now, at, self._settings.lease_s))
            for intents, at in holds for intent in intents])

    async def _defer(self, deferred: list[tuple[datetime, Pending]]) -> None:
        """Claim the attempts of messages sent later, then wait for them."""
        await self._claim_ahead([(at, pending, "hold", None) for at, pending in deferred])

    async def _claim_ahead(self, planned: list[tuple[datetime, Pending, ClaimKind, str | None]]) -> None:
        real_now, now = datetime.now(UTC), self._clock.now()
        claims = [AttemptClaim(notification_id=m.notification_id,
                               message_id=p.message.notification_id, attempt=p.attempt, kind=kind,
                               at=at, previous_detail=detail,
                               lease_until=documents.lease(real_now, now, at, self._settings.lease_s))
                  for at, p, kind, detail in planned for m in outcomes.members(p.message)]
        won = await self._store.claim(claims)
        for at, pending in ((at, p) for at, p, _, _ in planned):
            for mine in self._keep_won(pending, won):
                self._later(at, replace(mine, claimed=True))

    def _keep_won(self, pending: Pending, won: set[str]) -> list[Pending]:
        """The part of a message whose attempt this process claimed; the rest is another's."""
        members = outcomes.members(pending.message)
        mine = [m for m in members if claim_id(m.notification_id, pending.attempt) in won]
        for lost in (m for m in members if m not in mine):
            self._forget(lost.notification_id)
        if len(mine) == len(members):
            return [pending]
        if mine:
            log.warning("part of a message was claimed elsewhere; sending the rest",
                        extra={"message_id": pending.message.notification_id})
        return [replace(pending, message=m) for m in fold(mine)]

    # --- attempts -----------------------------------------------------------------------------

    async def _attempt(self, ready: list[Pending]) -> None:
        claimed = await until_done(lambda: self._claim(ready), log, "delivery claim")
        semaphore = asyncio.Semaphore(self._settings.send_concurrency)

        async def send(pending: Pending) -> None:
            # Each result is stored before its send's slot is free: a crash can then only resend
            # what was in flight (same Message-ID / Idempotency-Key), never a whole batch.
            async with semaphore:
                result = await self._send(pending.message)
                await self._record_soon(pending, result)

        await asyncio.gather(*(send(p) for p in claimed))

    async def _record_soon(self, pending: Pending, result: DeliveryResult) -> None:
        """Store a send's result together with the others that finished meanwhile (group
        commit): the first waiting sender writes everything queued, in one write per
        collection, until nothing is left; the others wait for their own to be stored."""
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded.append((pending, result, stored))
        if not self._recording:
            self._recording = True
            try:
                while self._unrecorded:
                    batch, self._unrecorded = self._unrecorded, []
                    try:
                        await self._record([p for p, _, _ in batch], [r for _, r, _ in batch])
                    except BaseException:
                        self._unrecorded += batch
                        raise
                    for _, _, done in batch:
                        done.set_result(None)
            finally:
                self._recording = False
                # Only a stop (cancellation) ends a leader early: what it had not stored is
                # not stored, and the sweep after a restart takes it over.
                for _, _, done in self._unrecorded:
                    done.cancel()
                self._unrecorded = []
        await stored

    async def _claim(self, ready: list[Pending]) -> list[Pending]:
        real_now, now = datetime.now(UTC), self._clock.now()
        lease_until = real_now + timedelta(seconds=self._settings.lease_s)
        claims = [AttemptClaim(notification_id=m.notification_id,
                               message_id=p.message.notification_id, attempt=p.attempt, kind="send",
                               at=now, lease_until=lease_until)
                  for p in ready if not p.claimed for m in outcomes.members(p.message)]
        won = await self._store.claim(claims)
        claimed: list[Pending] = []
        for pending in ready:
            claimed += [pending] if pending.claimed else self._keep_won(pending, won)
        return claimed

    async def _send(self, message: Outgoing) -> DeliveryResult:
        rendered = self._templates.render_outgoing(message)
        if isinstance(rendered, RenderFailure):
            return DeliveryResult("permanent", f"{rendered.reason}: {rendered.detail}")
        channel = self._channels.get(message.channel)
        if channel is None:
            return DeliveryResult("permanent", f"channel {message.channel} is not enabled")
        try:
            return await channel.send(message.address, rendered, reference=message.notification_id)
        except Exception as error:  # an adapter bug must not stop the loop; retried as transient
            log.exception("channel failed", extra={"channel": message.channel})
            return DeliveryResult("transient", f"channel error ({type(error).__name__})")

    async def _record(self, sent: list[Pending], results: Sequence[DeliveryResult]) -> None:
        real_now, now = datetime.now(UTC), self._clock.now()
        finished: list[FinalResult] = []
        retries: list[tuple[datetime, Pending, ClaimKind, str | None]] = []
        counted: list[tuple[Outgoing, str, DeliveryResult, str | None]] = []
        for pending, result in zip(sent, results, strict=True):
            message, attempt = pending.message, pending.attempt
            decision = after_attempt(result, attempt, self._retry, self._rng, pending.previous_delay)
            if decision.action == "retry" and decision.delay is not None:
                at = now + timedelta(seconds=decision.delay)
                if message.channel == "sms":
                    at = self._care.quiet_hours.next_allowed(at, message.not_after)
                retries.append((at, Pending(message, attempt + 1, decision.delay), "retry", result.detail))
                self._metrics.retries.labels(message.channel).inc()
                log.info("notification will be retried", extra={
                    "message_id": message.notification_id, "channel": message.channel,
                    "address": message.masked_address, "attempt": attempt, "detail": result.detail,
                    "retry_in_s": round(decision.delay, 2)})
                continue
            events: tuple[NotificationOutcome, ...]
            status: Status
            if decision.action == "done":
                events, status, reason = outcomes.sent(message, attempt), "sent", None
            else:
                reason = decision.failure or "permanent"
                events, status = outcomes.failed(message, attempt, reason, result.detail), "failed"
            for member, event in zip(outcomes.members(message), events, strict=True):
                nid = member.notification_id
                finished.append(documents.result(
                    nid, status, attempts=attempt, message_id=message.notification_id,
                    detail=result.detail, reason=reason, finished_at=real_now,
                    outcome=outcome_message(event, now, self._trace.get(nid))))
            counted.append((message, decision.action, result, decision.failure))
        won = await until_done(partial(self._store.finish, finished), log, "delivery result")
        if retries:
            await until_done(partial(self._claim_ahead, retries), log, "retry claim")
        for message, action, result, failure in counted:
            self._count(message, action, result, failure)
        for done in finished:
            self._forget(done.notification_id)
        self._publisher.enqueue([pending_outcome(r) for r in finished if r.notification_id in won])

    def _count(self, message: Outgoing, action: str, result: DeliveryResult, failure: str | None) -> None:
        members = len(outcomes.members(message))
        extra = {"message_id": message.notification_id, "channel": message.channel,
                 "address": message.masked_address, "notifications": members}
        if action == "done":
            self._metrics.sent.labels(message.channel).inc(members)
            log.debug("notification sent", extra=extra)  # counted in metrics, traced in spans
        else:
            self._metrics.failed.labels(message.channel, failure or "permanent").inc(members)
            log.warning("notification failed", extra={**extra, "reason": failure, "detail": result.detail})

    def _forget(self, nid: str) -> None:
        self._held.discard(nid)
        self._trace.pop(nid, None)

    # --- takeover -----------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Take over open deliveries no live process holds; clear the flag of finished ones.
        Pages through every open delivery old enough, past the ones this process holds: a
        backlog left by a dead process is taken over in one sweep, not a batch per sweep.
        Returns how many were taken over."""
        total = 0
        before = datetime.now(UTC) - timedelta(seconds=self._settings.fold_window_s
                                               + self._settings.lease_s)
        after: tuple[datetime, str] | None = None
        while True:
            found = await self._store.open_deliveries(before, self._settings.batch_size, after)
            total += await self._take_over([d for d in found if d.notification_id not in self._held])
            if len(found) < self._settings.batch_size:
                break
            after = (found[-1].created_at, found[-1].notification_id)
        self._prune_history()
        if total:
            self._metrics.taken_over.inc(total)
            log.info("sweep took over deliveries left by a process", extra={"deliveries": total})
        return total

    async def _take_over(self, deliveries: list[Delivery]) -> int:
        """Close the finished ones; plan again the others whose holder's lease ran out."""
        if not deliveries:
            return 0
        real_now, now = datetime.now(UTC), self._clock.now()
        ids = [d.notification_id for d in deliveries]
        held_until: dict[str, datetime] = {}
        for hold in await self._store.holds_of(ids):
            nid = hold.notification_id
            held_until[nid] = max(held_until.get(nid, hold.lease_until), hold.lease_until)
        done = await self._store.finished_among(ids)
        claims_of = await self._store.claims_among(
            [nid for nid in ids if nid not in done], self._retry.max_attempts + 1)
        finished: list[str] = []
        fresh: list[tuple[DeliveryIntent, str | None]] = []
        groups: dict[str, list[tuple[DeliveryIntent, AttemptClaim]]] = defaultdict(list)
        for delivery in deliveries:
            nid, intent = delivery.notification_id, delivery.intent
            if intent is None or nid in done:
                finished.append(nid)
                continue
            claims = claims_of.get(nid, [])
            last = claims[-1] if claims else None
            if (last is not None and last.lease_until > real_now) or held_until.get(
                    nid, real_now) > real_now:
                continue  # a live process holds it
            self._trace[nid] = delivery.traceparent
            if last is None:
                fresh.append((intent, delivery.traceparent))
            else:
                groups[last.message_id].append((intent, last))
        await self._store.close(finished)
        self.enqueue(fresh)
        exhausted: list[Pending] = []
        for message_id, items in groups.items():
            message = _regroup(message_id, [intent for intent, _ in items])
            self._held.update(m.notification_id for m in outcomes.members(message))
            last_attempt = max(claim.attempt for _, claim in items)
            if last_attempt >= self._retry.max_attempts:
                exhausted.append(Pending(message, last_attempt, claimed=True))
                continue
            planned = [claim.at for _, claim in items if claim.kind != "send"]
            self._later(max([now, *planned]), Pending(message, last_attempt + 1))
        if exhausted:
            gave_up = DeliveryResult("transient", "attempts exhausted; the last was interrupted")
            await self._record(exhausted, [gave_up] * len(exhausted))
        self._woken.set()
        return len(fresh) + sum(len(items) for items in groups.values())

    def _prune_history(self) -> None:
        horizon = self._clock.now() - max(self._care.applicant_limit.per, timedelta(hours=1))
        for key in list(self._history):
            kept = [t for t in self._history[key] if t > horizon]
            if kept:
                self._history[key] = kept
            else:
                del self._history[key]


def _regroup(message_id: str, intents: list[DeliveryIntent]) -> Outgoing:
    """The message an interrupted attempt was making, under the same id (the receiver's key)."""
    if len(intents) == 1 and intents[0].notification_id == message_id:
        return intents[0]
    folded = fold(intents)
    if len(folded) == 1 and isinstance(folded[0], Digest):
        return replace(folded[0], notification_id=message_id)
    return Digest(notification_id=message_id, members=tuple(intents), shown=tuple(intents))
