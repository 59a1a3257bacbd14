"""Appointments at the edge of the shipped calendars: provisional years said, missing ones refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import decode
from contracts.records.v1 import RecordSubmitted
from reference.localtime import VIETNAM
from services.runtime.clock import MovableClock
from tests.endpoints import Endpoints
from tests.integration.intake.conftest import Intake
from tests.kafka_io import read_topic

pytestmark = pytest.mark.integration

TEN_DAYS = "9.000010.000.00.00.H40"


def clock_of(intake: Intake) -> MovableClock:
    clock = intake.runtime.clock
    assert isinstance(clock, MovableClock)
    return clock


async def test_an_appointment_in_the_provisional_year_is_marked_on_the_receipt_and_event(
    intake: Intake, make_application: Callable[..., dict[str, Any]], endpoints: Endpoints
) -> None:
    before = await intake.submit(make_application(TEN_DAYS))
    assert before.status_code == 201 and before.json()["appointment_provisional"] is False
    clock_of(intake).set(datetime(2026, 12, 21, 9, 0, tzinfo=VIETNAM))
    response = await intake.submit(make_application(TEN_DAYS))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["appointment"].startswith("2027-01-05T17:00")
    assert answer["appointment_provisional"] is True
    receipt = answer["receipt"]
    assert receipt["appointment_provisional"] is True
    assert [line[:9] for line in receipt["appointment_notice"]] == ["Ngày hẹn ", "The appoi"]
    tracked = (await intake.client.get(f"/records/{answer['record_code']}")).json()
    assert tracked["appointment_provisional"] is True
    records = await read_topic(endpoints.kafka,
                               intake.settings.topic(topics.RECORDS_SUBMITTED), count=2)
    flags = {event.data.record_code: event.data.appointment_provisional for event in
             (decode(r.key, r.value, r.headers).narrow(RecordSubmitted) for r in records)}
    assert flags == {before.json()["record_code"]: False, answer["record_code"]: True}


async def test_an_appointment_in_a_year_without_a_calendar_is_refused_and_nothing_kept(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    clock_of(intake).set(datetime(2027, 12, 27, 9, 0, tzinfo=VIETNAM))  # + 10 working days: 2028
    response = await intake.submit(make_application(TEN_DAYS))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("calendar-not-covered") and "2028" in problem["detail"]
    assert await intake.count_records() == 0
    ready = (await intake.client.get("/health/ready")).json()
    assert ready["status"] == "ready"
    assert [(n["year"], n["status"]) for n in ready["notices"]] == [(2028, "missing")]
