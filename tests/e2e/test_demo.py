"""The demo behind `make up`, run against the test stack: the story it tells is what happened.

The four services run as processes on test clocks; the loopback sinks stand for mail, SMS and
webhooks. The test checks the summary's facts against the system, not the printed text.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from contracts import topics
from contracts.department.v1 import DelayReported
from deploy.local.demo.players import DemoClock
from deploy.local.demo.run import SERVICES, run_demo, story_period
from deploy.local.demo.summary import outcomes_of
from deploy.local.services import ServiceFleet
from deploy.local.sinks import Outbox, sinks_in_thread
from deploy.local.up import fleet_env
from reference.localtime import VIETNAM, to_local
from tests.endpoints import Endpoints

pytestmark = pytest.mark.integration

TODAY = datetime(2026, 10, 5, 9, 0, tzinfo=VIETNAM)
"""The day the demo is started on in this test, not the machine's: its story stays in 2026."""


def test_the_demo_tells_what_the_system_did(endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    spans = tmp_path / "spans"
    spans.mkdir()
    outbox = Outbox()
    period = story_period(TODAY)
    assert period.today, period.describe()  # a fixed day whose whole story the calendars hold
    clock = DemoClock(period.start)
    namespace = f"t{unique}."
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line)

    with sinks_in_thread(outbox) as sinks:
        base = {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
                "MONGODB_URI": endpoints.mongodb_uri}
        env = {**fleet_env(base, sinks, clock.now()), "MOTCUA_TOPIC_NAMESPACE": namespace,
               "MOTCUA_ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}
        env |= {f"{name.split('_')[0].upper()}_MONGODB_DATABASE": f"t{unique}_{name}" for name in SERVICES}
        fleet = ServiceFleet(env, tmp_path / "logs", names=SERVICES, authority=endpoints.authority,
                             issuer=endpoints.issuer)
        try:
            fleet.start_together(SERVICES, env_of=lambda n: {"MOTCUA_TRACE_FILE": str(spans / f"{n}.jsonl")})
            urls = {name: fleet.running[name].base_url for name in SERVICES}
            demo = asyncio.run(run_demo(urls, endpoints.authority, endpoints.issuer, namespace, outbox, clock,
                                        spans, say))
        finally:
            fleet.stop_all()

    story, seen = demo.story, demo.watcher
    # The malformed answer a department's client sent waits for an operator, at routing alone.
    assert any(line.startswith("  dead letters waiting for an operator: updates.") and
               line.endswith(".v1 1") for line in lines), lines
    # Every valid application was received and routed; each invalid one refused with its reason.
    assert set(story.planned) <= demo.routed_codes()
    assert [(status, body["errors"][0]["code"]) for _, status, body in story.refused] == [
        (422, wrong.expected) for wrong, _, _ in story.refused]
    # The departments' answers show in the applicants' view of their records.
    behaviours = [p.behaviour for p in story.planned.values()]
    assert story.statuses["refused"] == behaviours.count("refuse")
    assert story.statuses["done"] >= behaviours.count("resolve")
    assert sum(story.statuses.values()) == len(story.planned)
    # The reorganisation moved every record a dissolved district PC held.
    assert not any((demo.departments.holder(c) or "").startswith("UBND-H-") for c in story.planned)
    # Deadlines ran late and were escalated; apologies went out with a new date.
    alerts = {e.type for e in seen.of(topics.SLA_ALERTS)}
    assert {"vn.motcua.sla.deadline-breached", "vn.motcua.sla.escalation-raised",
            "vn.motcua.sla.apology-due", "vn.motcua.sla.record-stuck-in-routing"} <= alerts
    assert story.shown is not None and story.letter is not None
    reported = [e.data for e in seen.of(topics.DEPARTMENT_UPDATES) if isinstance(e.data, DelayReported)]
    assert reported
    outcomes = seen.of(topics.NOTIFICATION_OUTCOMES)
    for delay in reported:  # a department gave its reason and date: the applicant's letter has both
        keys = {o.notification_id for o in outcomes_of(delay.record_code, outcomes)
                if o.template == "apology" and o.recipient_role == "applicant"}
        letters = [d.text for d in outbox.snapshot() if d.key in keys]
        assert letters, delay.record_code
        new_date = f"{to_local(delay.new_appointment):%d/%m/%Y}"
        assert all(new_date in text and delay.reason in text for text in letters)
    # Supervisors were told by mail and webhook; nothing reached the outside world twice.
    channels = {d.channel for d in outbox.snapshot()}
    assert channels == {"email", "sms", "webhook"}
    assert outbox.copies == 0
    # The record's trace spans the four processes, and carries no personal data.
    assert "4 processes" in story.trace[0]
    body = next(p.body for c, p in story.planned.items() if c == story.shown)
    dumped = "\n".join(path.read_text("utf-8") for path in spans.iterdir())
    personal = [body["applicant"][k] for k in ("citizen_id", "phone", "email", "full_name")]
    assert [value for value in personal if value in dumped] == []
    assert "  records by status (as applicants see them):" in lines
