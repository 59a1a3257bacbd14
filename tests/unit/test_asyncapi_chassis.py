"""Every service serves its AsyncAPI document at `/asyncapi.json`, public like `/openapi.json`, and
a dead letter carries exactly the headers that document promises."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import httpx
import pytest
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts.asyncapi import document_path
from contracts.asyncapi.messages import DEAD_LETTER_HEADERS
from deploy.access.uses import SERVICE_NAMES, service_apps
from services.runtime.consumer import DeadLetters


def get(service: str, path: str) -> httpx.Response:
    """One request to the composed app, nothing started behind it and no token."""
    transport = httpx.ASGITransport(app=service_apps()[service])

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            return await client.get(path)

    return asyncio.run(send())


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_serves_its_committed_asyncapi_document_without_a_token(service: str) -> None:
    response = get(service, "/asyncapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(document_path(service).read_text(encoding="utf-8"))


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_asyncapi_route_stays_out_of_the_openapi_document_like_openapi_itself(service: str) -> None:
    assert "/asyncapi.json" not in get(service, "/openapi.json").json()["paths"]


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def publish(self, body: bytes, **options: Any) -> None:
        self.sent.append({"body": body, **options})


def test_a_dead_letter_carries_the_documented_headers_and_keeps_the_originals() -> None:
    broker = RecordingBroker()
    record = ConsumerRecord("records.routed.v1", 2, 7, 0, 0, b"000.00.21.H40-251124-0007", b"{",
                            None, 25, 1, [("ce_id", b"evt-1")])
    dead_letters = DeadLetters(cast(KafkaBroker, broker), "intake", "intake")
    asyncio.run(dead_letters.send(record, "malformed_json", "The body is not valid JSON."))
    [sent] = broker.sent
    added = {name for name in sent["headers"] if name.startswith("dlq-")}
    assert added == set(DEAD_LETTER_HEADERS)
    assert sent["headers"]["ce_id"] == "evt-1"
    assert (sent["topic"], sent["body"]) == ("records.routed.v1.dlq", b"{")
