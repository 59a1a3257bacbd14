"""Applies events to routes: route a new record, gate its holder's updates, move a returned one,
follow a reorganisation.

Each step stores the new state together with the messages it produced (each tagged with the
event that caused it), then sends them. A redelivered event changes nothing and re-sends its own
messages, with their original ids: the offset of an event is committed only after its messages
were acknowledged, so Kafka's redelivery is the recovery and the happy path writes once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from contracts import topics
from contracts.department import v1 as department
from contracts.department.v2 import AssignedRecord, RecordAssigned
from contracts.envelope import ContractError, Envelope
from contracts.records.v1 import RecordRouted, RecordSubmitted
from reference.catalog import Catalog
from reference.errors import UnknownProcedure
from reference.units import Units
from services.runtime.clock import Clock
from services.runtime.consumer import Delivery, Incoming, Refusal
from services.runtime.errors import PoisonMessage, StateChanged
from services.runtime.outbox import StoredMessage, stored_message

from .domain.decide import Decision, RouteInput, next_candidate, route, successor_for
from .domain.gate import GateRefusal, check
from .domain.manual import Choice, ChoiceRefused, decide, suggestions
from .domain.route import Kind, Route, after_update, bounced, chosen, first_route, kind_of, moved
from .domain.table import RoutingTable
from .ports import Outgoing, Outlet, RouteStore, StoredRoute
from .versions import TableVersions

log = logging.getLogger(__name__)
SOURCE = "/motcua/routing"
REORG = "reorganisation@v"
MANUAL = "manual@"


class UnknownRecord(LookupError):
    """Routing holds no route for this record code."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A record of the manual queue and the departments worth a look first."""

    route: Route
    suggestions: tuple[str, ...]


