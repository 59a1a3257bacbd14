"""Dead letters operators act on: kept with the reason and headers, replayed through the consumer
that refused them once the cause is fixed, or discarded with a reason; both audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.department.v1 import RecordAccepted
from contracts.envelope import Envelope, encode
from services.console import dead_letters as cli
from services.console.backends import Backend
from services.routing.settings import RoutingSettings
from services.runtime.errors import PoisonMessage
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints
from tests.kafka_io import read_topic, write_raw

pytestmark = pytest.mark.integration

RECORD = "000.00.21.H40-261124-0002"


class Desk:
    """A consumer that refuses notes it does not know yet, until a fix teaches it them."""

    def __init__(self) -> None:
        self.known = {"fine"}
        self.handled: list[str] = []

    async def handle(self, envelope: Envelope[Any]) -> None:
        note = envelope.data.note
        if note not in self.known:
            raise PoisonMessage("unknown_note", "no rule for this note yet")
        self.handled.append(note)


def accepted(note: str) -> Envelope[RecordAccepted]:
    payload = RecordAccepted(record_code=RECORD, department_code="SO-TU-PHAP", note=note)
    return Envelope.wrap(payload, source="/motcua/test", time=datetime.now(UTC))


@pytest.fixture
async def service(make_settings: Callable[..., Any], endpoints: Endpoints
                  ) -> AsyncIterator[tuple[ServiceRuntime, Desk, httpx.AsyncClient]]:
    runtime = ServiceRuntime(make_settings(RoutingSettings))
    desk = Desk()
    runtime.subscribe(topics.DEPARTMENT_UPDATES, desk.handle)
    app = runtime.asgi(title="dead letters under test")
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield runtime, desk, client
    finally:
        await runtime.stop()


def operator(endpoints: Endpoints, name: str = "operator.hung") -> dict[str, str]:
    return endpoints.issuer.headers("operator", subject=name)


async def waiting(client: httpx.AsyncClient, endpoints: Endpoints, count: int,
                  state: str = "waiting") -> list[dict[str, Any]]:
    async with asyncio.timeout(30):
        while True:
            answer = await client.get("/dead-letters", params={"state": state},
                                      headers=operator(endpoints))
            assert answer.status_code == 200, answer.text
            found: list[dict[str, Any]] = answer.json()["dead_letters"]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)


async def test_a_refused_message_is_listed_with_its_reason_and_headers_not_its_content(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints
) -> None:
    runtime, _, client = service
    sent = accepted("applicant 0912345678 asks")
    await runtime.publisher.publish(sent)

    [letter] = await waiting(client, endpoints, 1)
    assert letter["topic"] == topics.DEPARTMENT_UPDATES
    assert letter["reason"] == "unknown_note"
    assert letter["record"] == RECORD
    assert letter["event_id"] == sent.id
    assert letter["event_type"] == "vn.motcua.record.accepted"
    assert ("ce_id", sent.id) in [tuple(h) for h in letter["headers"]]
    assert letter["size_bytes"] > 0
    assert "0912345678" not in (await client.get("/dead-letters", headers=operator(endpoints))).text
    listing = (await client.get("/dead-letters", headers=operator(endpoints))).json()
    assert listing["topics"] == [{"topic": topics.DEPARTMENT_UPDATES, "waiting": 1, "replaying": 0,
                                  "replayed": 0, "discarded": 0}]


async def test_replay_after_the_fix_runs_it_through_the_same_consumer_once_and_audits_it(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints
) -> None:
    runtime, desk, client = service
    await runtime.publisher.publish(accepted("new rule"))
    await runtime.publisher.publish(accepted("fine"))
    [letter] = await waiting(client, endpoints, 1)

    desk.known.add("new rule")  # the fix
    answer = await client.post("/dead-letters/replay", headers=operator(endpoints),
                               json={"ids": [letter["id"]], "note": "rule for new notes deployed"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["decisions"] == [{"id": letter["id"], "outcome": "replay-requested",
                                           "state": "replaying"}]
    [done] = await waiting(client, endpoints, 1, state="replayed")
    assert desk.handled.count("new rule") == 1
    assert [(s["action"], s["by"], s["note"]) for s in done["history"]] == [
        ("dead-lettered", None, "unknown_note"),
        ("replay-requested", "operator.hung", "rule for new notes deployed"),
        ("replayed", None, None)]
    again = await client.post("/dead-letters/replay", headers=operator(endpoints),
                              json={"ids": [letter["id"]]})
    assert again.status_code == 200
    assert again.json()["decisions"][0]["outcome"] == "not-waiting"


async def test_a_replay_refused_again_waits_again_with_the_new_reason(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints
) -> None:
    runtime, _, client = service
    await runtime.publisher.publish(accepted("still unknown"))
    [letter] = await waiting(client, endpoints, 1)

    await client.post("/dead-letters/replay", headers=operator(endpoints), json={"ids": [letter["id"]]})
    async with asyncio.timeout(30):
        while True:
            [now] = await waiting(client, endpoints, 1)
            if now["history"][-1]["action"] == "refused-again":
                break
            await asyncio.sleep(0.2)
    assert now["id"] == letter["id"]
    assert now["state"] == "waiting"


async def test_discard_needs_a_reason_and_the_operator_role_and_is_audited(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints
) -> None:
    runtime, desk, client = service
    topic = runtime.settings.topic(topics.DEPARTMENT_UPDATES)
    await write_raw(endpoints.kafka, topic, b"not json", key=RECORD.encode(),
                    headers=list(encode(accepted("fine")).headers))
    [letter] = await waiting(client, endpoints, 1)
    assert letter["reason"] == "malformed_json"
    ids = {"ids": [letter["id"]]}

    no_reason = await client.post("/dead-letters/discard", headers=operator(endpoints), json=ids)
    assert no_reason.status_code == 422
    supervisor = endpoints.issuer.headers("supervisor", subject="supervisor.minh")
    refused = await client.post("/dead-letters/discard", headers=supervisor,
                                json={**ids, "note": "sender fixed its encoder"})
    assert refused.status_code == 403
    assert (await client.get("/dead-letters", headers=supervisor)).status_code == 403
    assert (await client.get("/dead-letters")).status_code == 401

    done = await client.post("/dead-letters/discard", headers=operator(endpoints, "admin.mai"),
                             json={**ids, "note": "sender fixed its encoder"})
    assert done.status_code == 200
    [gone] = await waiting(client, endpoints, 1, state="discarded")
    assert gone["history"][-1]["by"] == "admin.mai"
    assert gone["history"][-1]["note"] == "sender fixed its encoder"
    assert await waiting(client, endpoints, 0) == []
    unknown = await client.post("/dead-letters/discard", headers=operator(endpoints),
                                json={"ids": ["nobody:nothing:0:0"], "note": "no such letter"})
    assert unknown.status_code == 200
    assert unknown.json()["decisions"] == [{"id": "nobody:nothing:0:0", "outcome": "unknown",
                                            "state": None}]
    # The topic still carries the refusal for whoever reads it.
    [dead] = await read_topic(endpoints.kafka, topic + ".dlq", count=1)
    assert dead.value == b"not json"
    assert desk.handled == []


async def test_the_command_line_lists_and_replays_through_the_service_api(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints,
    capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, desk, client = service
    await runtime.publisher.publish(accepted("scripted"))
    [letter] = await waiting(client, endpoints, 1)
    token = endpoints.issuer.token("operator", subject="operator.script")
    backends = [Backend("routing", "http://service", client)]

    assert await cli.run(cli.parser().parse_args(["--token", token, "list"]), backends) == 0
    assert capsys.readouterr().out.split("\t")[:3] == [
        f"routing|{letter['id']}", topics.DEPARTMENT_UPDATES, "unknown_note"]
    desk.known.add("scripted")
    replay = ["--token", token, "replay", "--all", "--topic", topics.DEPARTMENT_UPDATES,
              "--note", "rule deployed"]
    assert await cli.run(cli.parser().parse_args(replay), backends) == 0
    assert capsys.readouterr().out.strip() == f"routing|{letter['id']}\treplay-requested"
    [done] = await waiting(client, endpoints, 1, state="replayed")
    assert done["history"][1]["by"] == "operator.script"
    assert desk.handled == ["scripted"]
    again = ["--token", token, "discard", f"routing|{letter['id']}", "--note", "too late"]
    assert await cli.run(cli.parser().parse_args(again), backends) == 1  # not waiting any more
    assert capsys.readouterr().out.strip().endswith("not-waiting")


async def test_the_waiting_dead_letters_are_a_gauge_per_topic_and_state(
    service: tuple[ServiceRuntime, Desk, httpx.AsyncClient], endpoints: Endpoints
) -> None:
    runtime, _, client = service
    await runtime.publisher.publish(accepted("unknown"))
    await waiting(client, endpoints, 1)
    assert await runtime.dead_letter_box.samples() == {(topics.DEPARTMENT_UPDATES, "waiting"): 1.0}
