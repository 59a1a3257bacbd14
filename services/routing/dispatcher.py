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
from datetime import datetime, timedelta
from typing import Any, Literal

from prometheus_client import Counter

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
from services.runtime.service import ServiceRuntime

from .decide import Decision, RouteInput, next_candidate, route, successor_for
from .directory import MANUAL_QUEUE
from .gate import GateRefusal, Holding, check, later, stage_after
from .store import Document, RouteStore
from .table import RoutingTable
from .versions import TableVersions

log = logging.getLogger(__name__)
SOURCE = "/motcua/routing"
REORG = "reorganisation@v"
CLOSING = (department.RecordResolved, department.RecordRejected, department.ResultReturned)
Kind = Literal["routed", "rerouted", "manual"]


class Dispatcher:
    def __init__(self, runtime: ServiceRuntime, store: RouteStore, versions: TableVersions,
                 catalog: Catalog, units: Units, max_bounces: int, skew_s: float) -> None:
        self._runtime = runtime
        self._store = store
        self._versions = versions
        self._catalog = catalog
        self._units = units
        self._max_bounces = max_bounces
        self._clock: Clock = runtime.clock
        self._decisions = Counter("motcua_routing_decisions", "routing decisions",
                                  ["decision", "department"], registry=runtime.metrics)
        self._gate = Counter("motcua_routing_department_updates", "department updates the gate "
                             "forwarded or refused", ["outcome", "reason"], registry=runtime.metrics)
        self._skew = timedelta(seconds=skew_s)

    # --- records.submitted.v1 -----------------------------------------------------------------

    async def on_submitted(self, batch: Sequence[Incoming]) -> list[Refusal]:
        """Route a batch of new records: one decision each, all routes stored in one bulk
        insert, then every message sent. A record that already has a route (redelivered, or
        routed by another instance) gets no new decision, only a resend of what a crash may
        have left unsent; creating first saves a lookup per new record."""
        refused: list[Refusal] = []
        first: dict[str, Document] = {}
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
        created = await self._store.create_many(list(first.values()))
        routes = {code: route for code, route in first.items() if code in created}
        if len(created) < len(first):
            routes.update(await self._store.get_many(first.keys() - created))
        for code in created:
            self._decisions.labels(decision=_kind_of(first[code]["status"]),
                                   department=first[code]["department"]).inc()
        outgoing: list[Document] = []
        sending: set[tuple[str, str]] = set()
        for incoming in seen:  # each event's own messages, once, also for a repeat in the batch
            route = routes.get(incoming.envelope.record_id)
            if route is None or (route["_id"], incoming.envelope.id) in sending:
                continue
            sending.add((route["_id"], incoming.envelope.id))
            outgoing += [m for m in route["outbox"] if m.get("cause") == incoming.envelope.id]
        await self._send(outgoing, None)
        return refused

    def _first_route(self, incoming: Incoming, record: RecordSubmitted, table: RoutingTable,
                     now: datetime) -> Document:
        """A new record's route document, with the messages its decision produces."""
        try:
            procedure = self._catalog.get(record.procedure_code)
        except UnknownProcedure:
            raise PoisonMessage("unknown_procedure", f"procedure {record.procedure_code} is "
                                "not in routing's catalogue") from None
        unit = record.administrative_unit_code
        decision = route(RouteInput(procedure_code=procedure.code,
                                    agency_kind=procedure.agency_kind,
                                    handling_level=procedure.handling_level,
                                    administrative_unit_code=unit), table, self._units)
        kind: Kind = "manual" if decision.department_code == MANUAL_QUEUE else "routed"
        event_id = incoming.envelope.id
        messages = _caused_by(event_id, self._messages(
            record, decision, kind, now=now, attempt=1, version=table.version, previous=None,
            traceparent=incoming.traceparent))
        return {
            "_id": record.record_code, "record": record.model_dump(mode="json"),
            "procedure_code": procedure.code, "agency_kind": procedure.agency_kind,
            "handling_level": procedure.handling_level, "unit": unit,
            "department": decision.department_code, "attempt": 1,
            "returned_by": [], "candidates_left": list(decision.candidates_left),
            "table_version": table.version, "status": _status(kind),
            "stage": "assigned", "last_event_at": now,
            "applied": [event_id], "outbox": messages,
        }

    # --- updates.<department>.v1: the gate ---------------------------------------------------

    async def on_update(self, envelope: Envelope[Any], delivery: Delivery) -> None:
        """Check a department's update (the topic names the sender); forward it to the topic
        the other services trust, or tell the sender why not. Each answer is kept before it
        is sent, so a redelivered update gets the same answer."""
        sender = topics.sender_of(delivery.topic)
        if sender is None:
            raise PoisonMessage("not_an_inbound_topic", f"{delivery.topic} is no department's")
        update = envelope.data
        doc = None
        if isinstance(update, department.DepartmentUpdate):
            doc = await self._store.get(update.record_code)
            if doc is not None and envelope.id in doc["applied"]:
                await self._send(doc["outbox"], envelope.id)
                return
        kept = await self._store.refusal(sender, envelope.id)
        if kept is not None:
            await self._send([kept["message"]], None)
            return
        if not isinstance(update, department.DepartmentUpdate):
            await self._refuse(envelope, sender, GateRefusal(
                "unreadable", f"{envelope.type} is not a department update"))
            return
        holding = None if doc is None else _holding(doc)
        refusal = check(update, sender=sender, at=envelope.time, now=self._clock.now(),
                        holding=holding, skew=self._skew)
        if refusal is not None:
            await self._refuse(envelope, sender, refusal)
            return
        assert doc is not None and holding is not None
        forward = {**stored_message(topics.DEPARTMENT_UPDATES, envelope, envelope.traceparent).document(),
                   "cause": envelope.id}
        last = later(holding.last_event_at, envelope.time)
        if isinstance(update, department.RecordReturnedMisrouted):
            await self._bounce(doc, envelope.id, update.department_code, forward)
            return
        changes: dict[str, Any] = {"stage": stage_after(update, holding.stage), "last_event_at": last}
        if isinstance(update, CLOSING):
            changes["status"] = "closed"
        await self._store.apply(doc, envelope.id, changes, [forward])
        self._gate.labels(outcome="accepted", reason="").inc()
        await self._send([forward], envelope.id)

    async def _refuse(self, envelope: Envelope[Any], sender: str, refusal: GateRefusal) -> None:
        code = envelope.record_id
        refused = department.UpdateRefused(
            record_code=code, department_code=sender, refused_event_id=envelope.id,
            refused_event_type=envelope.type, reason=refusal.reason, detail=refusal.detail)
        feedback = Envelope.wrap(refused, source=SOURCE, time=self._clock.now(),
                                 id=_derived_id(f"refused:{sender}:{envelope.id}", 0),
                                 traceparent=envelope.traceparent)
        message = await self._store.refuse(
            sender, envelope.id, stored_message(topics.feedback_topic(sender), feedback).document())
        self._gate.labels(outcome="refused", reason=refusal.reason).inc()
        log.warning("department update refused", extra={
            "event_id": envelope.id, "event_type": envelope.type, "department": sender,
            "reason": refusal.reason})
        await self._send([message], None)

    async def _bounce(self, doc: dict[str, Any], event_id: str, returned_by: str,
                      forward: dict[str, Any]) -> None:
        table = self._versions.current
        attempt = int(doc["attempt"]) + 1
        decision = next_candidate(tuple(doc["candidates_left"]), returned_by, attempt,
                                  self._max_bounces, table)
        kind: Kind = "manual" if decision.department_code == MANUAL_QUEUE else "rerouted"
        record = RecordSubmitted.model_validate(doc["record"])
        now = self._clock.now()
        messages = [forward, *_caused_by(event_id, self._messages(
            record, decision, kind, now=now, attempt=attempt, version=table.version,
            previous=returned_by))]
        await self._store.apply(doc, event_id, {
            "department": decision.department_code, "attempt": attempt,
            "returned_by": [*doc["returned_by"], returned_by],
            "candidates_left": list(decision.candidates_left), "status": _status(kind),
            "stage": "assigned", "last_event_at": later(doc.get("last_event_at"), now),
        }, messages)
        self._gate.labels(outcome="accepted", reason="").inc()
        self._decisions.labels(decision=kind, department=decision.department_code).inc()
        await self._send(messages, event_id)

    # --- a new table version ------------------------------------------------------------------

    async def recover(self) -> int:
        """Send what a crash during a reorganisation left unsent (no Kafka message will be
        redelivered for those)."""
        count = 0
        async for doc in self._store.unsent():
            for step in {m["cause"] for m in doc["outbox"] if m["cause"].startswith(REORG)}:
                await self._send(doc["outbox"], step)
            await self._store.mark_sent(doc["_id"])
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
        moved = 0
        async for found in self._store.held_by(dissolved):
            doc: dict[str, Any] | None = found
            while doc is not None and doc["department"] in dissolved and step not in doc["applied"]:
                try:
                    await self._move(doc, table, step)
                    moved += 1
                    break
                except StateChanged:  # a department's update got there first: read it again
                    doc = await self._store.get(doc["_id"])
        if moved:
            log.info("records moved after a reorganisation",
                     extra={"table_version": table.version, "records": moved})
        return moved

    async def _move(self, doc: dict[str, Any], table: RoutingTable, step: str) -> None:
        """One record off a dissolved department, to its successor."""
        successor = successor_for(doc["department"], doc["unit"], table, self._units)
        kind: Kind = "manual" if successor == MANUAL_QUEUE else "rerouted"
        decision = Decision(department_code=successor, candidates_left=(),
                            rule_id="reorganisation",
                            reason=f"{doc['department']} dissolved in table "
                                   f"v{table.version}; successor {successor}")
        record = RecordSubmitted.model_validate(doc["record"])
        now = self._clock.now()
        messages = _caused_by(step, self._messages(
            record, decision, kind, now=now, attempt=int(doc["attempt"]) + 1,
            version=table.version, previous=doc["department"],
            ids_from=f"{record.record_code}:{step}"))
        await self._store.apply(doc, step, {
            "department": successor, "attempt": int(doc["attempt"]) + 1,
            "candidates_left": [], "table_version": table.version, "status": _status(kind),
            "stage": "assigned", "last_event_at": later(doc.get("last_event_at"), now),
            "unsent": True,
        }, messages)
        self._decisions.labels(decision=kind, department=successor).inc()
        await self._send(messages, step)
        await self._store.mark_sent(doc["_id"])

    # --- messages -----------------------------------------------------------------------------

    def _messages(self, record: RecordSubmitted, decision: Decision, kind: Kind, *,
                  now: datetime, attempt: int, version: int, previous: str | None,
                  ids_from: str | None = None,
                  traceparent: str | None = None) -> list[dict[str, Any]]:
        code = decision.department_code
        assigned = RecordAssigned(record=AssignedRecord.of(record), department_code=code,
                                             attempt=attempt, rule_version=version, routed_at=now)
        routed = RecordRouted(
            record_code=record.record_code, procedure_code=record.procedure_code,
            department_code=code, department_topic=topics.department_topic(code),
            decision=kind, reason=decision.reason, rule_version=version, attempt=attempt,
            candidates_left=decision.candidates_left, previous_department_code=previous,
            administrative_unit_code=record.administrative_unit_code)
        ids = [_derived_id(ids_from, n) if ids_from else None for n in range(2)]
        return [
            stored_message(topics.department_topic(code), Envelope.wrap(
                assigned, source=SOURCE, time=now, id=ids[0]), traceparent).document(),
            stored_message(topics.RECORDS_ROUTED, Envelope.wrap(
                routed, source=SOURCE, time=now, id=ids[1]), traceparent).document(),
        ]

    async def _send(self, outbox: list[dict[str, Any]], cause: str | None) -> None:
        """Send the stored messages one event caused (all of them for None), and wait until
        Kafka has them. A department's first assignment creates its three topics (those of
        a batch's new departments in one request)."""
        messages = [m for m in outbox if cause is None or m.get("cause") == cause]
        needed: dict[str, None] = {}
        for topic in dict.fromkeys(message["topic"] for message in messages):
            owner = topics.owner_of(topic)
            needed.update(dict.fromkeys(
                topics.department_topics(owner) if owner is not None else (topic,)))
        if needed:
            await self._runtime.ensure_topic(*needed)
        await self._runtime.stored_sender.send([StoredMessage.from_document(m) for m in messages])


def _caused_by(cause: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**message, "cause": cause} for message in messages]


def _derived_id(seed: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-routing:{seed}:{n}"))


def _poison(error: ContractError | PoisonMessage) -> PoisonMessage:
    if isinstance(error, PoisonMessage):
        return error
    return PoisonMessage(error.reason, str(error))


def _kind_of(status: str) -> Kind:
    return "manual" if status == "manual" else "routed"


def _holding(doc: dict[str, Any]) -> Holding:
    return Holding(department_code=doc["department"], stage=doc.get("stage"),
                   last_event_at=doc.get("last_event_at"))


def _status(kind: Kind) -> str:
    return "manual" if kind == "manual" else "routed"
