"""What intake's record store promises, whatever keeps it: run against the in-memory fake
(`tests/unit/intake/test_store_behaviour.py`) and MongoDB
(`tests/integration/intake/test_store_behaviour.py`)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts import topics
from contracts.envelope import Envelope
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from reference.localtime import to_local
from reference.units import load_units
from services.intake.domain import (
    Application,
    HistoryEntry,
    Submission,
    TrackingChange,
    assess,
    due,
    fingerprint,
    format_record_code,
    receipt,
    submitted_event,
)
from services.intake.examples import application
from services.intake.ports import Record, RecordStore
from services.runtime.outbox import stored_message
from services.runtime.relay import Pending

CATALOG, UNITS, CALENDAR = load_catalog(), load_units(), load_calendar()
RECEIVED = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
DAY = date(2026, 11, 24)


def new_record(sequence: int, key: str | None = None, seed: int = 1) -> Record:
    """A record as intake builds it, from a generated application."""
    app = Application.model_validate(
        application(CATALOG.get("9.000003.000.00.00.H40"), UNITS, random.Random(seed)))
    assessment = assess(app, CATALOG, UNITS)
    assert assessment.procedure is not None and assessment.receiving_unit is not None
    when = due(assessment.procedure, RECEIVED, CALENDAR)
    code = format_record_code(assessment.receiving_unit.code, DAY, sequence)
    event = submitted_event(app, assessment, code, when, CALENDAR)
    envelope = Envelope.wrap(event, source="/motcua/intake", time=RECEIVED)
    submission = Submission(record_code=code, received_at=to_local(RECEIVED),
                            appointment=when.due_at, appointment_provisional=when.provisional,
                            receipt=receipt(event, when, assessment.receiving_unit))
    return Record(code=code, idempotency_key=key or f"key-{code}", fingerprint=fingerprint(app),
                  procedure_code=event.procedure_code, received_at=RECEIVED,
                  submitted_event_id=envelope.id, appointment_original=when.due_at,
                  appointment_provisional=when.provisional, application=app,
                  submission=submission,
                  outbox=(stored_message(topics.RECORDS_SUBMITTED, envelope, "00-ab-cd-01"),))


def entry(event_id: str, minutes: int, change: TrackingChange) -> HistoryEntry:
    return HistoryEntry(event_id, "vn.motcua.department.record.accepted",
                        RECEIVED + timedelta(minutes=minutes), change)


PAST = RECEIVED  # a lease that ended long ago
FUTURE = datetime.now(UTC) + timedelta(hours=1)


class RecordStoreBehaviour:
    """Subclasses give the `store` fixture."""

    @pytest.fixture
    def store(self) -> RecordStore:
        raise NotImplementedError

    async def test_a_unit_day_counts_from_one_and_stops_at_its_limit(
            self, store: RecordStore) -> None:
        assert [await store.claim_sequence("U1", DAY, 3) for _ in range(4)] == [1, 2, 3, None]
        assert await store.claim_sequence("U2", DAY, 3) == 1
        assert await store.claim_sequence("U1", DAY + timedelta(days=1), 3) == 1

    async def test_concurrent_claims_never_share_a_number(self, store: RecordStore) -> None:
        got = await asyncio.gather(*(store.claim_sequence("U3", DAY, 9999) for _ in range(25)))
        assert sorted(n for n in got if n is not None) == list(range(1, 26))

    async def test_concurrent_claims_of_several_units_each_count_on_and_stop_at_the_limit(
            self, store: RecordStore) -> None:
        claims = [("U4", 5)] * 8 + [("U5", 5)] * 3 + [("U4", 5)] * 2
        random.Random(4).shuffle(claims)
        got = await asyncio.gather(*(store.claim_sequence(unit, DAY, limit)
                                     for unit, limit in claims))
        by_unit: dict[str, list[int | None]] = {"U4": [], "U5": []}
        for (unit, _), number in zip(claims, got, strict=True):
            by_unit[unit].append(number)
        assert sorted(n for n in by_unit["U4"] if n is not None) == [1, 2, 3, 4, 5]
        assert by_unit["U4"].count(None) == 5
        assert sorted(n for n in by_unit["U5"] if n is not None) == [1, 2, 3]

    async def test_concurrent_inserts_store_each_record_once_and_replay_a_shared_key(
            self, store: RecordStore) -> None:
        distinct = [new_record(n, seed=n) for n in range(1, 11)]
        shared = [new_record(n, key="shared", seed=n) for n in range(11, 14)]
        answers = await asyncio.gather(*(store.insert(record, FUTURE)
                                         for record in [*distinct, *shared]))
        assert answers[:10] == [None] * 10
        assert answers[10:].count(None) == 1
        winner = shared[answers[10:].index(None)]
        assert all(answer.submission.record_code == winner.code
                   for answer in answers[10:] if answer is not None)
        found = await asyncio.gather(*(store.find_by_key(key) for key in
                                       [r.idempotency_key for r in distinct] + ["shared", "none"]))
        assert [f.submission.record_code if f else None for f in found] == [
            *(r.code for r in distinct), winner.code, None]

    async def test_a_record_is_found_by_its_key_with_its_answer(self, store: RecordStore) -> None:
        record = new_record(1)
        assert await store.find_by_key(record.idempotency_key) is None
        assert await store.insert(record, FUTURE) is None
        found = await store.find_by_key(record.idempotency_key)
        assert found is not None
        assert found.fingerprint == record.fingerprint
        assert found.submission == record.submission

    async def test_a_key_used_twice_keeps_the_first_record_only(self, store: RecordStore) -> None:
        first, second = new_record(1, key="same"), new_record(2, key="same", seed=2)
        assert await store.insert(first, FUTURE) is None
        raced = await store.insert(second, FUTURE)
        assert raced is not None and raced.submission.record_code == first.code
        assert await store.tracked(second.code) is None
        assert await store.unsent_messages(second.code) == []

    async def test_the_tracking_view_reads_what_was_stored(self, store: RecordStore) -> None:
        record = new_record(1)
        await store.insert(record, FUTURE)
        tracked = await store.tracked(record.code)
        assert tracked is not None
        assert (tracked.code, tracked.procedure_code, tracked.submitted_event_id) == (
            record.code, record.procedure_code, record.submitted_event_id)
        assert tracked.received_at == record.received_at
        assert tracked.appointment_original == record.appointment_original
        assert tracked.appointment_provisional == record.appointment_provisional
        assert tracked.tracking == ()
        assert await store.tracked("000.00.21.H40-200101-0001") is None

    async def test_tracking_entries_are_added_once_in_order_and_strangers_named(
            self, store: RecordStore) -> None:
        record = new_record(1)
        await store.insert(record, FUTURE)
        routed = entry("e1", 1, TrackingChange("transferred", "to CA", moves_department=True,
                                               department_code="CA-TINH"))
        late = entry("e2", 2, TrackingChange(None, "late",
                                             appointment_current=RECEIVED + timedelta(days=9)))
        manual = entry("e3", 3, TrackingChange("awaiting_manual_routing", "manual",
                                               moves_department=True))
        stranger = "000.00.21.H40-200101-0001"
        unknown = await store.add_tracking([(record.code, routed), (stranger, late),
                                            (record.code, late), (record.code, routed)])
        assert unknown == {stranger}
        assert await store.add_tracking([(record.code, manual), (record.code, late)]) == set()
        tracked = await store.tracked(record.code)
        assert tracked is not None and tracked.tracking == (routed, late, manual)

    async def test_the_outbox_gives_unsent_events_until_they_are_recorded_sent(
            self, store: RecordStore) -> None:
        record = new_record(1)
        await store.insert(record, FUTURE)
        unsent = await store.unsent_messages(record.code)
        assert unsent == [Pending((record.code, 1), record.outbox[0])]
        await store.record_sent([m.key for m in unsent])
        assert await store.unsent_messages(record.code) == []
        assert await store.unsent_messages("000.00.21.H40-200101-0001") == []

    async def test_a_stale_record_is_leased_to_one_sweep_at_a_time(self, store: RecordStore) -> None:
        stale, leased, sent = new_record(1), new_record(2, seed=2), new_record(3, seed=3)
        await store.insert(stale, PAST)
        await store.insert(leased, FUTURE)
        await store.insert(sent, PAST)
        await store.record_sent([m.key for m in await store.unsent_messages(sent.code)])
        first, second = await asyncio.gather(store.stale_pending(10, timedelta(minutes=5)),
                                             store.stale_pending(10, timedelta(minutes=5)))
        assert sorted([*first, *second]) == [stale.code]
        assert await store.stale_pending(10, timedelta(minutes=5)) == []

    async def test_the_sweep_takes_at_most_its_limit(self, store: RecordStore) -> None:
        records = [new_record(n, seed=n) for n in range(1, 6)]
        for record in records:
            await store.insert(replace(record), PAST)
        taken = await store.stale_pending(3, timedelta(minutes=5))
        assert len(taken) == 3
        rest = await store.stale_pending(10, timedelta(minutes=5))
        assert sorted([*taken, *rest]) == sorted(r.code for r in records)
