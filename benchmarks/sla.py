"""`python -m benchmarks.sla`: firing deadlines that fall due at once among many open ones.

Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI and the broker's superuser
are set: `benchmarks.common.endpoints`) and sla_monitor as its own process, with its own Kafka
principal and a test clock; this process reads the alerts as the superuser. Then:
1. stores `--open` open deadlines (accepted, held by a department), of which `--due` reach their
   due time at the same instant T and the others weeks later;
2. moves the monitor's clock to T: each due deadline owes three alerts (breach, escalation to
   the department head, apology);
3. reads sla.alerts.v1 until all of them are there and prints the time to fire them all, the lag
   from T to each alert's arrival (p50/p99), the store query time per batch (the monitor's own
   histogram), the query plan, and the monitor's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.department.v1 import RecordAccepted
from contracts.envelope import headers_dict
from contracts.records.v1 import RecordRouted
from contracts.samples import record_submitted
from deploy.local.services import ServiceFleet
from deploy.local.stack import REPO_ROOT
from reference.calendar import load_calendar
from reference.deadlines import appointment
from reference.localtime import VIETNAM
from services.runtime.kafka_access import KafkaAccess
from services.sla_monitor.domain import Deadline, SlaEvent, SlaPolicy, evolve, next_fire_at
from services.sla_monitor.ports import DEADLINE_LAYOUT

from .common import endpoints, peak_rss_mib, percentile

CALENDAR = load_calendar()
ACCEPTED = datetime(2026, 12, 7, 8, 30, tzinfo=VIETNAM)
ALERTS_PER_DUE = 3


def template(processing_days: int) -> Deadline:
    """An accepted record's deadline, built by the monitor's own rules."""
    when = appointment(ACCEPTED, processing_days, CALENDAR)
    submitted = record_submitted().model_copy(update={
        "accepted_at": ACCEPTED, "received_at": ACCEPTED, "processing_days": processing_days,
        "appointment_original": when.due_at, "appointment_current": when.due_at})
    code = submitted.record_code
    events: list[SlaEvent] = [
        submitted,
        RecordRouted(record_code=code, procedure_code=submitted.procedure_code,
                     department_code="UBND-X-16681", department_topic="routed.UBND-X-16681.v1",
                     decision="routed", reason="benchmark", rule_version=2, attempt=1,
                     candidates_left=(), administrative_unit_code="16681"),
        RecordAccepted(record_code=code, department_code="UBND-X-16681")]
    state: Deadline | None = None
    for event in events:
        state = evolve(state, event, at=ACCEPTED, now=ACCEPTED + timedelta(minutes=5),
                       calendar=CALENDAR, policy=SlaPolicy()).state
    assert state is not None
    # The warning and the request for a reason went out before: at T only lateness is left.
    fired = state.with_fired("warning", "delay-request")
    return replace(fired, next_fire_at=next_fire_at(fired, ACCEPTED, CALENDAR, SlaPolicy()))


def documents(base: Deadline, numbers: range, day: str) -> list[dict[str, Any]]:
    """Copies of `base` under distinct record codes (9,999 a receiving unit a day)."""
    state = base.to_dict()
    docs = []
    for number in numbers:
        unit = f"000.{50 + number // 9999 // 100:02d}.{number // 9999 % 100:02d}.H40"
        code = f"{unit}-{day}-{number % 9999 + 1:04d}"
        docs.append({"_id": code, "layout": DEADLINE_LAYOUT, "revision": base.revision,
                     "next_fire_at": base.next_fire_at,
                     "traceparent": None, "state": {**state, "record_code": code}})
    return docs


async def fill(uri: str, database: str, open_count: int, due: int) -> float:
    """Store the deadlines, several bulk inserts in flight; returns seconds taken."""
    soon, later = template(5), template(30)  # due Mon 14 Dec 2026; due late January 2027
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    collection = client[database]["deadlines"]
    chunk = 5000
    plan = [(soon, range(i, min(i + chunk, due)), "261207")
            for i in range(0, due, chunk)]
    plan += [(later, range(i, min(i + chunk, open_count - due)), "261208")
             for i in range(0, open_count - due, chunk)]
    started = time.perf_counter()
    limit = asyncio.Semaphore(4)

    async def insert(base: Deadline, codes: range, prefix: str) -> None:
        async with limit:
            await collection.insert_many(documents(base, codes, prefix), ordered=False)

    done = 0
    for start in range(0, len(plan), 40):
        await asyncio.gather(*(insert(*step) for step in plan[start:start + 40]))
        done += sum(len(step[1]) for step in plan[start:start + 40])
        print(f"  stored {done:,}/{open_count:,} deadlines", flush=True)
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def server_of(uri: str) -> str:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        info = await client.admin.command("buildInfo")
        return f"MongoDB {info.get('version', '?')}"
    finally:
        await client.close()


async def plan_of(uri: str, database: str, at: datetime) -> str:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        explained = await client[database]["deadlines"].find(
            {"next_fire_at": {"$lte": at}}).sort("next_fire_at", 1).limit(500).explain()
        text = str(explained.get("queryPlanner", explained))
        stages = re.findall(r"'stage': '([A-Z_]+)'", text)
        return " > ".join(dict.fromkeys(stages)) or text[:120]
    finally:
        await client.close()


async def collect(kafka: KafkaAccess, topic: str, wanted: int, started: float, limit_s: float
                  ) -> tuple[list[float], int]:
    """Arrival times (s after `started`) of the first copy of each alert, and copies seen."""
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), auto_offset_reset="earliest",
                                group_id=f"bench-{uuid.uuid4().hex[:6]}", enable_auto_commit=False)
    await consumer.start()
    arrivals: dict[str, float] = {}
    copies = 0
    try:
        while len(arrivals) < wanted and time.perf_counter() - started < limit_s:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            now = time.perf_counter() - started
            for records in batch.values():
                for record in records:
                    copies += 1
                    arrivals.setdefault(headers_dict(record.headers)["ce_id"], now)
    finally:
        await consumer.stop()
    return sorted(arrivals.values()), copies


def histogram(metrics: str, name: str) -> tuple[float, int, list[tuple[float, int]]]:
    total = float(re.search(rf"^{name}_sum (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    count = int(float(re.search(rf"^{name}_count (\S+)$", metrics, re.M).group(1)))  # type: ignore[union-attr]
    buckets = [(float(b), int(float(c))) for b, c in
               re.findall(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', metrics, re.M) if b != "+Inf"]
    return total, count, buckets


def bucket_quantile(buckets: list[tuple[float, int]], count: int, q: float) -> float:
    """Upper bound of the bucket holding quantile `q` (a histogram cannot say more)."""
    for bound, cumulative in buckets:
        if cumulative >= q * count:
            return bound
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sla", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1_000_000, help="open deadlines stored")
    parser.add_argument("--due", type=int, default=10_000, help="of those, due at the same instant")
    parser.add_argument("--batch", type=int, default=500, help="deadlines per scheduler query")
    parser.add_argument("--limit-s", type=float, default=3600, help="give up after this long")
    args = parser.parse_args()
    if not 0 < args.due <= args.open:
        parser.error("--due must be between 1 and --open")
    due_at = template(5).due_current_at
    wanted = args.due * ALERTS_PER_DUE
    logs = REPO_ROOT / ".local" / "bench-logs"
    with endpoints() as ends:
        run = uuid.uuid4().hex[:8]
        namespace, database = f"bench{run}.", f"bench{run}_sla"
        fleet = ServiceFleet({**ends.env, "MOTCUA_TOPIC_NAMESPACE": namespace, "LOG_LEVEL": "WARNING",
                              "SLA_MONGODB_DATABASE": database, "MOTCUA_TEST_CLOCK": "true",
                              "MOTCUA_TEST_CLOCK_START": (due_at - timedelta(hours=1)).isoformat(),
                              "SLA_BATCH_SIZE": str(args.batch), "SLA_TICK_S": "0.2"},
                             logs, names=("sla_monitor",), authority=ends.authority, issuer=ends.issuer)
        uri, kafka = ends.env["MONGODB_URI"], ends.kafka
        try:
            service = fleet.start("sla_monitor")  # creates the index before the documents arrive
            print(f"storing {args.open:,} open deadlines ({args.due:,} due at {due_at.isoformat()})")
            fill_s = asyncio.run(fill(uri, database, args.open, args.due))
            query_plan = asyncio.run(plan_of(uri, database, due_at))
            server = asyncio.run(server_of(uri))
            idle = httpx.get(f"{service.base_url}/metrics").text
            idle_sum, idle_count, _ = histogram(idle, "motcua_sla_due_query_seconds")
            started = time.perf_counter()
            httpx.post(f"{service.base_url}/test-clock/set", json={"at": due_at.isoformat()},
                       headers=ends.headers("admin")).raise_for_status()
            arrivals, copies = asyncio.run(collect(kafka, namespace + topics.SLA_ALERTS, wanted,
                                                   started, args.limit_s))
            metrics = httpx.get(f"{service.base_url}/metrics").text
            memory = peak_rss_mib(service.process.pid) if service.process.pid else float("nan")
        finally:
            fleet.stop_all()
            asyncio.run(_drop(uri, database))
    total, count, buckets = histogram(metrics, "motcua_sla_due_query_seconds")
    idle_buckets = dict(histogram(idle, "motcua_sla_due_query_seconds")[2])
    busy = [(b, c - idle_buckets.get(b, 0)) for b, c in buckets]
    batches = count - idle_count
    fired_in = arrivals[-1] if arrivals else float("nan")
    print(f"sla_monitor: {args.open:,} open deadlines, {args.due:,} due at once, batches of "
          f"{args.batch}, one process, loopback, store {server}")
    print(f"  stored in          {fill_s:8.1f} s ({args.open / fill_s:,.0f} deadlines/s)")
    print(f"  query plan         {query_plan}")
    print(f"  fired              {len(arrivals):,}/{wanted:,} alerts in {fired_in:.2f} s "
          f"({len(arrivals) / fired_in:,.0f} alerts/s, {args.due / fired_in:,.0f} deadlines/s); "
          f"{copies - len(arrivals)} duplicate copies")
    print(f"  lag due->received  p50 {percentile(arrivals, 50):.2f} s, p99 {percentile(arrivals, 99):.2f} s")
    if batches > 0:
        mean = (total - idle_sum) / batches
        print(f"  due query          {batches} batches: mean {mean * 1000:.1f} ms, p99 <= "
              f"{bucket_quantile(busy, batches, 0.99) * 1000:.0f} ms (idle query mean "
              f"{idle_sum / max(idle_count, 1) * 1000:.1f} ms over {idle_count} ticks)")
    print(f"  sla_monitor peak RSS {memory:6.1f} MiB")


async def _drop(uri: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


if __name__ == "__main__":
    main()
