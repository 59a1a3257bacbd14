"""The use cases behind the HTTP API: submit an application, look a record up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter

from contracts import topics
from contracts.envelope import Envelope, encode
from reference.calendar import WorkingCalendar
from reference.catalog import Catalog
from reference.localtime import to_local
from reference.units import Units
from services.runtime.clock import Clock
from services.runtime.problems import Problem

from .api_models import ApplicationIn, RecordOut, SubmissionOut
from .domain import SequenceExhausted, assess, due, fingerprint, format_record_code, receipt, submitted_event
from .relay import OutboxRelay
from .store import RecordStore, Stored, outbox_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    response: SubmissionOut
    replayed: bool


class Applications:
    def __init__(self, store: RecordStore, relay: OutboxRelay, catalog: Catalog, units: Units,
                 calendar: WorkingCalendar, clock: Clock, metrics: CollectorRegistry) -> None:
        self._store = store
        self._relay = relay
        self._catalog = catalog
        self._units = units
        self._calendar = calendar
        self._clock = clock
        self._received = Counter("motcua_applications_received", "applications accepted",
                                 ["channel"], registry=metrics)
        self._rejected = Counter("motcua_applications_rejected", "applications refused",
                                 ["reason"], registry=metrics)
        self._replayed = Counter("motcua_applications_replayed",
                                 "retries answered from the idempotency key", registry=metrics)

    def rejected(self, reason: str) -> None:
        self._rejected.labels(reason=reason).inc()

    async def submit(self, application: ApplicationIn, key: str) -> Submitted:
        digest = fingerprint(application)
        stored = await self._store.find_by_key(key)
        if stored is not None:
            return self._replay(stored, digest)
        assessment = assess(application, self._catalog, self._units)
        if assessment.problems:
            for problem in assessment.problems:
                self.rejected(problem.code)
            raise Problem(422, "catalogue-violation", "Application cannot be accepted",
                          f"{len(assessment.problems)} problem(s) with the application.",
                          assessment.problems)
        assert assessment.procedure is not None and assessment.receiving_unit is not None
        received_at = self._clock.now()
        when = due(assessment.procedure, received_at, self._calendar)
        unit = assessment.receiving_unit
        day = to_local(received_at).date()
        try:
            code = format_record_code(unit.code, day, await self._store.next_sequence(unit.code, day))
        except SequenceExhausted:
            self.rejected("sequence_exhausted")
            raise Problem(503, "sequence-exhausted", "Receiving unit full for today",
                          "This receiving unit has issued 9,999 record codes today.") from None
        event = submitted_event(application, assessment, code, when, self._calendar)
        envelope = Envelope.wrap(event, source="/motcua/intake", time=received_at)
        response = SubmissionOut(record_code=code, received_at=received_at,
                                 appointment=when.due_at, receipt=receipt(event, when, unit))
        span = trace.get_current_span()
        span.set_attribute("motcua.record_id", code)
        traceparent = _traceparent(span)
        record = {
            "_id": code, "idempotency_key": key, "fingerprint": digest,
            "procedure_code": event.procedure_code, "status": "received",
            "status_at": received_at, "received_at": received_at,
            "appointment_original": when.due_at, "appointment_current": when.due_at,
            "department_code": None,
            "application": application.model_dump(mode="json"),
            "response": response.model_dump(mode="json"),
            "history": [{"event_id": envelope.id, "event_type": envelope.type,
                         "at": received_at, "status": "received",
                         "summary": "received; receipt issued"}],
            "applied_events": [envelope.id],
            "outbox": [outbox_entry(1, topics.RECORDS_SUBMITTED, encode(envelope), traceparent)],
            "outbox_last_seq": 1, "outbox_sent_through": 0, "outbox_pending": True,
            "outbox_lease_until": received_at.replace(year=1970),
        }
        raced = await self._store.insert(record)
        if raced is not None:
            return self._replay(raced, digest)
        self._relay.wake()
        self._received.labels(channel=application.channel).inc()
        log.info("application accepted", extra={"record_id": code,
                                                "procedure": event.procedure_code})
        return Submitted(response, replayed=False)

    def _replay(self, stored: Stored, digest: str) -> Submitted:
        if stored.fingerprint != digest:
            self.rejected("idempotency_conflict")
            raise Problem(409, "idempotency-conflict", "Idempotency key reused",
                          "This Idempotency-Key was used for a different application.")
        self._replayed.inc()
        return Submitted(SubmissionOut.model_validate(stored.response), replayed=True)

    async def record(self, code: str) -> RecordOut:
        doc = await self._store.get(code)
        if doc is None:
            raise Problem(404, "unknown-record", "No such record",
                          f"No record has the code {code}.")
        return RecordOut(
            record_code=doc["_id"], procedure_code=doc["procedure_code"], status=doc["status"],
            received_at=doc["received_at"], appointment_original=doc["appointment_original"],
            appointment_current=doc["appointment_current"],
            department_code=doc.get("department_code"),
            history=sorted(doc["history"], key=lambda entry: entry["at"]))


def _traceparent(span: Any) -> str | None:
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
