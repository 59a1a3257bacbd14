"""The demo's actors over Kafka: the departments that receive records, and a watcher of every topic.

Each department the demo plays is a desk of its own, signed in as its own principal: it reads its
`routed.<code>.v2` (the broker lets it read nothing else) and answers, as the record's current
holder, on its own `updates.<code>.v1`, which routing checks and forwards to
`records.department-updates.v1`,
stamped with the demo's clock (the services run on test clocks moved together), carrying the
assignment's trace context so the answer joins the record's trace. Answers have deterministic
ids: a redelivered assignment gets the same answer, which the services apply once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import topics
from contracts.department.v1 import (
    DelayReported,
    DepartmentUpdate,
    RecordAccepted,
    RecordRejected,
    RecordResolved,
    RecordReturnedMisrouted,
    RecordSupplemented,
    SupplementRequested,
)
from contracts.department.v2 import RecordAssigned
from contracts.envelope import Envelope, EventPayload, decode, encode
from contracts.errors import ContractError
from contracts.records.v1 import RecordRouted
from contracts.sla.v1 import DelayExplanationRequested
from deploy.access.authority import BrokerAuthority
from reference.calendar import WorkingCalendar
from reference.localtime import local_instant, to_local
from services.routing.domain.directory import MANUAL_QUEUE
from services.runtime.kafka_access import KafkaAccess

from .mix import Behaviour


async def envelopes(consumer: AIOKafkaConsumer, timeout_ms: int = 300
                    ) -> AsyncIterator[tuple[str, Envelope[EventPayload]]]:
    """(topic, envelope) of every readable message, for as long as the reader runs; a message
    that breaks the contract is skipped (the services dead-letter it, the demo only watches)."""
    while True:
        batch = await consumer.getmany(timeout_ms=timeout_ms)
        for records in batch.values():
            for record in records:
                try:
                    envelope = decode(record.key, record.value, record.headers)
                except ContractError:
                    continue
                yield record.topic, envelope


async def stop_reading(task: asyncio.Task[None] | None, consumer: AIOKafkaConsumer | None) -> None:
    """End a reader task, then its consumer."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if consumer is not None:
        await consumer.stop()


class DemoClock:
    """The instant the services' test clocks show: set together with theirs, then runs in real time."""

    def __init__(self, start: datetime) -> None:
        self._base, self._t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._t0)

    def set(self, at: datetime) -> None:
        self._base, self._t0 = at, time.monotonic()


@dataclass
class Holding:
    """Who holds a record now, since when, and the trace context of its assignment."""

    department_code: str
    attempt: int
    traceparent: str | None
    stamped: datetime
    """The time of the record's latest event this desk knows of (its assignment, or its own
    latest answer): the next answer is stamped after it."""


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, once its metadata has reached this client."""
    async with asyncio.timeout(30):
        while topic not in await consumer.topics() or not (  # noqa: ASYNC110 (polls the broker)
                found := consumer.partitions_for_topic(topic)):
            await asyncio.sleep(0.1)
    return [TopicPartition(topic, partition) for partition in sorted(found)]


@dataclass
class Desk:
    """One department's connection to the broker, as its own principal."""

    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer
    task: asyncio.Task[None] | None = None


def played(department: str) -> bool:
    """Whether the demo plays this department: not the manual queue (a person must choose), not a
    district People's Committee dissolved in 2025 (its records wait for the reorganisation)."""
    return department != MANUAL_QUEUE and not department.startswith("UBND-H-")


