"""`python -m benchmarks.notifier`: notifications delivered per second, with the retry path taken.

Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI and the broker's superuser
are set: `benchmarks.common.endpoints`), the loopback sinks (`deploy/local/sinks.py`: SMTP server
and HTTP SMS gateway) in this process, and the notifier as its own process with its own Kafka
principal (test clock on a working morning, so no quiet hours). Events are published as the
broker's superuser. Both servers
refuse the first attempt of a share of the messages (SMTP 451, HTTP 503), so those go through the
backoff and are sent again. Then:
1. publishes N submissions (half the applicants prefer email, half SMS) and one refusal for every
   third record (a formal notice, sent as a message of its own);
2. waits until every expected notification has reached its server, and prints the rate per
   channel, the retries, the latency from an event's publication to the server's receipt of its
   message (p50/p99), duplicate copies, the notifier's peak memory and CPU seconds;
3. the reference, in the same run: the notifier's own channel adapters in a process of their own
   (no Kafka, no database, no retries), sending the same number of messages to the same sinks
   with the same concurrency: what the sinks and adapters allow on this machine.

The fold window (`--fold-s`) is part of every latency: a notice waits that long for others to
fold with.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts.department.v1 import RecordRejected
from contracts.envelope import Envelope, EventPayload, encode
from contracts.records.v1 import RecordSubmitted
from contracts.samples import record_submitted
from deploy.local.services import ServiceFleet
from deploy.local.sinks import Outbox, Sinks
from deploy.local.stack import REPO_ROOT
from reference.localtime import VIETNAM
from services.notifier.channels import EmailChannel, EmailSettings, SmsChannel, SmsSettings
from services.notifier.domain import Rendered, notification_id
from services.notifier.settings import NotifierSettings
from services.runtime.kafka_access import KafkaAccess

from .common import BenchEndpoints, cpu_seconds, endpoints, peak_rss_mib, percentile

MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=VIETNAM)


def events(n: int, run: str) -> list[tuple[EventPayload, str, str]]:
    """(event, channel, address): N submissions, then a refusal for every third record."""
    found: list[tuple[EventPayload, str, str]] = []
    refusals: list[tuple[EventPayload, str, str]] = []
    base = record_submitted()
    for i in range(n):
        code = f"000.{60 + i // 9999 // 100:02d}.{i // 9999 % 100:02d}.H40-{run}-{i % 9999 + 1:04d}"
        email, phone = f"bench{i}@example.vn", f"09{i:08d}"
        channel = "email" if i % 2 else "sms"
        applicant = base.applicant.model_copy(update={"email": email, "phone": phone,
                                                      "preferred_channel": channel})
        submitted: RecordSubmitted = base.model_copy(update={"record_code": code, "applicant": applicant})
        address = email if channel == "email" else phone
        found.append((submitted, channel, address))
        if i % 3 == 0:
            refusals.append((RecordRejected(record_code=code, department_code="UBND-X-16681",
                                            reason="Không đủ điều kiện"), channel, address))
    return found + refusals


async def publish(kafka: KafkaAccess, namespace: str, items: list[tuple[EventPayload, str, str]]
                  ) -> dict[str, float]:
    """Publish every event; the expected notification id → when its event was handed over."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", linger_ms=5)
    await producer.start()
    published: dict[str, float] = {}
    try:
        for payload, channel, address in items:
            envelope = Envelope.wrap(payload, source="/motcua/bench", time=MORNING)
            message = encode(envelope)
            await producer.send(namespace + payload.topic, message.value, key=message.key,
                                headers=message.headers)
            published[notification_id(envelope.id, "applicant", channel, address)] = time.perf_counter()
        await producer.flush()
    finally:
        await producer.stop()
    return published


def reference_sends(n: int, smtp_port: int, http_port: int, concurrency: int) -> None:
    """In a process of its own: N messages through the notifier's channel adapters, half email,
    half SMS, `concurrency` in flight (the notifier's default), nothing stored or published."""

    async def send_all() -> None:
        message = Rendered(template="receipt", language="vi", subject="Tiếp nhận hồ sơ",
                           text="Hồ sơ của ông/bà đã được tiếp nhận.", data={})
        slots = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession() as http:
            email = EmailChannel(EmailSettings(host="127.0.0.1", port=smtp_port, start_tls=False,
                                               sender="no-reply@motcua.local"))
            sms = SmsChannel(SmsSettings(gateway_url=f"http://127.0.0.1:{http_port}/sms"), http)

            async def one(i: int) -> None:
                async with slots:
                    if i % 2:
                        await email.send(f"ref{i}@example.vn", message, reference=f"ref-{i}")
                    else:
                        await sms.send(f"08{i:08d}", message, reference=f"ref-{i}")

            await asyncio.gather(*(one(i) for i in range(n)))
            await email.close()

    asyncio.run(send_all())


async def reference(n: int, concurrency: int) -> dict[str, float]:
    """Messages/s the adapters reach against fresh sinks that refuse nothing."""
    outbox = Outbox(refuse_share=0.0)
    sinks = await Sinks(outbox).start()
    try:
        worker = multiprocessing.get_context("spawn").Process(
            target=reference_sends, args=(n, sinks.smtp_port, sinks.http_port, concurrency))
        started = time.perf_counter()
        await asyncio.to_thread(worker.start)
        await asyncio.to_thread(worker.join)
        elapsed = time.perf_counter() - started
    finally:
        await sinks.stop()
    return {"sent": len(outbox.first), "elapsed": elapsed}