class Dispatcher:
    def __init__(self, outlet: Outlet, store: RouteStore, versions: TableVersions,
                 catalog: Catalog, units: Units, *, clock: Clock, metrics: CollectorRegistry,
                 max_bounces: int, skew_s: float) -> None:
        self._outlet = outlet
        self._store = store
        self._versions = versions
        self._catalog = catalog
        self._units = units
        self._max_bounces = max_bounces
        self._clock = clock
        self._decisions = Counter("motcua_routing_decisions", "routing decisions",
                                  ["decision", "department"], registry=metrics)
        self._gate = Counter("motcua_routing_department_updates", "department updates the gate "
                             "forwarded or refused", ["outcome", "reason"], registry=metrics)
        self._skew = timedelta(seconds=skew_s)

    # --- records.submitted.v1 -----------------------------------------------------------------

    async def on_submitted(self, batch: Sequence[Incoming]) -> list[Refusal]:
        """Route a batch of new records: one decision each, all routes stored in one bulk
        insert, then every message sent. A record that already has a route (redelivered, or
        routed by another instance) gets no new decision, only a resend of what a crash may
        have left unsent; creating first saves a lookup per new record."""
        refused: list[Refusal] = []
        first: dict[str, tuple[StoredRoute, Kind]] = {}
        seen: list[Incoming] = []
        table = self._versions.current
        now = self._clock.now()
        for incoming in batch:
            try:
                record = incoming.envelope.narrow(RecordSubmitted).data
                if record.record_code not in first:
                    first[record.record_code] = self._first_route(incoming, record, table, now)
            except (ContractError, PoisonMessage) as error:
                refused.append(Refusal(incoming, _poison(error)))
                continue
            seen.append(incoming)
        created = await self._store.create_many([stored for stored, _ in first.values()])
        routes = {code: stored for code, (stored, _) in first.items() if code in created}
        if len(created) < len(first):
            routes.update(await self._store.get_many(first.keys() - created))
        for code in created:
            stored, kind = first[code]
            self._decisions.labels(decision=kind, department=stored.route.department).inc()
        outgoing: list[StoredMessage] = []
        sending: set[tuple[str, str]] = set()
        for incoming in seen:  # each event's own messages, once, also for a repeat in the batch
            found = routes.get(incoming.envelope.record_id)
            if found is None or (found.code, incoming.envelope.id) in sending:
                continue
            sending.add((found.code, incoming.envelope.id))
            outgoing += found.caused_by(incoming.envelope.id)
        await self._send(outgoing)
        return refused

    def _first_route(self, incoming: Incoming, record: RecordSubmitted, table: RoutingTable,
                     now: datetime) -> tuple[StoredRoute, Kind]:
        """A new record's route, with the messages its decision produces."""
        try:
            procedure = self._catalog.get(record.procedure_code)
        except UnknownProcedure:
            raise PoisonMessage("unknown_procedure", f"procedure {record.procedure_code} is "
                                "not in routing's catalogue") from None
        decision = route(RouteInput(procedure_code=procedure.code,
                                    agency_kind=procedure.agency_kind,
                                    handling_level=procedure.handling_level,
                                    administrative_unit_code=record.administrative_unit_code),
                         table, self._units)
        kind = kind_of(decision, first=True)
        event_id = incoming.envelope.id
        messages = self._messages(record, decision, kind, now=now, attempt=1,
                                  version=table.version, previous=None,
                                  traceparent=incoming.traceparent)
        stored = StoredRoute(route=first_route(record, procedure, decision, table.version, now),
                             applied=(event_id,), outbox=_caused_by(event_id, messages))
        return stored, kind

    # --- updates.<department>.v1: the gate ---------------------------------------------------

    async def on_update(self, envelope: Envelope[Any], delivery: Delivery) -> None:
        """Check a department's update (the topic names the sender); forward it to the topic
        the other services trust, or tell the sender why not. Each answer is kept before it
        is sent, so a redelivered update gets the same answer."""
        sender = topics.sender_of(delivery.topic)
        if sender is None:
            raise PoisonMessage("not_an_inbound_topic", f"{delivery.topic} is no department's")
        update = envelope.data
        stored = None
        if isinstance(update, department.DepartmentUpdate):
            stored = await self._store.get(update.record_code)
            if stored is not None and envelope.id in stored.applied:
                await self._send(stored.caused_by(envelope.id))
                return
        kept = await self._store.refusal(sender, envelope.id)
        if kept is not None:
            await self._send([kept])
            return
        if not isinstance(update, department.DepartmentUpdate):
            await self._refuse(envelope, sender, GateRefusal(
                "unreadable", f"{envelope.type} is not a department update"))
            return
        refusal = check(update, sender=sender, at=envelope.time, now=self._clock.now(),
                        holding=None if stored is None else stored.route.holding,
                        skew=self._skew)
        if refusal is not None:
            await self._refuse(envelope, sender, refusal)
            return
        assert stored is not None
        forward = Outgoing(envelope.id, stored_message(topics.DEPARTMENT_UPDATES, envelope,
                                                       envelope.traceparent))
        if isinstance(update, department.RecordReturnedMisrouted):
            await self._bounce(stored, envelope.id, update.department_code, forward)
            return
        await self._store.apply(stored, envelope.id,
                                after_update(stored.route, update, envelope.time), [forward])
        self._gate.labels(outcome="accepted", reason="").inc()
        await self._send([forward.message])

    async def _refuse(self, envelope: Envelope[Any], sender: str, refusal: GateRefusal) -> None:
        code = envelope.record_id
        refused = department.UpdateRefused(
            record_code=code, department_code=sender, refused_event_id=envelope.id,
            refused_event_type=envelope.type, reason=refusal.reason, detail=refusal.detail)
        feedback = Envelope.wrap(refused, source=SOURCE, time=self._clock.now(),
                                 id=_derived_id(f"refused:{sender}:{envelope.id}", 0),
                                 traceparent=envelope.traceparent)
        message = await self._store.refuse(
            sender, envelope.id, stored_message(topics.feedback_topic(sender), feedback))
        self._gate.labels(outcome="refused", reason=refusal.reason).inc()
        log.warning("department update refused", extra={
            "event_id": envelope.id, "event_type": envelope.type, "department": sender,
            "reason": refusal.reason})
        await self._send([message])

    async def _bounce(self, stored: StoredRoute, event_id: str, returned_by: str,
                      forward: Outgoing) -> None:
        table = self._versions.current
        current = stored.route
        decision = next_candidate(current.candidates_left, returned_by, current.attempt + 1,
                                  self._max_bounces, table)
        kind = kind_of(decision, first=False)
        now = self._clock.now()
        after = bounced(current, returned_by, decision, now)
        messages = (forward, *_caused_by(event_id, self._messages(
            current.record, decision, kind, now=now, attempt=after.attempt,
            version=table.version, previous=returned_by)))
        await self._store.apply(stored, event_id, after, messages)
        self._gate.labels(outcome="accepted", reason="").inc()
        self._decisions.labels(decision=kind, department=decision.department_code).inc()
        await self._send([out.message for out in messages])

    # --- a new table version ------------------------------------------------------------------

    async def recover(self) -> int:
        """Send what a crash during a reorganisation left unsent (no Kafka message will be
        redelivered for those)."""
        count = 0
        async for stored in self._store.unsent():
            await self._send([out.message for out in stored.outbox if out.cause.startswith(REORG)])
            await self._store.mark_sent(stored.code)
            count += 1
        return count

    async def reorganise(self) -> int:
        """Move every open record held by a department the table in force dissolved, once each.

        The move's events have ids derived from the record and the table version, so two
        instances (or a restart) moving the same record produce the same events, which
        consumers apply once.
        """
        table = self._versions.current
        dissolved = {d.code for d in table.departments if not d.active}
        step = f"{REORG}{table.version}"
        moved_count = 0
        async for found in self._store.held_by(dissolved):
            stored: StoredRoute | None = found
            while (stored is not None and stored.route.department in dissolved
                   and step not in stored.applied):
                try:
                    await self._move(stored, table, step)
                    moved_count += 1
                    break
                except StateChanged:  # a department's update got there first: read it again
                    stored = await self._store.get(stored.code)
        if moved_count:
            log.info("records moved after a reorganisation",
                     extra={"table_version": table.version, "records": moved_count})
        return moved_count

    async def _move(self, stored: StoredRoute, table: RoutingTable, step: str) -> None:
        """One record off a dissolved department, to its successor."""
        current = stored.route
        successor = successor_for(current.department, current.unit, table, self._units)
        decision = Decision(department_code=successor, candidates_left=(),
                            rule_id="reorganisation",
                            reason=f"{current.department} dissolved in table "
                                   f"v{table.version}; successor {successor}")
        kind = kind_of(decision, first=False)
        now = self._clock.now()
        after = moved(current, decision, table.version, now)
        messages = _caused_by(step, self._messages(
            current.record, decision, kind, now=now, attempt=after.attempt,
            version=table.version, previous=current.department,
            ids_from=f"{current.code}:{step}"))
        await self._store.apply(stored, step, after, messages, unsent=True)
        self._decisions.labels(decision=kind, department=decision.department_code).inc()
        await self._send([out.message for out in messages])
        await self._store.mark_sent(stored.code)

    # --- the one-stop office's choice ---------------------------------------------------------

    async def waiting(self, limit: int) -> list[Waiting]:
        """The manual queue, longest waiting first, each with the departments to look at first."""
        table = self._versions.current
        return [Waiting(route, suggestions(route, table, self._units))
                for route in await self._store.waiting(limit)]

    async def choose(self, code: str, choice: Choice) -> Route:
        """Route a record of the manual queue to the department a person chose; `ChoiceRefused`
        if it is not waiting, moved since the person looked, or the department cannot take it.

        The step is named by the assignment the person saw, and its events' ids derive from it:
        a retried command re-sends the same events and changes nothing."""
        step = f"{MANUAL}{choice.seen_attempt}"
        stored = await self._store.get(code)
        while True:
            if stored is None:
                raise UnknownRecord(code)
            current = stored.route
            if step in stored.applied:
                if current.department != choice.department_code:
                    raise ChoiceRefused("moved_on", f"record {code} was already routed to "
                                                    f"{current.department} from the queue")
                await self._send(stored.caused_by(step))
                return current
            table = self._versions.current
            decision = decide(current, choice, table)
            now = self._clock.now()
            after = chosen(current, decision, now)
            messages = _caused_by(step, self._messages(
                current.record, decision, "rerouted", now=now, attempt=after.attempt,
                version=table.version, previous=current.department,
                ids_from=f"{code}:{step}", decided_by=choice.officer))
            try:
                await self._store.apply(stored, step, after, messages)
            except StateChanged:  # a department's update or another officer got there first
                stored = await self._store.get(code)
                continue
            self._decisions.labels(decision="chosen", department=decision.department_code).inc()
            log.info("record routed from the manual queue", extra={
                "record_code": code, "department": decision.department_code,
                "officer": choice.officer})
            await self._send([out.message for out in messages])
            return after

    # --- messages -----------------------------------------------------------------------------

    def _messages(self, record: RecordSubmitted, decision: Decision, kind: Kind, *,
                  now: datetime, attempt: int, version: int, previous: str | None,
                  ids_from: str | None = None, traceparent: str | None = None,
                  decided_by: str | None = None) -> list[StoredMessage]:
        code = decision.department_code
        assigned = RecordAssigned(record=AssignedRecord.of(record), department_code=code,
                                  attempt=attempt, rule_version=version, routed_at=now)
        routed = RecordRouted(
            record_code=record.record_code, procedure_code=record.procedure_code,
            department_code=code, department_topic=topics.department_topic(code),
            decision=kind, reason=decision.reason, rule_version=version, attempt=attempt,
            candidates_left=decision.candidates_left, previous_department_code=previous,
            administrative_unit_code=record.administrative_unit_code, decided_by=decided_by)
        ids = [_derived_id(ids_from, n) if ids_from else None for n in range(2)]
        return [
            stored_message(topics.department_topic(code), Envelope.wrap(
                assigned, source=SOURCE, time=now, id=ids[0]), traceparent),
            stored_message(topics.RECORDS_ROUTED, Envelope.wrap(
                routed, source=SOURCE, time=now, id=ids[1]), traceparent),
        ]

    async def _send(self, messages: Sequence[StoredMessage]) -> None:
        """Send stored messages and wait until Kafka has them. A department's first assignment
        creates its three topics (those of a batch's new departments in one request)."""
        needed: dict[str, None] = {}
        for topic in dict.fromkeys(message.topic for message in messages):
            owner = topics.owner_of(topic)
            needed.update(dict.fromkeys(
                topics.department_topics(owner) if owner is not None else (topic,)))
        if needed:
            await self._outlet.ensure_topic(*needed)
        await self._outlet.send_stored(messages)


def _caused_by(cause: str, messages: Sequence[StoredMessage]) -> tuple[Outgoing, ...]:
    return tuple(Outgoing(cause, message) for message in messages)


def _derived_id(seed: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-routing:{seed}:{n}"))


def _poison(error: ContractError | PoisonMessage) -> PoisonMessage:
    if isinstance(error, PoisonMessage):
        return error
    return PoisonMessage(error.reason, str(error))