@dataclass
class Departments:
    """The province's department desks the demo's records reach, each acting out its records'
    behaviours; a desk opens when routing first sends its department a record."""

    authority: BrokerAuthority
    namespace: str
    plan: dict[str, Behaviour]
    clock: DemoClock
    calendar: WorkingCalendar
    holding: dict[str, Holding] = field(default_factory=dict)
    answered: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    delay_asked: dict[str, DelayExplanationRequested] = field(default_factory=dict)
    """Requests for a delay's reason, kept until the department has seen its assignment."""
    _openings: dict[str, asyncio.Task[Desk]] = field(default_factory=dict)
    """Each played department's desk, opening or open."""

    async def on_routed(self, routed: EventPayload) -> None:
        """Routing sent a department a record (the province's view, on records.routed): the
        record's holder is known, played or not, and the department's desk opens if it is not
        open yet (in the background: the watcher reads on)."""
        if not isinstance(routed, RecordRouted):
            return
        code, department = routed.record_code, routed.department_code
        known = self.holding.get(code)
        if known is None or known.attempt < routed.attempt:
            self.holding[code] = Holding(department, routed.attempt, None, self.clock.now())
        if played(department) and department not in self._openings:
            self._openings[department] = asyncio.create_task(self._open(department))

    async def desk(self, code: str) -> Desk:
        """The department's desk, opened on first use with the department's own credentials;
        desks open side by side, each once."""
        if code not in self._openings:
            self._openings[code] = asyncio.create_task(self._open(code))
        return await self._openings[code]

    async def _open(self, code: str) -> Desk:
        options = self.authority.department(code).client_options()
        producer = AIOKafkaProducer(**options, acks="all")
        await producer.start()
        # No group to join (a join takes seconds): the desk reads its topic from the start, and
        # answers with deterministic ids, so reading again would change nothing.
        consumer = AIOKafkaConsumer(**options, group_id=None, auto_offset_reset="earliest",
                                    metadata_max_age_ms=1000, enable_auto_commit=False)
        await consumer.start()
        topic = self.namespace + topics.department_topic(code)
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        desk = Desk(producer, consumer)
        desk.task = asyncio.create_task(self._read(consumer))
        return desk

    async def stop(self) -> None:
        for opening in self._openings.values():
            try:
                desk = await opening
            except Exception:
                continue  # it never opened: nothing to close
            await stop_reading(desk.task, desk.consumer)
            await desk.producer.stop()

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        async for _, envelope in envelopes(consumer, timeout_ms=500):
            if isinstance(envelope.data, RecordAssigned):
                await self._on_assigned(envelope.data, envelope.traceparent)

    async def _on_assigned(self, assigned: RecordAssigned, traceparent: str | None) -> None:
        code, department = assigned.record.record_code, assigned.department_code
        known = self.holding.get(code)
        if known is not None and known.attempt > assigned.attempt:
            return  # an older assignment read late
        self.holding[code] = Holding(department, assigned.attempt, traceparent, assigned.routed_at)
        behaviour = self.plan.get(code)
        if behaviour is None or not played(department):
            return
        if behaviour == "ignore":
            return
        if behaviour == "misrouted" and assigned.attempt == 1:
            await self.answer(code, "returned", RecordReturnedMisrouted(
                record_code=code, department_code=department,
                reason="Không thuộc thẩm quyền giải quyết của đơn vị"))
            return
        await self.answer(code, f"accepted-{department}",
                          RecordAccepted(record_code=code, department_code=department))
        if behaviour == "refuse":
            await self.answer(code, "rejected", RecordRejected(
                record_code=code, department_code=department,
                reason="Hồ sơ không đủ điều kiện theo quy định"))
        elif behaviour == "supplement":
            await self.answer(code, "supplement-requested", SupplementRequested(
                record_code=code, department_code=department,
                missing=("Bản sao giấy tờ chứng minh nơi cư trú",),
                reason="Thiếu giấy tờ chứng minh nơi cư trú hợp pháp"))
        elif code in self.delay_asked:
            await self.report_delay(self.delay_asked[code])

    async def answer(self, code: str, what: str, update: DepartmentUpdate) -> None:
        """Publish one answer as the record's holder; the same (record, what) keeps its event id."""
        desk = await self.desk(update.department_code)
        holding = self.holding.get(code)
        # Answers follow the assignment and each other in event time, which readers order a
        # record's events by: the demo's clock is set a moment after the services' clocks.
        now = self.clock.now()
        if holding is not None:
            now = holding.stamped = max(now, holding.stamped + timedelta(milliseconds=1))
        envelope = Envelope.wrap(
            update, source=f"/departments/{update.department_code}", time=now,
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-demo:{code}:{what}")),
            traceparent=holding.traceparent if holding else None)
        message = encode(envelope)
        inbound = self.namespace + topics.updates_topic(update.department_code)
        await desk.producer.send_and_wait(inbound, message.value, key=message.key,
                                           headers=message.headers)
        self.answered[code].append(what)

    async def answer_broken(self, code: str) -> None:
        """A department client with an old encoder: an acceptance without its department, which
        routing cannot read; it dead-letters it for the operators (and the department's `.dlq`)."""
        department = self.holder(code)
        assert department is not None
        desk = await self.desk(department)
        envelope = Envelope.wrap(RecordAccepted(record_code=code, department_code=department),
                                 source=f"/departments/{department}", time=self.clock.now(),
                                 id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-demo:{code}:broken")))
        message = encode(envelope)
        await desk.producer.send_and_wait(
            self.namespace + topics.updates_topic(department), b'{"record_code": "%s"}' % code.encode(),
            key=message.key, headers=message.headers)

    def holder(self, code: str) -> str | None:
        holding = self.holding.get(code)
        return holding.department_code if holding else None

    def playing(self, code: str) -> bool:
        """Whether a department the demo plays holds the record (not the manual queue, not a
        dissolved district)."""
        holder = self.holder(code)
        return holder is not None and played(holder)

    async def finish_on_time(self) -> list[str]:
        """The next working day: supplements arrive; records not meant to be late are resolved."""
        done: list[str] = []
        for code, behaviour in self.plan.items():
            if not self.playing(code) or behaviour in ("ignore", "refuse", "late", "late_explained"):
                continue
            department = self.holder(code)
            assert department is not None
            if behaviour == "supplement":
                await self.answer(code, "supplemented", RecordSupplemented(
                    record_code=code, department_code=department))
            await self.resolve(code, department)
            done.append(code)
        return done

    async def finish_late(self) -> list[str]:
        """After the due time: the late records are resolved at last."""
        late = [code for code, behaviour in self.plan.items()
                if behaviour in ("late", "late_explained") and self.playing(code)]
        for code in late:
            department = self.holder(code)
            assert department is not None
            await self.resolve(code, department)
        return late

    async def resolve(self, code: str, department: str) -> None:
        await self.answer(code, "resolved", RecordResolved(
            record_code=code, department_code=department,
            result_summary="Đã giải quyết; kết quả trả qua Cổng dịch vụ công", electronic_result=True))

    async def on_alert(self, alert: EventPayload) -> None:
        """A department asked for the reason of a coming delay answers with a new date (form 04),
        when its record's story says so."""
        if not isinstance(alert, DelayExplanationRequested):
            return
        if self.plan.get(alert.record_code) != "late_explained":
            return
        self.delay_asked[alert.record_code] = alert
        # The alert may overtake the assignment (the department's topic is new to its reader):
        # then the department answers once it has taken the record in.
        if self.holder(alert.record_code) == alert.department_code:
            await self.report_delay(alert)

    async def report_delay(self, alert: DelayExplanationRequested) -> None:
        code = alert.record_code
        if (self.holder(code) != alert.department_code or "delay-reported" in self.answered[code]
                or f"accepted-{alert.department_code}" not in self.answered[code]):
            return  # not taken in yet: the desk answers once it has accepted the record
        due = to_local(alert.due_at)
        new_day = self.calendar.add_working_days(due.date(), 3)
        await self.answer(code, "delay-reported", DelayReported(
            record_code=code, department_code=alert.department_code,
            reason="Cần xác minh thêm thông tin với cơ quan liên quan",
            new_appointment=local_instant(new_day, due.time())))


@dataclass
class Watcher:
    """Reads every topic of the pipeline from the start and keeps what went by, for the summary."""

    kafka: KafkaAccess
    """The superuser: the demo watches every topic as an operator would."""
    namespace: str
    on_alert: Callable[[EventPayload], Awaitable[None]] | None = None
    on_routed: Callable[[EventPayload], Awaitable[None]] | None = None
    seen: dict[str, list[Envelope[EventPayload]]] = field(default_factory=lambda: defaultdict(list))
    last_seen: float = field(default_factory=time.monotonic)
    errors: list[str] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    TOPICS = (topics.RECORDS_SUBMITTED, topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES,
              topics.SLA_ALERTS, topics.NOTIFICATION_OUTCOMES)

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *(self.namespace + name for name in self.TOPICS), **self.kafka.client_options(),
            group_id=f"demo-watch-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest",
            metadata_max_age_ms=1000)
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        await stop_reading(self._task, self._consumer)

    async def _read(self) -> None:
        assert self._consumer is not None
        ids: set[str] = set()
        async for topic, envelope in envelopes(self._consumer):
            if envelope.id in ids:
                continue  # a redelivered copy: the summary counts events, not copies
            ids.add(envelope.id)
            self.seen[topic.removeprefix(self.namespace)].append(envelope)
            self.last_seen = time.monotonic()
            hook = {topics.SLA_ALERTS: self.on_alert, topics.RECORDS_ROUTED: self.on_routed}.get(
                topic.removeprefix(self.namespace))
            if hook is not None:
                try:
                    await hook(envelope.data)
                except Exception as error:  # the watcher must go on; the demo reports it
                    self.errors.append(f"answering {envelope.type}: {error!r}")

    def of(self, topic: str) -> list[Envelope[EventPayload]]:
        return self.seen.get(topic, [])

    async def settle(self, quiet_s: float = 2.0, limit_s: float = 60.0,
                     until: Callable[[], bool] | None = None) -> bool:
        """Wait until `until` holds (if given) and nothing new went by for `quiet_s`."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            if (until is None or until()) and time.monotonic() - self.last_seen >= quiet_s:
                return True
            await asyncio.sleep(0.2)
        return False