def metric_sum(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


async def run(args: argparse.Namespace, ends: BenchEndpoints) -> dict[str, Any]:
    env = ends.env
    outbox = Outbox(refuse_share=args.fail_share)
    sinks = await Sinks(outbox).start()
    run_id = uuid.uuid4().hex[:8]
    namespace, database = f"bench{run_id}.", f"bench{run_id}_notifier"
    fleet = ServiceFleet({**env, "MOTCUA_TOPIC_NAMESPACE": namespace, "LOG_LEVEL": "WARNING",
                          "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": "true",
                          "MOTCUA_TEST_CLOCK_START": MORNING.isoformat(),
                          "NOTIFIER_MONGODB_DATABASE": database, **sinks.notifier_env(),
                          "NOTIFIER_FOLD_WINDOW_S": str(args.fold_s),
                          "NOTIFIER_RATE_LIMIT_MESSAGES": "100", "NOTIFIER_RETRY_BASE_S": "0.5",
                          "NOTIFIER_RETRY_CAP_S": "5", "NOTIFIER_BATCH_SIZE": str(args.batch)},
                         REPO_ROOT / ".local" / "bench-logs", names=("notifier",),
                         authority=ends.authority, issuer=ends.issuer)
    try:
        service = await asyncio.to_thread(fleet.start, "notifier")
        cpu_before = cpu_seconds(service.process.pid)
        items = events(args.n, time.strftime("%y%m%d"))
        print(f"publishing {len(items):,} events ({args.n:,} submissions)", flush=True)
        started = time.perf_counter()
        published = await publish(ends.kafka, namespace, items)
        publish_s = time.perf_counter() - started
        while (len(outbox.first.keys() & published.keys()) < len(published)  # noqa: ASYNC110
               and time.perf_counter() - started < args.limit_s):
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=service.base_url) as client:
            metrics = (await client.get("/metrics")).text
        memory = peak_rss_mib(service.process.pid) if service.process.pid else float("nan")
        cpu = cpu_seconds(service.process.pid) - cpu_before
    finally:
        await asyncio.to_thread(fleet.stop_all)
        await sinks.stop()
        client_ = AsyncMongoClient[dict[str, Any]](env["MONGODB_URI"])
        await client_.drop_database(database)
        await client_.close()
    latencies = sorted(outbox.first[k].received_at - published[k] for k in published if k in outbox.first)
    return {"published": published, "outbox": outbox, "started": started, "publish_s": publish_s,
            "latencies": latencies, "retries": metric_sum(metrics, "motcua_notifications_retried_total"),
            "failed": metric_sum(metrics, "motcua_notifications_failed_total"), "memory": memory,
            "cpu": cpu, "reference": await reference(len(items), NotifierSettings.model_fields[
                "send_concurrency"].default)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.notifier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="submissions (applicants) published")
    parser.add_argument("--fail-share", type=float, default=0.2,
                        help="share of messages whose first attempt the servers refuse")
    parser.add_argument("--fold-s", type=float, default=0.2, help="the notifier's fold window")
    parser.add_argument("--batch", type=int, default=200, help="messages claimed and sent per batch")
    parser.add_argument("--limit-s", type=float, default=600, help="give up after this long")
    args = parser.parse_args()
    with endpoints() as ends:
        result = asyncio.run(run(args, ends))
    published: dict[str, float] = result["published"]
    outbox: Outbox = result["outbox"]
    delivered = [k for k in published if k in outbox.first]
    last = max((outbox.first[k].received_at for k in delivered), default=float("nan"))
    elapsed = last - result["started"]
    per_channel = Counter(outbox.first[k].channel for k in delivered)
    latencies: list[float] = result["latencies"]
    print(f"notifier: {len(published):,} notifications ({args.n:,} receipts, "
          f"{len(published) - args.n:,} refusals), one process, loopback SMTP and HTTP gateway")
    print(f"  published in       {result['publish_s']:8.2f} s")
    print(f"  delivered          {len(delivered):,}/{len(published):,} in {elapsed:.2f} s "
          f"({len(delivered) / elapsed:,.0f} notifications/s)")
    for channel, count in sorted(per_channel.items()):
        print(f"    {channel:<6}           {count:,} ({count / elapsed:,.0f}/s)")
    print(f"  retry path         {len(outbox.refused):,} first attempts refused (451/503), "
          f"{result['retries']:.0f} retries scheduled, {result['failed']:.0f} given up")
    print(f"  duplicates         {outbox.copies} copies of a key already received")
    print(f"  publish->received  p50 {percentile(latencies, 50):.2f} s, "
          f"p99 {percentile(latencies, 99):.2f} s (fold window {args.fold_s} s, retry backoff "
          f"0.5-5 s included)")
    print(f"  notifier peak RSS  {result['memory']:6.1f} MiB")
    print(f"  notifier CPU       {1000 * result['cpu'] / max(len(delivered), 1):6.2f} s per 1,000 "
          "notifications")
    ref = result["reference"]
    rate = len(delivered) / elapsed
    print(f"reference: the channel adapters alone, {ref['sent']:,} messages, no Kafka, no database")
    print(f"  sent               {ref['sent'] / ref['elapsed']:,.0f} messages/s "
          f"(notifier / reference {rate / (ref['sent'] / ref['elapsed']):.2f}x)")


if __name__ == "__main__":
    main()
