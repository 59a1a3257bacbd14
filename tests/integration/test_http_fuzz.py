"""Whatever a client sends, each service answers it with a documented status, never a 5xx.

Requests are drawn from each service's own OpenAPI document (see `tests.openapi_requests`) and
sent to the running app on the real Kafka and MongoDB. Every answer must be a status that the
document lists for the operation, every error `application/problem+json` naming its status, and a
repeated request must get the same answer (for intake, a replay of the same record). At the end,
every status each document lists must have been seen, so the documents promise nothing the
service never does; the exceptions are 503, which only a database that does not answer can
give and `tests/integration/intake/test_frozen_database.py` proves, and 401/403: the fuzz calls
with a token of every role, to reach past the lock, which `tests/unit/test_http_locks.py` walks.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from contracts.envelope import Envelope
from contracts.records.v1 import RecordRouted
from contracts.samples import record_submitted
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.app import create_app as intake_app
from services.intake.examples import application
from services.intake.settings import IntakeSettings
from services.notifier.app import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.runtime.problems import PROBLEM_JSON
from services.sla_monitor.app import create_app as sla_app
from services.sla_monitor.settings import SlaMonitorSettings
from tests.endpoints import Endpoints
from tests.openapi_requests import HEADER_TEXT, Operation, Request, Seeds, body_kinds, operations, request

# The apps run in the test client's thread, where the broker client draws random numbers too.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

ONLY_WHEN_THE_DATABASE_IS_DOWN = {503}
PROVEN_ELSEWHERE = {401, 403, *ONLY_WHEN_THE_DATABASE_IS_DOWN}
FUZZ = settings(max_examples=250, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@contextmanager
def running(app: FastAPI, endpoints: Endpoints) -> Iterator[TestClient]:
    # An exception in a handler fails the test with its own traceback (what a 500 would hide).
    with TestClient(app, base_url="http://service", raise_server_exceptions=True,
                    headers=endpoints.all_roles()) as client:
        yield client


def send(client: TestClient, drawn: Request) -> httpx.Response:
    response: httpx.Response = client.request(drawn.operation.method, drawn.url, params=drawn.params,
                                              headers=drawn.headers, content=drawn.content)
    return response


def check_answer(drawn: Request, response: httpx.Response) -> None:
    operation = drawn.operation
    status = response.status_code
    where = f"{operation.method} {drawn.url} -> {status}: {response.text[:300]}"
    assert status < 500 or status in ONLY_WHEN_THE_DATABASE_IS_DOWN, where
    assert status in operation.documented, f"undocumented status: {where}"
    if status >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON), where
        body = response.json()
        assert body["status"] == status and body["type"].startswith("urn:motcua:problem:"), where
        assert body["title"] and body["detail"], where


def fuzz(client: TestClient, seeds: Seeds, max_bytes: int,
         replayed: Callable[[Request, httpx.Response, httpx.Response], None] | None = None,
         examples: dict[str, int] | None = None) -> dict[str, set[int]]:
    """Fuzz every operation (`examples` of them each, default 150); fails on a bad answer or on
    a documented status never answered."""
    document = client.get("/openapi.json").json()
    found = operations(document)
    seen: dict[str, set[int]] = defaultdict(set)

    def one(operation: Operation, kind: str | None, data: st.DataObject) -> None:
        drawn = request(operation, seeds, data, max_bytes, kind)
        first = send(client, drawn)
        check_answer(drawn, first)
        seen[operation.name].add(first.status_code)
        if drawn.repeat:
            again = send(client, drawn)
            check_answer(drawn, again)
            seen[operation.name].add(again.status_code)
            if replayed is not None:
                replayed(drawn, first, again)
            elif first.status_code >= 400:
                assert again.status_code == first.status_code, f"{drawn.url}: {first.text} / {again.text}"

    for operation in found:
        # Each kind of body a few times for sure, then bodies of any kind.
        for kind in body_kinds(operation, seeds):
            settings(FUZZ, max_examples=10)(given(st.just(operation), st.just(kind), st.data())(one))()
        count = (examples or {}).get(operation.name, 150)
        settings(FUZZ, max_examples=count)(given(st.just(operation), st.none(), st.data())(one))()
    missing = {op.name: sorted(op.documented - seen[op.name] - PROVEN_ELSEWHERE)
               for op in found}
    assert not {k: v for k, v in missing.items() if v}, f"documented but never answered: {missing}"
    return seen


def test_intake_answers_anything_with_a_documented_status(make_settings: Callable[..., Any],
        endpoints: Endpoints) -> None:
    built: IntakeSettings = make_settings(IntakeSettings)
    catalog, units = load_catalog(), load_units()
    procedures = list(catalog)

    def valid(rng: random.Random) -> dict[str, Any]:
        return application(rng.choice(procedures), units, rng)

    def replayed(drawn: Request, first: httpx.Response, again: httpx.Response) -> None:
        if first.status_code == 201:
            assert again.status_code == 200, again.text
            assert again.json()["record_code"] == first.json()["record_code"]
            assert again.headers["Idempotent-Replayed"] == "true"
        elif first.status_code == 200:
            assert again.status_code == 200
        else:
            assert again.status_code == first.status_code, f"{first.text} / {again.text}"

    with running(intake_app(built), endpoints) as client:
        # One record under a key the fuzz reuses: its code is worth reading, its key worth reusing.
        known = client.post("/applications", json=valid(random.Random(5)),
                            headers={"Idempotency-Key": "fuzz-1"})
        assert known.status_code == 201, known.text
        keys = st.one_of(st.sampled_from(["fuzz-1", "fuzz-2"]), st.uuids().map(str), HEADER_TEXT)
        seeds = Seeds(parameters={"code": [known.json()["record_code"]]},
                      bodies={"POST /applications": valid},
                      headers={"POST /applications": st.one_of(
                          st.just({}), keys.map(lambda key: {"Idempotency-Key": key}))})
        fuzz(client, seeds, built.max_body_bytes, replayed, examples={"POST /applications": 1000})


def test_routing_answers_anything_with_a_documented_status(make_settings: Callable[..., Any],
        endpoints: Endpoints) -> None:
    built: RoutingSettings = make_settings(RoutingSettings)
    with running(routing_app(built), endpoints) as client:
        base: dict[str, Any] = client.get("/admin/tables/current").json()

        def next_version(_: random.Random) -> dict[str, Any]:
            """The table at the start as the next version (only the version number follows what
            the fuzz published, so every draw sees the same shape)."""
            version: int = client.get("/admin/tables/current").json()["version"]
            return {**base, "version": version + 1}

        def replayed(drawn: Request, first: httpx.Response, again: httpx.Response) -> None:
            if first.status_code == 201:  # the same version cannot be published twice
                assert again.status_code == 422, again.text
            elif first.status_code == 200 and drawn.operation.method == "POST":
                assert again.status_code in (200, 409), again.text  # a repeat, or a 2nd choice
            else:
                assert again.status_code == first.status_code, f"{first.text} / {again.text}"

        # A record waiting in the manual queue (a commune's procedure under a former district):
        # choices of it route it once (200), then conflict (409).
        waiting = record_submitted(f"000.00.21.H40-261125-{random.randint(1, 9999):04d}").model_copy(
            update={"procedure_code": "9.000026.000.00.00.H40",
                    "administrative_unit_code": load_units().former_districts[0].code})
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(runtime.publisher.publish, Envelope.wrap(
            waiting, source="/motcua/test", time=runtime.clock.now(), id=str(uuid.uuid4())))
        while not (queue := client.get("/manual-queue").json()["records"]):
            time.sleep(0.2)
        target = queue[0]["suggestions"][0]["code"]

        def choice(rng: random.Random) -> dict[str, Any]:
            return {"department_code": target, "attempt": 1, "note": rng.choice(["Đúng địa bàn", "xã"])}

        seeds = Seeds(parameters={"code": [waiting.record_code]},
                      bodies={"POST /admin/tables": next_version, "POST /admin/tables/check": next_version,
                              "POST /manual-queue/{code}/route": choice})
        fuzz(client, seeds, 1_000_000, replayed)


def test_sla_monitor_answers_anything_with_a_documented_status(make_settings: Callable[..., Any],
        endpoints: Endpoints) -> None:
    built: SlaMonitorSettings = make_settings(SlaMonitorSettings)
    known = record_submitted(f"000.00.21.H40-261125-{random.randint(1, 9999):04d}")
    with running(sla_app(built), endpoints) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(runtime.publisher.publish, Envelope.wrap(
            known, source="/motcua/test", time=runtime.clock.now(), id=str(uuid.uuid4())))
        while client.get(f"/deadlines/{known.record_code}").status_code != 200:
            time.sleep(0.2)  # until the monitor has the record (the suite's timeout bounds it)
        # Sent to the manual queue: a misrouting escalation at once, to acknowledge (200, then
        # 409 for another note).
        manual = RecordRouted(
            record_code=known.record_code, procedure_code=known.procedure_code,
            department_code="MOT-CUA-TINH", department_topic="routed.MOT-CUA-TINH.v2",
            decision="manual", reason="no rule", rule_version=2, attempt=1, candidates_left=(),
            administrative_unit_code=known.administrative_unit_code)
        client.portal.call(runtime.publisher.publish, Envelope.wrap(
            manual, source="/motcua/test", time=runtime.clock.now(), id=str(uuid.uuid4())))
        while not (raised := client.get("/escalations").json()):
            time.sleep(0.2)

        def note(rng: random.Random) -> dict[str, Any]:
            return {"note": rng.choice(["Đã nhắc", "Đang xử lý"])}

        def replayed(drawn: Request, first: httpx.Response, again: httpx.Response) -> None:
            if first.status_code == 200 and drawn.operation.method == "POST":
                assert again.status_code == 200, again.text  # the same acknowledgement again
            else:
                assert again.status_code == first.status_code, f"{first.text} / {again.text}"

        seeds = Seeds(parameters={"record_code": [known.record_code],
                                  "event_id": [raised[0]["event_id"]]},
                      bodies={"POST /escalations/{event_id}/acknowledge": note})
        fuzz(client, seeds, 1_000_000, replayed)


def test_notifier_answers_anything_with_a_documented_status(make_settings: Callable[..., Any],
        endpoints: Endpoints) -> None:
    built: NotifierSettings = make_settings(NotifierSettings)
    with running(notifier_app(built), endpoints) as client:
        fuzz(client, Seeds(parameters={"record_code": ["000.00.21.H40-261125-0007"]}), 1_000_000)
