"""The shared runtime over the real broker: contracts on the wire, trace context, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.errors import AutoReconnect

from contracts import topics
from contracts.department.v1 import RecordAccepted
from contracts.envelope import MAX_VALUE_BYTES, Envelope, decode, headers_dict
from services.intake.settings import IntakeSettings
from services.routing.settings import RoutingSettings
from services.runtime.consumer import RetryPolicy
from services.runtime.errors import PoisonMessage
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints
from tests.kafka_io import read_topic, write_raw

pytestmark = pytest.mark.integration

RECORD = "000.00.21.H40-261124-0001"


def accepted(record: str = RECORD, note: str = "Đã tiếp nhận") -> Envelope[RecordAccepted]:
    payload = RecordAccepted(record_code=record, department_code="SO-TU-PHAP", note=note)
    return Envelope.wrap(payload, source="/motcua/test", time=datetime.now(UTC))


@pytest.fixture
async def runtimes(make_settings: Callable[..., Any]) -> AsyncIterator[list[ServiceRuntime]]:
    """Runtimes a test builds; all stopped at the end."""
    started: list[ServiceRuntime] = []
    yield started
    for runtime in started:
        await runtime.stop()


async def test_published_event_reaches_another_broker_with_headers_and_trace(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints
) -> None:
    settings: IntakeSettings = make_settings(IntakeSettings)
    producer = ServiceRuntime(settings)
    spans = InMemorySpanExporter()
    producer.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    producer.declare_topics(topics.DEPARTMENT_UPDATES)
    await producer.start()
    runtimes.append(producer)

    received: asyncio.Queue[Any] = asyncio.Queue()
    consumer = KafkaBroker(endpoints.kafka_bootstrap_servers,
                           security=endpoints.kafka.faststream_security())

    @consumer.subscriber(settings.topic(topics.DEPARTMENT_UPDATES), group_id=f"{settings.consumer_group}-x",
                         auto_offset_reset="earliest", ack_policy=AckPolicy.ACK)
    async def on_message(message: KafkaMessage) -> None:
        await received.put(message.raw_message)

    await consumer.start()
    try:
        sent = accepted(note="Hồ sơ hợp lệ, chuyển phòng Hộ tịch")
        await producer.publisher.publish(sent)
        raw = await asyncio.wait_for(received.get(), 30)
    finally:
        await consumer.stop()

    headers = headers_dict(raw.headers)
    assert raw.key == RECORD.encode()
    assert headers["ce_type"] == "vn.motcua.record.accepted"
    assert headers["ce_id"] == sent.id
    assert headers["ce_specversion"] == "1.0"
    assert headers["content-type"] == "application/json"
    publish_span = next(s for s in spans.get_finished_spans() if s.kind.name == "PRODUCER")
    trace_id = format(publish_span.context.trace_id, "032x")
    assert headers["traceparent"].split("-")[1] == trace_id
    got = decode(raw.key, raw.value, raw.headers)
    assert got.data == sent.data
    assert got.id == sent.id and got.time == sent.time
    assert got.traceparent is not None and trace_id in got.traceparent


async def collecting(settings: RoutingSettings, runtimes: list[ServiceRuntime]
                     ) -> tuple[ServiceRuntime, asyncio.Queue[Envelope[Any]]]:
    """A started runtime whose handler puts every event it is given on a queue."""
    runtime = ServiceRuntime(settings)
    handled: asyncio.Queue[Envelope[Any]] = asyncio.Queue()

    async def handle(envelope: Envelope[Any]) -> None:
        await handled.put(envelope)

    runtime.subscribe(topics.DEPARTMENT_UPDATES, handle)
    await runtime.start()
    runtimes.append(runtime)
    return runtime, handled


async def test_poison_message_is_dead_lettered_with_reason_and_the_next_one_is_handled(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints
) -> None:
    settings: RoutingSettings = make_settings(RoutingSettings)
    runtime, handled = await collecting(settings, runtimes)
    topic = settings.topic(topics.DEPARTMENT_UPDATES)
    good = accepted()
    bad_headers = [(name, value) for name, value in _encoded(good).headers]
    await write_raw(endpoints.kafka, topic, b'{"record_code": 42',
                    key=RECORD.encode(), headers=bad_headers)
    await runtime.publisher.publish(good)

    got = await asyncio.wait_for(handled.get(), 30)
    assert got.id == good.id
    dead = await read_topic(endpoints.kafka, f"{topic}.dlq", count=1)
    headers = headers_dict(dead[0].headers)
    assert headers["dlq-reason"] == "malformed_json"
    assert headers["dlq-original-topic"] == topic
    assert headers["dlq-consumer-group"] == f"{settings.topic_namespace}{settings.consumer_group}"
    assert dead[0].value == b'{"record_code": 42'
    assert handled.empty()


@pytest.mark.parametrize(("broken", "reason"), [
    ("header_not_utf8", "invalid_header"),
    ("no_key", "missing_key"),
    ("value_too_large", "value_too_large"),
])
async def test_a_message_no_consumer_can_read_is_dead_lettered_and_the_next_is_handled(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints,
    broken: str, reason: str,
) -> None:
    settings: RoutingSettings = make_settings(RoutingSettings)
    runtime, handled = await collecting(settings, runtimes)
    topic = settings.topic(topics.DEPARTMENT_UPDATES)
    unreadable, good = _encoded(accepted()), accepted()
    headers = list(unreadable.headers)
    key: bytes | None = RECORD.encode()
    body = unreadable.value
    if broken == "header_not_utf8":
        headers = [(name, b"\xff\xfe" if name == "ce_id" else value) for name, value in headers]
    elif broken == "no_key":
        key = None
    else:  # valid JSON with an unknown field, so only its size is wrong
        body = body[:-1] + b',"pad":"' + b"x" * MAX_VALUE_BYTES + b'"}'
    await write_raw(endpoints.kafka, topic, body, key=key, headers=headers)
    await runtime.publisher.publish(good)

    got = await asyncio.wait_for(handled.get(), 30)
    assert got.id == good.id
    dead = await read_topic(endpoints.kafka, f"{topic}.dlq", count=1)
    assert headers_dict(dead[0].headers)["dlq-reason"] == reason
    assert dead[0].value == body
    assert handled.empty()


async def test_handler_refusal_and_repeated_crash_are_dead_lettered_without_stopping(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints
) -> None:
    settings: RoutingSettings = make_settings(RoutingSettings)
    runtime = ServiceRuntime(settings)
    handled: list[str] = []

    async def handle(envelope: Envelope[Any]) -> None:
        note = envelope.data.note
        if note == "refuse":
            raise PoisonMessage("unknown_department", "department XYZ is not in the directory")
        if note == "crash":
            raise RuntimeError("a bug")
        handled.append(note)

    runtime.subscribe(topics.DEPARTMENT_UPDATES, handle,
                      retry=RetryPolicy(initial_delay_s=0.01, unexpected_attempts=2))
    await runtime.start()
    runtimes.append(runtime)
    for note in ("refuse", "crash", "fine"):
        await runtime.publisher.publish(accepted(note=note))

    dead = await read_topic(endpoints.kafka,
                            settings.topic(topics.DEPARTMENT_UPDATES) + ".dlq", count=2)
    reasons = sorted(headers_dict(r.headers)["dlq-reason"] for r in dead)
    assert reasons == ["handler_failed", "unknown_department"]
    async with asyncio.timeout(30):
        while handled != ["fine"]:
            await asyncio.sleep(0.1)


async def test_transient_failure_is_retried_not_dead_lettered(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints
) -> None:
    settings: RoutingSettings = make_settings(RoutingSettings)
    runtime = ServiceRuntime(settings)
    calls: list[str] = []

    async def handle(envelope: Envelope[Any]) -> None:
        calls.append(envelope.id)
        if len(calls) < 6:  # more failures than `unexpected_attempts`: only transient ones go on
            raise AutoReconnect("database unavailable")

    runtime.subscribe(topics.DEPARTMENT_UPDATES, handle,
                      retry=RetryPolicy(initial_delay_s=0.01, max_delay_s=0.05, unexpected_attempts=2))
    await runtime.start()
    runtimes.append(runtime)
    event = accepted()
    await runtime.publisher.publish(event)
    async with asyncio.timeout(30):
        while len(calls) < 6:
            await asyncio.sleep(0.05)
    assert set(calls) == {event.id}
    with pytest.raises(AssertionError, match="expected 1 records"):
        await read_topic(endpoints.kafka,
                         settings.topic(topics.DEPARTMENT_UPDATES) + ".dlq", count=1, timeout=3)


def _encoded(envelope: Envelope[Any]) -> Any:
    from contracts.envelope import encode

    return encode(envelope)


async def test_topics_are_created_once_with_the_contract_partitions(
    make_settings: Callable[..., Any], endpoints: Endpoints
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from services.runtime.kafka import ensure_topics

    settings: IntakeSettings = make_settings(IntakeSettings)
    wanted = [topics.RECORDS_SUBMITTED, topics.department_topic("UBND-X-27280")]
    created = await ensure_topics(settings, wanted)
    assert created == {settings.topic(name) for name in wanted} | {
        settings.topic(name) + ".dlq" for name in wanted}
    assert await ensure_topics(settings, wanted) == set()
    admin = AIOKafkaAdminClient(**endpoints.kafka.client_options())
    await admin.start()
    try:
        described = {t["topic"]: len(t["partitions"])
                     for t in await admin.describe_topics(sorted(created))}
    finally:
        await admin.close()
    assert described[settings.topic(topics.RECORDS_SUBMITTED)] == 6
    assert described[settings.topic(topics.department_topic("UBND-X-27280"))] == 3
    assert described[settings.topic(topics.RECORDS_SUBMITTED) + ".dlq"] == 1


async def test_a_producer_that_can_no_longer_send_is_replaced_and_nothing_is_dead_lettered(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime], endpoints: Endpoints
) -> None:
    """aiokafka's producer fails every later send once its sequence is broken; the runtime
    retries the message and replaces the producer instead of dead-lettering good messages."""
    from aiokafka.errors import OutOfOrderSequenceNumber

    settings: RoutingSettings = make_settings(RoutingSettings)
    forwarder = ServiceRuntime(settings)
    forwarder.declare_topics(topics.RECORDS_ROUTED)

    async def forward(envelope: Envelope[Any]) -> None:
        await forwarder.publisher.publish(envelope, topic=topics.RECORDS_ROUTED)

    forwarder.subscribe(topics.DEPARTMENT_UPDATES, forward,
                        retry=RetryPolicy(initial_delay_s=0.01, max_delay_s=0.05, unexpected_attempts=2))
    await forwarder.start()
    runtimes.append(forwarder)
    sender = ServiceRuntime(make_settings(IntakeSettings))
    sender.declare_topics(topics.DEPARTMENT_UPDATES)
    await sender.start()
    runtimes.append(sender)

    first, second = accepted(note="một"), accepted(note="hai")
    await sender.publisher.publish(first)
    [out] = await read_topic(endpoints.kafka, settings.topic(topics.RECORDS_ROUTED), count=1)
    assert headers_dict(out.headers)["ce_id"] == first.id

    broken = forwarder.producer_keeper.current
    broken._message_accumulator.fail_all(OutOfOrderSequenceNumber())  # every later send fails
    await sender.publisher.publish(second)
    routed = await read_topic(endpoints.kafka, settings.topic(topics.RECORDS_ROUTED), count=2)
    assert [headers_dict(r.headers)["ce_id"] for r in routed] == [first.id, second.id]
    assert forwarder.producer_keeper.replacements == 1
    assert forwarder.producer_keeper.current is not broken
    with pytest.raises(AssertionError, match="expected 1 records"):
        await read_topic(endpoints.kafka,
                         settings.topic(topics.DEPARTMENT_UPDATES) + ".dlq", count=1, timeout=3)


async def test_topics_tracked_ahead_are_known_to_the_producer_before_any_send(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime]
) -> None:
    """Routing learns every department topic in one metadata request at start, instead of one
    request about every known topic each time a send meets a new one."""
    settings: RoutingSettings = make_settings(RoutingSettings)
    runtime = ServiceRuntime(settings)
    await runtime.start()
    runtimes.append(runtime)
    codes = ("UBND-X-1", "UBND-X-2", "UBND-X-3")
    for code in codes:
        await runtime.ensure_topic(*topics.department_topics(code))
    cluster = runtime.producer_keeper.current.client.cluster
    names = [settings.topic(topics.department_topic(code)) for code in codes]
    assert all(cluster.partitions_for_topic(name) is None for name in names)
    await runtime.track_topics(topics.department_topic(code) for code in codes)
    assert [len(cluster.partitions_for_topic(name) or ()) for name in names] == [3, 3, 3]


async def test_only_the_pattern_subscription_refreshes_metadata_often_and_answers_at_once(
    make_settings: Callable[..., Any], runtimes: list[ServiceRuntime]
) -> None:
    """A pattern subscription asks for every topic of the cluster at each refresh; only it needs
    a short age (new department topics join it), the producer and fixed subscriptions keep
    Kafka's default and refresh at once when a send or fetch meets an error."""
    settings: RoutingSettings = make_settings(RoutingSettings, KAFKA_METADATA_MAX_AGE_S=2.0,
                                              KAFKA_FETCH_LINGER_MS=40)
    runtime = ServiceRuntime(settings)

    async def ignore(*_: Any) -> None:
        return None

    async def ignore_batch(_: Any) -> list[Any]:
        return []

    runtime.subscribe_family(topics.UPDATES_TOPIC_MARKER, ignore, group="family")
    runtime.subscribe_batch(topics.DEPARTMENT_UPDATES, ignore_batch, group="fixed")
    await runtime.start()
    runtimes.append(runtime)

    subscribers = cast(list[Any], runtime.broker.subscribers)
    ages = {("pattern" if sub.pattern else "fixed"): sub.consumer._client._metadata_max_age_ms
            for sub in subscribers}
    assert ages == {"pattern": 2_000, "fixed": 300_000}
    assert runtime.producer_keeper.current.client._metadata_max_age_ms == 300_000
    # A fetch linger holds a fixed subscription's fetches; the pattern's answer at once.
    fetches = {("pattern" if sub.pattern else "fixed"):
               (sub.consumer._fetch_min_bytes, sub.consumer._fetch_max_wait_ms) for sub in subscribers}
    assert fetches == {"pattern": (1, 500), "fixed": (64 * 1024, 40)}
