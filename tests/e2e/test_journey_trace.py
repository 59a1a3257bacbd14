"""One record's journey is one trace across the services running as separate processes.

Each process writes its finished spans to its own JSON-lines file (`MOTCUA_TRACE_FILE`): the
test reads them all and checks that the application's HTTP request, every publish and every
consume of the record share one trace id, that every consume is the child of a publish, and
that no span carries the applicant's personal data.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.services import ServiceFleet
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.examples import application
from tests.endpoints import Endpoints
from tests.timeline import TEST_CLOCK_ENV

pytestmark = pytest.mark.integration

SERVICES = ("intake", "routing", "sla_monitor", "notifier")


def spans_of(folder: Path) -> list[dict[str, Any]]:
    spans = []
    for name in SERVICES:
        path = folder / f"{name}.jsonl"
        if path.exists():
            spans += [{**json.loads(line), "process": name}
                      for line in path.read_text("utf-8").splitlines() if line.strip()]
    return spans


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout}s")


def test_an_application_journey_is_one_trace_across_the_services(
        endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    traces = tmp_path / "spans"
    traces.mkdir()
    base = {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
            "MOTCUA_ENVIRONMENT": "test", **TEST_CLOCK_ENV}
    fleet = ServiceFleet(base, tmp_path / "logs", authority=endpoints.authority, issuer=endpoints.issuer)
    try:
        for name in SERVICES:
            fleet.env = {**base, "MOTCUA_TRACE_FILE": str(traces / f"{name}.jsonl"),
                         f"{name.split('_')[0].upper()}_MONGODB_DATABASE": f"t{unique}_{name}"}
            fleet.start(name)
        intake, sla = fleet.running["intake"].base_url, fleet.running["sla_monitor"].base_url
        body = application(load_catalog().get("1.001193.000.00.00.H40"), load_units(), random.Random(7))
        staff = endpoints.all_roles()
        answer = httpx.post(f"{intake}/applications", json=body, timeout=30,
                            headers={"Idempotency-Key": str(uuid.uuid4()), **staff})
        assert answer.status_code == 201, answer.text
        code = answer.json()["record_code"]

        def deadline() -> dict[str, Any] | None:
            response = httpx.get(f"{sla}/deadlines/{code}", timeout=10, headers=staff)
            state = response.json() if response.status_code == 200 else None
            return state if state is not None and state["department_code"] else None

        state = wait_until(deadline, 60, "the SLA monitor to see the record routed")
        # Past the due time on the monitor's clock: it fires the breach and its escalation.
        httpx.post(f"{sla}/test-clock/set", json={"at": state["due_current_at"]},
                   timeout=10, headers=staff).raise_for_status()
        httpx.post(f"{sla}/test-clock/advance", json={"seconds": 3600}, timeout=10,
                   headers=staff).raise_for_status()
        wait_until(lambda: any(s["process"] == "intake" and s["kind"] == "SpanKind.CONSUMER"
                               and "sla.alerts" in s["name"] for s in spans_of(traces)),
                   60, "intake to record an SLA alert in the record's history")
    finally:
        fleet.stop_all()

    spans = spans_of(traces)
    request = next(s for s in spans if s["kind"] == "SpanKind.SERVER"
                   and s["attributes"].get("motcua.record_id") == code)
    trace_id = request["context"]["trace_id"]
    journey = [s for s in spans if s["context"]["trace_id"] == trace_id]
    by_id = {s["context"]["span_id"]: s for s in journey}
    consumers = [s for s in journey if s["kind"] == "SpanKind.CONSUMER"]
    producers = [s for s in journey if s["kind"] == "SpanKind.PRODUCER"]

    # Every consume of this record, in every process, is in the request's trace.
    record_consumers = [s for s in spans if s["kind"] == "SpanKind.CONSUMER"
                        and s["attributes"].get("motcua.record_id") == code]
    assert record_consumers and all(s["context"]["trace_id"] == trace_id for s in record_consumers)
    consumed = {(s["process"], s["attributes"].get("motcua.event_type")) for s in record_consumers}
    assert {("routing", "vn.motcua.record.submitted"), ("sla_monitor", "vn.motcua.record.submitted"),
            ("sla_monitor", "vn.motcua.record.routed"), ("intake", "vn.motcua.record.routed"),
            ("intake", "vn.motcua.sla.deadline-breached")} <= consumed
    # Each consume's parent is a publish of another process; each publish has a parent.
    for span in consumers:
        parent = by_id.get(span["parent_id"])
        assert parent is not None and parent["kind"] == "SpanKind.PRODUCER", span["name"]
        assert parent["process"] != span["process"] or parent["name"] != span["name"]
    assert {s["process"] for s in producers} >= {"intake", "routing", "sla_monitor"}
    assert all(s["parent_id"] in by_id for s in producers)

    applicant = body["applicant"]
    personal = [applicant["citizen_id"], applicant["phone"], applicant["email"],
                applicant["full_name"], applicant["address"]["detail"]]
    dumped = json.dumps(spans, ensure_ascii=False)
    assert [value for value in personal if value and value in dumped] == []
