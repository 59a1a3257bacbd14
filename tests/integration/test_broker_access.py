"""The broker enforces who reads and writes what: probes with each principal's own credentials.

The ACLs are the ones `deploy.access` applies, for this test's namespace; the broker answers a
probe beyond them with an authorization error, an unknown or anonymous client with nothing.
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from contracts import topics
from deploy.access.grants import department_grants
from services.routing.domain.tables import shipped_tables
from services.runtime.kafka_access import KafkaAccess
from tests.endpoints import Endpoints
from tests.kafka_io import held, write_raw

pytestmark = pytest.mark.integration

POLICE, JUSTICE = "CA-TINH", "SO-TU-PHAP"


async def create(admin: KafkaAccess, names: list[str]) -> None:
    client = AIOKafkaAdminClient(**admin.client_options())
    await client.start()
    try:
        await client.create_topics([NewTopic(name, 1, 1) for name in names])
    finally:
        await client.close()


async def subscribe(access: KafkaAccess, topic: str, group: str) -> None:
    """Join `group` on `topic` and poll once; raises what the broker refuses."""
    consumer = AIOKafkaConsumer(topic, **access.client_options(), group_id=group,
                                auto_offset_reset="earliest", request_timeout_ms=10_000)
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=2000)
    finally:
        await consumer.stop()


async def write(access: KafkaAccess, topic: str) -> None:
    producer = AIOKafkaProducer(**access.client_options(), request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"000.00.21.H40-261124-0001")
    finally:
        await producer.stop()


def unreadable(department: str) -> str:
    """Where routing parks a department's updates it cannot read."""
    return topics.dead_letter_topic(topics.updates_topic(department))


async def test_a_department_reads_and_writes_its_own_topics_and_nothing_else(
        endpoints: Endpoints, namespace: str) -> None:
    ns = namespace
    await create(endpoints.kafka, [ns + name for code in (POLICE, JUSTICE)
                                   for name in (*topics.department_topics(code), unreadable(code))]
                 + [ns + topics.RECORDS_SUBMITTED, ns + topics.DEPARTMENT_UPDATES])
    await write_raw(endpoints.kafka, ns + topics.department_topic(POLICE), b"assignment", key=b"k")
    await write_raw(endpoints.kafka, ns + unreadable(POLICE), b"not json", key=b"k")
    police = endpoints.authority.department(POLICE)

    # Its own: read its assignments (in a group of its own prefix) and the updates routing could
    # not read, write its updates.
    routed, dead = ns + topics.department_topic(POLICE), ns + unreadable(POLICE)
    found = await held(police, [routed, dead])
    assert [r.value for r in found[routed]] == [b"assignment"]
    assert [r.value for r in found[dead]] == [b"not json"]
    await subscribe(police, ns + topics.department_topic(POLICE),
                    f"{ns}{topics.department_group_prefix(POLICE)}desk")
    await write(police, ns + topics.updates_topic(POLICE))

    # Another department's files and inbound topic, the services' topics: refused.
    for topic in (topics.department_topic(JUSTICE), topics.feedback_topic(JUSTICE),
                  unreadable(JUSTICE), topics.RECORDS_SUBMITTED):
        with pytest.raises(TopicAuthorizationFailedError):
            await subscribe(police, ns + topic, f"{ns}{topics.department_group_prefix(POLICE)}x")
    for topic in (topics.updates_topic(JUSTICE), topics.DEPARTMENT_UPDATES,
                  topics.department_topic(POLICE)):
        with pytest.raises(TopicAuthorizationFailedError):
            await write(police, ns + topic)
    # A service's consumer group (the probe that took routing's partitions), or another's group.
    for group in ("motcua-routing", "motcua-routing-gate",
                  f"{topics.department_group_prefix(JUSTICE)}desk"):
        with pytest.raises(GroupAuthorizationFailedError):
            await subscribe(police, ns + topics.department_topic(POLICE), ns + group)


async def test_a_service_holds_only_the_topics_its_composition_uses(
        endpoints: Endpoints, namespace: str) -> None:
    ns = namespace
    await create(endpoints.kafka, [ns + topics.department_topic(POLICE), ns + topics.RECORDS_ROUTED])
    notifier, intake = endpoints.authority.service("notifier"), endpoints.authority.service("intake")
    with pytest.raises(TopicAuthorizationFailedError):  # a department's files, with the applicant
        await subscribe(notifier, ns + topics.department_topic(POLICE), ns + "motcua-notifier")
    with pytest.raises(TopicAuthorizationFailedError):  # routing's decisions are routing's own
        await write(intake, ns + topics.RECORDS_ROUTED)
    await subscribe(intake, ns + topics.RECORDS_ROUTED, ns + "motcua-intake")


async def test_an_anonymous_client_or_a_wrong_password_is_refused(endpoints: Endpoints) -> None:
    anonymous = AIOKafkaConsumer(bootstrap_servers=endpoints.kafka_bootstrap_servers,
                                 group_id=None, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    police = endpoints.authority.department(POLICE)
    guessed = AIOKafkaConsumer(**police.as_user(police.username, "guessed").client_options(),
                               group_id=None, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await guessed.start()
    known = AIOKafkaAdminClient(**police.client_options())
    await known.start()  # the same principal with its password is let in
    await known.close()


async def test_applying_again_changes_nothing_and_a_dissolved_department_loses_its_access(
        endpoints: Endpoints, namespace: str) -> None:
    ns = namespace
    again = endpoints.authority.provision(ns)
    assert (again.grants_added, again.grants_removed) == (0, 0) and again.grants_kept > 0
    await create(endpoints.kafka, [ns + name for name in topics.department_topics(POLICE)])
    police = endpoints.authority.department(POLICE)
    group = f"{ns}{topics.department_group_prefix(POLICE)}desk"
    await subscribe(police, ns + topics.department_topic(POLICE), group)
    production = endpoints.authority.provision()  # the empty namespace leaves this run's alone
    assert production.grants_removed == 0
    await subscribe(police, ns + topics.department_topic(POLICE), group)

    without_police = [table.model_copy(update={"departments": tuple(
        d.model_copy(update={"active": False}) if d.code == POLICE else d
        for d in table.departments)}) for table in shipped_tables()]
    changed = endpoints.authority.provision(ns, without_police)
    assert changed.grants_removed == len(department_grants(POLICE, ns))
    assert changed.grants_added == 0
    with pytest.raises(TopicAuthorizationFailedError):
        await subscribe(police, ns + topics.department_topic(POLICE), group)


async def test_a_rotated_credential_replaces_the_old_one(
        endpoints: Endpoints, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy.access.command import main

    department = "SO-NOI-VU"
    before = endpoints.authority.department(department)
    for name, value in {"KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
                        "KAFKA_ADMIN_USERNAME": endpoints.kafka.username,
                        "KAFKA_ADMIN_PASSWORD": endpoints.kafka.password}.items():
        monkeypatch.setenv(name, value)
    assert main(["rotate", before.username,
                 "--credentials", str(endpoints.authority.credentials.path)]) == 0
    after = endpoints.authority.department(department)
    assert after.password != before.password
    await create(endpoints.kafka, [namespace + topics.updates_topic(department)])
    await write(after, namespace + topics.updates_topic(department))
    stale = AIOKafkaProducer(**before.client_options(), request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await stale.start()
