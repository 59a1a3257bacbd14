"""The HTTP request's server span is the parent of the publish span; no span carries personal data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.integration.intake.conftest import Intake

pytestmark = pytest.mark.integration


async def test_publish_span_is_a_child_of_the_request_span_and_spans_hold_no_personal_data(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    spans = InMemorySpanExporter()
    intake.runtime.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    body = make_application()
    response = await intake.submit(body)
    code = response.json()["record_code"]
    async with asyncio.timeout(30):
        while not any(s.kind == SpanKind.PRODUCER for s in spans.get_finished_spans()):
            await asyncio.sleep(0.1)
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.kind == SpanKind.SERVER)
    producer = next(s for s in finished if s.kind == SpanKind.PRODUCER)
    assert server.attributes is not None and server.attributes["motcua.record_id"] == code
    assert producer.parent is not None
    assert producer.parent.span_id == server.context.span_id
    assert producer.context.trace_id == server.context.trace_id

    applicant = body["applicant"]
    personal = [applicant["citizen_id"], applicant["phone"], applicant["email"],
                applicant["full_name"], applicant["address"]["detail"]]
    dumped = json.dumps([s.to_json() for s in finished], ensure_ascii=False)
    assert all(value not in dumped for value in personal)


async def test_staff_reading_a_record_get_its_trace_and_an_applicant_does_not(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    spans = InMemorySpanExporter()
    intake.runtime.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    response = await intake.submit(make_application())
    code, secret = response.json()["record_code"], response.json()["receipt"]["lookup_secret"]
    server = next(s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER)

    staff = (await intake.client.get(f"/records/{code}")).json()
    assert staff["trace_id"] == f"{server.context.trace_id:032x}"
    applicant = await intake.client.get(f"/records/{code}", headers={
        "Authorization": "", "X-Lookup-Secret": secret})
    assert applicant.status_code == 200, applicant.text
    assert applicant.json()["trace_id"] is None
