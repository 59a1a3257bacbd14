"""Submitting applications: receipt, record code, the event on Kafka, tracking, idempotency."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import decode
from contracts.records.v1 import RecordSubmitted
from tests.endpoints import Endpoints
from tests.integration.intake.conftest import Intake
from tests.kafka_io import read_topic

pytestmark = pytest.mark.integration


async def test_accepted_application_gets_receipt_and_its_event_is_published(
    intake: Intake, make_application: Callable[..., dict[str, Any]], endpoints: Endpoints
) -> None:
    body = make_application("9.000003.000.00.00.H40")
    response = await intake.submit(body)
    assert response.status_code == 201, response.text
    answer = response.json()
    code = answer["record_code"]
    assert re.fullmatch(re.escape(body["receiving_unit_code"]) + r"-[0-9]{6}-0001", code)
    receipt = answer["receipt"]
    assert receipt["form"] == "01" and receipt["record_code"] == code
    assert receipt["processing_days"] == 7
    assert receipt["appointment"] == answer["appointment"]

    records = await read_topic(endpoints.kafka,
                               intake.settings.topic(topics.RECORDS_SUBMITTED), count=1)
    event = decode(records[0].key, records[0].value, records[0].headers).narrow(RecordSubmitted)
    assert records[0].key == code.encode()
    assert event.data.record_code == code
    assert event.data.channel == "online" and event.data.online_level == "full"
    assert event.data.processing_days == 7
    assert event.data.appointment_original == event.data.appointment_current
    assert event.data.appointment_original.isoformat() == answer["appointment"]
    assert event.data.paid_online is body["paid_online"]
    assert event.data.receiving_unit_code == body["receiving_unit_code"]
    assert len(event.data.documents) == len(body["documents"])

    tracking = (await intake.client.get(f"/records/{code}")).json()
    assert tracking["status"] == "received"
    assert [entry["event_type"] for entry in tracking["history"]] == ["vn.motcua.record.submitted"]


async def test_same_key_same_body_returns_the_same_record_and_publishes_once(
    intake: Intake, make_application: Callable[..., dict[str, Any]], endpoints: Endpoints
) -> None:
    body = make_application()
    first = await intake.submit(body, key="portal-42")
    again = await intake.submit(body, key="portal-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    changed = await intake.submit({**body, "reused_data": not body["reused_data"]}, key="portal-42")
    assert changed.status_code == 409
    assert changed.json()["type"] == "urn:motcua:problem:idempotency-conflict"
    assert await intake.count_records() == 1
    topic = intake.settings.topic(topics.RECORDS_SUBMITTED)
    await read_topic(endpoints.kafka, topic, count=1)
    with pytest.raises(AssertionError, match="expected 2 records"):
        await read_topic(endpoints.kafka, topic, count=2, timeout=3)


async def test_parallel_submissions_to_one_unit_get_distinct_consecutive_codes(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    template = make_application()
    responses = await asyncio.gather(*(intake.submit(template) for _ in range(25)))
    assert [r.status_code for r in responses] == [201] * 25
    codes = [r.json()["record_code"] for r in responses]
    assert len(set(codes)) == 25
    assert sorted(int(code[-4:]) for code in codes) == list(range(1, 26))


async def test_parallel_retries_with_one_key_create_one_record(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    body = make_application()
    responses = await asyncio.gather(*(intake.submit(body, key="same-key") for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["record_code"] for r in responses}) == 1
    assert await intake.count_records() == 1


async def test_unknown_record_is_a_404_problem(intake: Intake) -> None:
    response = await intake.client.get("/records/000.00.21.H40-261124-9999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
