"""The notifier killed with SIGKILL while it sends, then restarted: no applicant gets an email
twice in effect, and none is lost.

The whole pipeline runs as processes; applicants ask for email and the SMTP server is the
loopback sink. Routing starts once every receipt is out, so no receipt and routed notice of one
applicant ever share a fold window: each notice is a message of its own, and the expected set is
known exactly (one receipt and one routed notice per record). The notifier is killed while the
routed notices stream out, then restarted.

Zero copies cannot be promised over SMTP: a message the server accepted just before the kill,
before the notifier stored its result, is sent again. Each result is stored as soon as its send
returns, so the copies are at most the sends in flight (NOTIFIER_SEND_CONCURRENCY), and each
carries the first one's Message-ID, so a mail client shows one message.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from contracts import topics
from contracts.envelope import decode
from contracts.notifications.v1 import NotificationSent
from contracts.records.v1 import RecordRouted, RecordSubmitted
from deploy.local.sinks import Sinks
from services.notifier.domain import notification_id
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic

from .pipeline import applications, distinct_ids, drop_databases, fleet, outcomes, start, submit

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

RECORDS = 200
RECOVERY_S = 180
IN_FLIGHT = 4
"""NOTIFIER_SEND_CONCURRENCY: the sends a kill can catch between the server's yes and our note."""


async def test_notifier_killed_while_sending_emails_no_applicant_twice(
        endpoints: Endpoints, unique: str, tmp_path: Path) -> None:
    admin, namespace = endpoints.kafka, f"t{unique}."
    sinks = await Sinks().start()
    outbox = sinks.outbox
    services = fleet(endpoints, unique, tmp_path / "logs", **sinks.notifier_env(),
                     NOTIFIER_FOLD_WINDOW_S="0.2", NOTIFIER_RATE_LIMIT_MESSAGES="100",
                     NOTIFIER_SEND_CONCURRENCY=str(IN_FLIGHT), NOTIFIER_BATCH_SIZE="20",
                     NOTIFIER_LEASE_S="2", NOTIFIER_SWEEP_S="1", NOTIFIER_TICK_S="0.1",
                     NOTIFIER_RETRY_BASE_S="0.1", NOTIFIER_RETRY_CAP_S="0.5")
    try:
        await start(services, "intake", "sla_monitor", "notifier")
        async with asyncio.timeout(60):  # every receipt out before any routed notice is planned
            codes = await submit(services.running["intake"].base_url,
                                 applications(RECORDS, unique, seed=9, preferred="email"),
                                 endpoints.all_roles())
            while len(outbox.first) < len(codes):
                await asyncio.sleep(0.1)

        await asyncio.to_thread(services.start, "routing")
        async with asyncio.timeout(60):
            while len(outbox.first) < len(codes) + 20:  # some routed notices out: kill -9 now
                await asyncio.sleep(0.01)
        services.kill("notifier")
        before = set(outbox.first)
        assert len(before) < 2 * len(codes), "the kill came too late to interrupt the sending"

        await asyncio.to_thread(services.start, "notifier")
        try:
            # A bound on liveness, not a speed figure: generous for a loaded CI machine.
            async with asyncio.timeout(RECOVERY_S):  # every notice sent and its outcome published
                while len(await outcomes(admin, namespace + topics.NOTIFICATION_OUTCOMES)) < 2 * len(codes):
                    await asyncio.sleep(1)
        except TimeoutError:
            routed_ids = await distinct_ids(admin, namespace + topics.RECORDS_ROUTED)
            found = await outcomes(admin, namespace + topics.NOTIFICATION_OUTCOMES)
            pytest.fail(f"after the restart, {RECOVERY_S} s: {len(found)} of {2 * len(codes)} outcomes, "
                        f"{len(outbox.first)} messages arrived, {len(routed_ids)} records routed")
        sent = await outcomes(admin, namespace + topics.NOTIFICATION_OUTCOMES)
        submitted = await drain_topic(admin, namespace + topics.RECORDS_SUBMITTED, idle=1.0)
        routed = await drain_topic(admin, namespace + topics.RECORDS_ROUTED, idle=1.0)
    finally:
        await asyncio.to_thread(services.stop_all)  # the sinks answer from this loop meanwhile
        await sinks.stop()
        await drop_databases(endpoints, unique)

    # What each applicant is owed: the receipt of their submission, the notice of its routing.
    email: dict[str, str] = {}
    expected: dict[str, str] = {}  # notification id -> applicant's address
    for record in submitted:
        envelope = decode(record.key, record.value, record.headers).narrow(RecordSubmitted)
        email[envelope.record_id] = address = str(envelope.data.applicant.email)
        expected[notification_id(envelope.id, "applicant", "email", address)] = address
    for record in routed:
        decision = decode(record.key, record.value, record.headers).narrow(RecordRouted)
        address = email[decision.record_id]
        expected[notification_id(decision.id, "applicant", "email", address)] = address
    assert set(email) == set(codes) and len(expected) == 2 * len(codes)

    arrived = outbox.snapshot()
    assert {a.key for a in arrived} == set(expected)  # nothing lost, nothing unforeseen
    assert [a for a in arrived if a.recipient != expected[a.key]] == []
    assert set(sent.values()) == {NotificationSent.event_type} and set(sent) == set(expected)
    # Each applicant: two messages (receipt, routed), whatever the copies.
    keys: dict[str, set[str]] = defaultdict(set)
    for arrival in arrived:
        keys[arrival.recipient].add(arrival.key)
    assert {len(k) for k in keys.values()} == {2} and len(keys) == len(codes)
    # A copy is the same message under the same Message-ID, and there are at most the sends in
    # flight at the kill.
    contents: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for arrival in arrived:
        contents[arrival.key].add((arrival.subject, arrival.text))
    assert [key for key, found in contents.items() if len(found) != 1] == []
    assert outbox.copies <= IN_FLIGHT
    copied = {key for key, n in Counter(a.key for a in arrived).items() if n > 1}
    assert copied <= before  # only what the server had taken before the kill is sent again
