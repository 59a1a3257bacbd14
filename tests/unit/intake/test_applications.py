"""Intake's use cases over the in-memory store and the runtime relay: what a submission stores
and hands to the relay, how a retry and a conflicting reuse of its key are answered, and what a
receiving unit's 10,000th application of a day gets."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import decode
from contracts.records.v1 import RecordSubmitted
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from reference.localtime import to_local
from reference.units import load_units
from services.intake.applications import Applications
from services.intake.domain import MAX_DAILY_SEQUENCE, Application, lookup_secret_matches, unit_day
from services.intake.examples import application
from services.intake.outbox import RecordOutbox
from services.runtime.outbox import StoredMessage
from services.runtime.problems import Problem
from services.runtime.relay import OutboxRelay
from tests.fakes.intake import InMemoryRecordStore

CATALOG, UNITS, CALENDAR = load_catalog(), load_units(), load_calendar()
NOW = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # a Tuesday morning in Hanoi time
KEY = b"k" * 32


class FixedClock:
    def now(self) -> datetime:
        return NOW


class Sent:
    def __init__(self) -> None:
        self.messages: list[StoredMessage] = []

    async def __call__(self, messages: Sequence[StoredMessage]) -> None:
        self.messages.extend(messages)


class Intake:
    def __init__(self) -> None:
        self.store, self.sent, self.metrics = InMemoryRecordStore(), Sent(), CollectorRegistry()
        outbox = RecordOutbox(self.store, timedelta(seconds=30))
        self.relay = OutboxRelay(outbox, self.sent, self.metrics)
        self.applications = Applications(self.store, self.relay, outbox.lease, CATALOG, UNITS,
                                         CALENDAR, FixedClock(), self.metrics, [KEY])


def body(seed: int = 1, **overrides: Any) -> Application:
    raw = application(CATALOG.get("9.000003.000.00.00.H40"), UNITS, random.Random(seed))
    return Application.model_validate({**raw, **overrides})


@pytest.fixture
def intake() -> Intake:
    return Intake()


async def test_a_submission_is_stored_with_its_event_and_handed_to_the_relay(intake: Intake) -> None:
    submitted = await intake.applications.submit(body(), "key-1")
    code = submitted.response.record_code
    assert not submitted.replayed
    assert lookup_secret_matches(KEY, code, submitted.response.receipt.lookup_secret or "")
    assert submitted.response.received_at == to_local(NOW)
    assert intake.relay.backlog == 1
    assert await intake.relay.sweep() == 0  # leased to this process: no sweep takes it
    unsent = await intake.store.unsent_messages(code)
    assert [m.key for m in unsent] == [(code, 1)]
    event = decode(unsent[0].message.key, unsent[0].message.value, unsent[0].message.headers)
    data = event.narrow(RecordSubmitted).data
    assert data.record_code == code and data.procedure_code == "9.000003.000.00.00.H40"
    tracked = await intake.applications.record(code)
    assert tracked.status == "received" and tracked.record_code == code


async def test_a_retry_gets_the_same_receipt_and_a_reused_key_a_conflict(intake: Intake) -> None:
    first = await intake.applications.submit(body(1), "key-1")
    again = await intake.applications.submit(body(1), "key-1")
    assert again.replayed and again.response == first.response
    assert intake.relay.backlog == 1  # nothing new to publish
    with pytest.raises(Problem) as conflict:
        await intake.applications.submit(body(2), "key-1")
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency-conflict")


async def test_an_application_the_catalogue_refuses_stores_nothing(intake: Intake) -> None:
    wrong = body(1, procedure_code="0.000000.000.00.00.H40")
    with pytest.raises(Problem) as refused:
        await intake.applications.submit(wrong, "key-1")
    assert refused.value.status == 422 and refused.value.code == "catalogue-violation"
    assert await intake.store.find_by_key("key-1") is None and intake.relay.backlog == 0


async def test_a_units_10000th_application_of_a_day_is_refused_with_a_clear_503(
        intake: Intake) -> None:
    """Circular 01/2018 gives a unit four digits a day: the 9,999th code is the last."""
    app = body(1)
    unit = app.receiving_unit_code
    day = to_local(NOW).date()
    intake.store._counters[unit_day(unit, day)] = MAX_DAILY_SEQUENCE - 1
    last = await intake.applications.submit(app, "key-9999")
    assert last.response.record_code.endswith("-9999")
    with pytest.raises(Problem) as full:
        await intake.applications.submit(app, "key-10000")
    assert (full.value.status, full.value.code) == (503, "sequence-exhausted")
    assert await intake.store.find_by_key("key-10000") is None
