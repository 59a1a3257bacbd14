"""A notifier killed with SIGKILL in the middle of a batch, then restarted: nothing is lost, and
nothing is sent twice in effect (a copy resent after the kill carries the same key)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Envelope, EventPayload, encode, headers_dict
from deploy.local.services import ServiceFleet
from services.notifier.domain import notification_id
from services.notifier.settings import NotifierSettings
from services.runtime.kafka_access import KafkaAccess
from tests.endpoints import Endpoints
from tests.kafka_io import drain_topic
from tests.timeline import MORNING
from tests.unit.notifier.factories import rejected

from .conftest import Applicant, Gateway, MailServer, applicant, for_record


async def publish(admin: KafkaAccess, settings: NotifierSettings, payloads: list[EventPayload]
                  ) -> list[Envelope[Any]]:
    producer = AIOKafkaProducer(**admin.client_options(), acks="all")
    await producer.start()
    sent: list[Envelope[Any]] = []
    try:
        for payload in payloads:
            envelope = Envelope.wrap(payload, source="/motcua/test", time=MORNING)
            message = encode(envelope)
            await producer.send(settings.topic(payload.topic), message.value, key=message.key,
                                headers=message.headers)
            sent.append(envelope)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def received(mail: MailServer, gateway: Gateway) -> list[tuple[str, str]]:
    """(key, content) of every copy the servers accepted: Message-ID or idempotency key."""
    copies = [(str(m["Message-ID"]).strip("<>").split("@")[0], f"{m['To']}\n{m['Subject']}\n{text(m)}")
              for m in mail.messages]
    copies += [(r.headers["idempotency-key"], r.body.decode()) for r in gateway.requests]
    return copies


async def test_killed_mid_batch_the_restart_delivers_the_rest_and_nothing_twice_in_effect(
        endpoints: Endpoints, unique: str, tmp_path: Path, make_settings: Callable[..., Any],
        smtp_server: MailServer, gateway: Gateway) -> None:
    records = 120
    people: list[Applicant] = [applicant(preferred="sms" if n % 2 else "email") for n in range(records)]
    settings: NotifierSettings = make_settings(NotifierSettings)
    smtp_server.handler.delay_s = gateway.delay_s = 0.03
    env = {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
           "MONGODB_URI": endpoints.mongodb_uri, "MOTCUA_TOPIC_NAMESPACE": settings.topic_namespace,
           "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": "true",
           "MOTCUA_TEST_CLOCK_START": MORNING.isoformat(),
           "NOTIFIER_MONGODB_DATABASE": settings.mongodb_database,
           "NOTIFIER_SMTP_HOST": "127.0.0.1", "NOTIFIER_SMTP_PORT": str(smtp_server.port),
           "NOTIFIER_SMTP_START_TLS": "false", "NOTIFIER_SMS_GATEWAY_URL": gateway.url("/sms"),
           "NOTIFIER_FOLD_WINDOW_S": "0.1", "NOTIFIER_RATE_LIMIT_MESSAGES": "100",
           "NOTIFIER_RETRY_BASE_S": "0.1", "NOTIFIER_RETRY_CAP_S": "0.5",
           "NOTIFIER_LEASE_S": "2", "NOTIFIER_SWEEP_S": "1", "NOTIFIER_TICK_S": "0.1",
           "NOTIFIER_BATCH_SIZE": "20", "NOTIFIER_SEND_CONCURRENCY": "4"}
    fleet = ServiceFleet(env, tmp_path / "logs", names=("notifier",), authority=endpoints.authority,
                         issuer=endpoints.issuer)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    db = mongo[settings.mongodb_database]
    admin = endpoints.kafka
    try:
        await asyncio.to_thread(fleet.start, "notifier")  # the servers answer meanwhile
        events = await publish(admin, settings, [p.submitted() for p in people])
        events += await publish(admin, settings,
                                [for_record(rejected(), p.code) for p in people[::3]])
        expected = {notification_id(e.id, "applicant", person.preferred, person.address)
                    for e in events for person in people if person.code == e.record_id}
        assert len(expected) == records + len(people[::3])
        async with asyncio.timeout(60):  # let some batches out, then kill -9
            while len({key for key, _ in received(smtp_server, gateway)}) < 50:  # mid-batch
                await asyncio.sleep(0.05)
        fleet.kill("notifier")
        before_restart = {key for key, _ in received(smtp_server, gateway)}
        assert len(before_restart) < len(expected), "the kill came too late to interrupt the sending"

        await asyncio.to_thread(fleet.start, "notifier")
        async with asyncio.timeout(90):
            while not expected <= {key for key, _ in received(smtp_server, gateway)}:
                await asyncio.sleep(0.2)
            while await db["published"].count_documents({}) < len(expected):
                await asyncio.sleep(0.2)
        outcomes = await drain_topic(admin, settings.topic(topics.NOTIFICATION_OUTCOMES), idle=2.0)
        documents = await db["deliveries"].count_documents({})
        sent = await db["results"].count_documents({"status": "sent"})
    finally:
        fleet.stop_all()
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()

    assert documents == sent == len(expected)
    copies = received(smtp_server, gateway)
    keys = Counter(key for key, _ in copies)
    assert set(keys) == expected  # nothing lost, nothing unexpected
    # At-least-once on the wire, once in effect: a message the server took just before the kill,
    # before the notifier could note it, is sent again after the restart with the same key, so
    # the receiving side can drop it. Every copy of a key is the same message.
    contents: dict[str, set[str]] = {}
    for key, content in copies:
        contents.setdefault(key, set()).add(content)
    assert [v for v in contents.values() if len(v) > 1] == []
    resent = sum(n - 1 for n in keys.values())
    assert resent <= 4  # at most the sends in flight (NOTIFIER_SEND_CONCURRENCY): each result is
    # stored as soon as its send returns
    outcome_ids = Counter(headers_dict(r.headers)["ce_id"] for r in outcomes)
    assert len(outcome_ids) == len(expected)  # one outcome event per notification (copies share its id)
