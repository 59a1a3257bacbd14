"""The use cases behind the HTTP API: submit an application, look a record up."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter

from contracts import topics
from contracts.envelope import Envelope
from reference.calendar import WorkingCalendar
from reference.catalog import Catalog
from reference.errors import YearNotCovered
from reference.localtime import to_local
from reference.units import Units
from services.runtime.clock import Clock
from services.runtime.outbox import stored_message
from services.runtime.problems import Problem
from services.runtime.relay import OutboxRelay, Pending
from services.runtime.telemetry import current_traceparent

from .api_models import HistoryEntryOut, RecordOut
from .domain import (
    MAX_DAILY_SEQUENCE,
    Application,
    Submission,
    assess,
    due,
    fingerprint,
    fold,
    format_record_code,
    lookup_secret,
    lookup_secret_matches,
    receipt,
    received_entry,
    submitted_event,
)
from .ports import MessageKey, Record, RecordStore, Replay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    response: Submission
    replayed: bool


def unknown_record(code: str, by_secret: bool) -> Problem:
    """Looked up with a lookup secret, an unknown code and a wrong secret answer alike."""
    return Problem(404, "unknown-record", "No such record",
                   "No record matches this code and lookup secret." if by_secret
                   else f"No record has the code {code}.")


class Applications:
    def __init__(self, store: RecordStore, relay: OutboxRelay[MessageKey], lease: timedelta,
                 catalog: Catalog, units: Units,
                 calendar: WorkingCalendar, clock: Clock, metrics: CollectorRegistry,
                 lookup_keys: Sequence[bytes]) -> None:
        self._lookup_keys = tuple(lookup_keys)
        """The current key (receipts are issued under it) first, then the retired ones."""
        self._lookup_key = self._lookup_keys[0]
        self._store = store
        self._relay = relay
        self._lease = lease
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

    async def submit(self, application: Application, key: str) -> Submitted:
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
        try:
            when = due(assessment.procedure, received_at, self._calendar)
        except YearNotCovered as error:
            self.rejected("calendar_not_covered")
            log.error("no working calendar for the appointment", extra={"year": error.year})
            raise Problem(503, "calendar-not-covered", "Appointment cannot be computed",
                          f"No working calendar is installed for {error.year}; the receipt's "
                          "appointment cannot be counted. Try again once it is.") from None
        unit = assessment.receiving_unit
        day = to_local(received_at).date()
        sequence = await self._store.claim_sequence(unit.code, day, MAX_DAILY_SEQUENCE)
        if sequence is None:
            self.rejected("sequence_exhausted")
            raise Problem(503, "sequence-exhausted", "Receiving unit full for today",
                          f"This receiving unit has issued {MAX_DAILY_SEQUENCE} record codes today.")
        code = format_record_code(unit.code, day, sequence)
        event = submitted_event(application, assessment, code, when, self._calendar)
        envelope = Envelope.wrap(event, source="/motcua/intake", time=received_at)
        response = Submission(record_code=code, received_at=to_local(received_at),
                                 appointment=when.due_at, appointment_provisional=when.provisional,
                                 receipt=receipt(event, when, unit))
        span = trace.get_current_span()
        span.set_attribute("motcua.record_id", code)
        traceparent = current_traceparent()
        submitted = stored_message(topics.RECORDS_SUBMITTED, envelope, traceparent)
        record = Record(
            code=code, idempotency_key=key, fingerprint=digest,
            procedure_code=event.procedure_code, received_at=received_at,
            submitted_event_id=envelope.id, appointment_original=when.due_at,
            appointment_provisional=when.provisional, application=application,
            submission=response, outbox=(submitted,))
        # this process publishes it; other relays' sweeps leave it alone for the lease (leases
        # run on real time, as the sweeps compare them with it, whatever the service clock says)
        raced = await self._store.insert(record, datetime.now(UTC) + self._lease)
        if raced is not None:
            return self._replay(raced, digest)
        self._relay.enqueue([Pending((code, 1), submitted)])
        self._received.labels(channel=application.channel).inc()
        log.debug("application accepted", extra={"record_id": code,
                                                "procedure": event.procedure_code})
        return Submitted(self._with_secret(response), replayed=False)

    def _with_secret(self, response: Submission) -> Submission:
        secret = lookup_secret(self._lookup_key, response.record_code)
        return response.model_copy(update={
            "receipt": response.receipt.model_copy(update={"lookup_secret": secret})})

    def secret_matches(self, code: str, given: str) -> bool:
        """Under the current key or a retired one: a receipt outlives a key rotation."""
        return any(lookup_secret_matches(key, code, given) for key in self._lookup_keys)

    def _replay(self, stored: Replay, digest: str) -> Submitted:
        if stored.fingerprint != digest:
            self.rejected("idempotency_conflict")
            raise Problem(409, "idempotency-conflict", "Idempotency key reused",
                          "This Idempotency-Key was used for a different application.")
        self._replayed.inc()
        return Submitted(self._with_secret(stored.submission), replayed=True)

    async def record(self, code: str, by_secret: bool = False) -> RecordOut:
        found = await self._store.tracked(code)
        if found is None:
            raise unknown_record(code, by_secret)
        tracking = fold(found.appointment_original,
                        [received_entry(found.submitted_event_id, found.received_at),
                         *found.tracking])
        return RecordOut(
            record_code=code, procedure_code=found.procedure_code, status=tracking.status,
            received_at=to_local(found.received_at),
            appointment_original=to_local(found.appointment_original),
            appointment_current=to_local(tracking.appointment_current),
            appointment_provisional=found.appointment_provisional,
            department_code=tracking.department_code,
            history=[HistoryEntryOut(at=to_local(entry.at), event_type=entry.event_type,
                                     status=entry.change.status, summary=entry.change.summary)
                     for entry in tracking.history],
            trace_id=None if by_secret else found.trace_id)
