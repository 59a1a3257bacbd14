"""The tracking page follows what other services say about a record, once per event, in event time."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.department.v1 import RecordAccepted
from contracts.envelope import Envelope, EventPayload, headers_dict
from contracts.records.v1 import RecordRouted
from contracts.sla.v1 import ApologyDue
from services.intake.app import create_app
from services.intake.domain import lookup_secret
from services.intake.settings import IntakeSettings
from tests.endpoints import Endpoints
from tests.integration.intake.conftest import Intake
from tests.kafka_io import read_topic

pytestmark = pytest.mark.integration


async def _publish(intake: Intake, payload: EventPayload, at: datetime,
                   event_id: str | None = None) -> Envelope[Any]:
    envelope = Envelope.wrap(payload, source="/motcua/test", time=at, id=event_id)
    await intake.runtime.publisher.publish(envelope)
    return envelope


async def _until(intake: Intake, code: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = (await intake.client.get(f"/records/{code}")).json()
            if check(body):
                return body
            await asyncio.sleep(0.2)


async def test_later_events_move_status_and_appointment_and_duplicates_count_once(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    answer = (await intake.submit(make_application())).json()
    code = answer["record_code"]
    now = intake.runtime.clock.now()
    accepted = RecordAccepted(record_code=code, department_code="CA-TINH")
    routed = RecordRouted(record_code=code, procedure_code="9.000003.000.00.00.H40",
                          department_code="CA-TINH", department_topic="routed.CA-TINH.v1",
                          decision="routed", reason="rule 12", rule_version=1, attempt=1,
                          candidates_left=(), administrative_unit_code="16681")
    # accepted arrives first although it happened after routing, and twice
    first = await _publish(intake, accepted, now + timedelta(seconds=2))
    await _publish(intake, accepted, now + timedelta(seconds=2), event_id=first.id)
    await _publish(intake, routed, now + timedelta(seconds=1))
    new_date = datetime.fromisoformat(answer["appointment"]) + timedelta(days=3)
    await _publish(intake, ApologyDue(
        record_code=code, department_code="CA-TINH", procedure_code="9.000003.000.00.00.H40",
        due_at=datetime.fromisoformat(answer["appointment"]), reason="chờ xác minh",
        appointment_original=datetime.fromisoformat(answer["appointment"]),
        new_appointment=new_date), now + timedelta(seconds=3))

    body = await _until(intake, code, lambda b: len(b["history"]) == 4)
    assert body["status"] == "processing"
    assert body["department_code"] == "CA-TINH"
    assert datetime.fromisoformat(body["appointment_current"]) == new_date
    assert body["appointment_original"] != body["appointment_current"]
    assert [e["event_type"] for e in body["history"]] == [
        "vn.motcua.record.submitted", "vn.motcua.record.routed",
        "vn.motcua.record.accepted", "vn.motcua.sla.apology-due"]


async def test_event_for_an_unknown_record_is_dead_lettered(
    intake: Intake, endpoints: Endpoints
) -> None:
    await _publish(intake, RecordAccepted(record_code="000.00.21.H40-261124-0042",
                                          department_code="CA-TINH"), intake.runtime.clock.now())
    dead = await read_topic(endpoints.kafka,
                            intake.settings.topic(topics.DEPARTMENT_UPDATES) + ".dlq", count=1)
    assert headers_dict(dead[0].headers)["dlq-reason"] == "unknown_record"


async def test_the_applicant_tracks_with_the_receipts_secret_which_is_stored_nowhere(
        intake: Intake, make_application: Callable[..., dict[str, Any]]) -> None:
    key, body = "secret-on-receipt-1", make_application()
    answer = await intake.submit(body, key=key)
    assert answer.status_code == 201, answer.text
    code, secret = answer.json()["record_code"], answer.json()["receipt"]["lookup_secret"]
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", secret)
    again = await intake.submit(body, key=key)
    assert again.json()["receipt"]["lookup_secret"] == secret  # the retry prints the same one
    stored = await intake.runtime.db["records"].find_one({"_id": code})
    assert stored is not None and secret not in json.dumps(stored, default=str)

    citizen = httpx.AsyncClient(transport=httpx.ASGITransport(app=intake.app), base_url="http://i")
    async with citizen:
        seen = await citizen.get(f"/records/{code}", headers={"X-Lookup-Secret": secret})
        assert seen.status_code == 200 and seen.json()["record_code"] == code
        assert (await citizen.get(f"/records/{code}")).status_code == 401
        wrong = await citizen.get(f"/records/{code}", headers={"X-Lookup-Secret": "AAAA-BBBB-CCCC-DDDD"})
        unknown_code = code[:-4] + "9999"
        unknown = await citizen.get(f"/records/{unknown_code}", headers={
            "X-Lookup-Secret": lookup_secret(intake.settings.lookup_key.get_secret_value().encode(),
                                             unknown_code)})
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_a_receipt_printed_before_a_key_rotation_still_tracks_while_its_key_is_retired(
        intake: Intake, make_settings: Callable[..., Any],
        make_application: Callable[..., dict[str, Any]]) -> None:
    answer = await intake.submit(make_application())
    code, printed = answer.json()["record_code"], answer.json()["receipt"]["lookup_secret"]
    old = intake.settings.lookup_key.get_secret_value()
    new = "rotated-" + old

    async def seen_with(**keys: Any) -> int:
        app = create_app(make_settings(IntakeSettings, lookup_key=new, **keys))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://i") as citizen:
            answer = await citizen.get(f"/records/{code}", headers={"X-Lookup-Secret": printed})
            return answer.status_code

    assert await seen_with(lookup_retired_keys=[old]) == 200
    assert await seen_with() == 404  # the old key dropped: its receipts no longer open
