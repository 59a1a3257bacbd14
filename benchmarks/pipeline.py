"""`python -m benchmarks.pipeline`: applications per second and latency through all four services,
next to a plain-aiokafka chain of the same shape on the same broker.

The pipeline. Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI and the
broker's superuser are set: `benchmarks.common.endpoints`), the loopback sinks (SMTP server, SMS
gateway) in a thread of this process, and intake, routing, sla_monitor and notifier as four
processes (each its own Kafka principal; own topic namespace, databases and consumer groups;
test clock on a working morning, so no SMS waits for quiet hours). Submits N applications over
intake's HTTP API with bounded concurrency and notes, per record code:
- submit: just before its POST (the response names the code);
- submitted / routed: its first message on `records.submitted.v1` / `records.routed.v1`, read by
  a consumer in this process (assigned, no group, from the beginning);
- notified: the first email or SMS to reach the sinks that names the code (every applicant
  template shows it), the receipt or the routed notice or a digest of both, whichever is first.
This process reads and writes Kafka as the broker's superuser.

What is compared. The services are not a chain of four: intake publishes `records.submitted`,
which routing, sla_monitor and notifier each consume in their own group; routing publishes
`records.routed` (and the department's topic), which sla_monitor, notifier and intake consume;
the notifier sends each notice out (SMTP/HTTP) and publishes an outcome. A record is *routed*
after intake → routing and *notified* after intake → notifier: two processes deep each, not
four. So the reference is the same graph with the services' work removed: four processes
(`benchmarks.passthrough`), each consuming exactly the topics its service consumes in one group
and forwarding every message, unchanged, to the topics its service produces:

    producer (as the HTTP clients, same concurrency) → in
    intake      in → submitted;  routed → (nothing)
    routing     submitted → dept, routed
    sla_monitor submitted, routed → (nothing)
    notifier    submitted, routed → notified, outcomes     (notified: the SMTP/SMS hop)

with this process timing first arrivals on submitted, routed and notified. The messages are a
copy of one of the run's own `records.submitted` messages (value and CloudEvents headers), with
the topics' partition counts. Two runs of it: `per-message`, the services' delivery semantics
(one message at a time, acks=all with idempotence, commit after the send was confirmed), and
`batched` (up to 500 per fetch, one commit per batch), the best a pass-through does. The
stages authenticate as the superuser (the reference topics are in no service's ACLs), whose
credentials they get through their environment. The ratios say how much the services' own work
(validation, durable MongoDB writes, templates, the fold window) costs over the bare Kafka hops;
the one hop that differs is the first: HTTP into intake against a Kafka topic into its stand-in.

The clients keep `--concurrency` requests (or sends) in flight, so every stage runs flat out
and the latencies are mostly time spent queued before the slowest stage: they follow the
throughput, they are not the latency of one record on an idle system.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from contracts import topics
from deploy.local.services import SERVICES, ServiceFleet
from deploy.local.sinks import Outbox, sinks_in_thread
from deploy.local.stack import REPO_ROOT
from reference.catalog import load_catalog
from reference.localtime import VIETNAM
from reference.units import load_units
from services.intake.examples import applications
from services.runtime.kafka_access import KafkaAccess

from .common import (
    BenchEndpoints,
    cpu_seconds,
    endpoints,
    open_loop,
    peak_rss_mib,
    percentile,
    post_applications,
    provision_department_topics,
)

MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=VIETNAM)
RECORD_CODE = re.compile(r"[0-9A-Z.]+-[0-9]{6}-[0-9]{4}")
LOGS = REPO_ROOT / ".local" / "bench-logs"
Headers = list[tuple[str, bytes]]

# The reference graph: stage → {consumed logical topic: produced logical topics}, and partitions.
REFERENCE: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {"in": ("submitted",), "routed": ()},
    "routing": {"submitted": ("dept", "routed")},
    "sla_monitor": {"submitted": (), "routed": ()},
    "notifier": {"submitted": ("notified", "outcomes"), "routed": ("notified", "outcomes")},
}
PARTITIONS = {"in": topics.RECORD_TOPIC_PARTITIONS, "submitted": topics.RECORD_TOPIC_PARTITIONS,
              "routed": topics.RECORD_TOPIC_PARTITIONS, "dept": topics.OTHER_TOPIC_PARTITIONS,
              "notified": topics.OTHER_TOPIC_PARTITIONS, "outcomes": topics.OTHER_TOPIC_PARTITIONS}


@dataclass
class Watch:
    """First arrival (perf_counter) of each key per topic, and one message to copy."""

    first: dict[str, dict[str, float]] = field(default_factory=dict)
    sample: tuple[bytes, Headers] | None = None


@dataclass
class Figures:
    """One run's readings: when each key started, and when it reached each stage."""

    started: dict[str, float]
    reached: dict[str, dict[str, float]]
    memory: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process used while the run's messages went through."""

    def latencies(self, stage: str) -> list[float]:
        reached = self.reached.get(stage, {})
        return sorted(reached[k] - t for k, t in self.started.items() if k in reached)

    def complete(self, stage: str) -> int:
        return len(self.reached.get(stage, {}).keys() & self.started.keys())

    def throughput(self, stage: str) -> float:
        """Keys per second from the first start to the last key reaching `stage`."""
        reached = self.reached.get(stage, {})
        ends = [reached[k] for k in self.started if k in reached]
        if not ends:
            return float("nan")
        return len(ends) / (max(ends) - min(self.started.values()))


async def assigned(kafka: KafkaAccess, names: list[str], limit_s: float = 60) -> Any:
    """A consumer of every partition of `names` from the beginning: no group, no rebalance wait."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    partitions: list[Any] = []
    deadline = time.monotonic() + limit_s
    try:
        for name in names:
            while not (found := (await admin.describe_topics([name]))[0]["partitions"]):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {name} does not exist")
                await asyncio.sleep(0.2)
            partitions += [TopicPartition(name, p["partition"]) for p in found]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer


async def watch(consumer: Any, found: Watch, stop: asyncio.Event, sample_topic: str) -> None:
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=100, max_records=5000)
        now = time.perf_counter()
        for partition, records in batch.items():
            first = found.first.setdefault(partition.topic, {})
            for record in records:
                first.setdefault(record.key.decode(), now)
                if found.sample is None and partition.topic == sample_topic:
                    found.sample = (record.value, list(record.headers))


async def submit(base_url: str, bodies: list[dict[str, Any]], concurrency: int,
                 headers: dict[str, str], rate: float | None
                 ) -> tuple[dict[str, float], dict[str, float], Counter[int]]:
    """POST every body; the record code of each accepted one → perf_counter just before its POST
    (open loop: the instant it was due), and → when its answer came."""
    posted = await post_applications(base_url, bodies, concurrency, headers, rate=rate)
    return ({p.record_code: p.at for p in posted if p.record_code is not None},
            {p.record_code: p.at + p.took for p in posted if p.record_code is not None},
            Counter(p.status for p in posted))


def notices(outbox: Outbox, seen: int, codes: set[str], notified: dict[str, float]) -> int:
    """File the applicant messages received since `seen` under the codes they name."""
    deliveries = outbox.snapshot()
    for delivery in deliveries[seen:]:
        if delivery.channel == "webhook":
            continue  # supervisors', not an applicant's
        for code in RECORD_CODE.findall(f"{delivery.subject}\n{delivery.text}"):
            if code in codes and delivery.received_at < notified.get(code, float("inf")):
                notified[code] = delivery.received_at
    return len(deliveries)


async def sla_counts(mongodb_uri: str, database: str) -> tuple[int, int]:
    """Deadlines the SLA monitor holds, and how many of them know their department."""
    client = AsyncMongoClient[dict[str, Any]](mongodb_uri)
    try:
        deadlines = client[database]["deadlines"]
        return (await deadlines.count_documents({}),
                await deadlines.count_documents({"state.department_code": {"$ne": None}}))
    finally:
        await client.close()


async def pipeline(args: argparse.Namespace, ends: BenchEndpoints, run: str) -> Figures:
    namespace = f"bench{run}."
    env = ends.env
    bodies = applications(load_catalog(), load_units(), args.n, seed=11)
    databases = {name: f"bench{run}_{name}" for name in SERVICES}
    outbox = Outbox()
    with sinks_in_thread(outbox) as sinks:
        # The consumer groups are the services' own, under the run's namespace (so unshared with
        # other runs): the groups the ACLs grant; an overridden group would be refused.
        own = {f"{prefix}MONGODB_DATABASE": databases[name]
               for name, (prefix, _) in SERVICES.items()}
        fleet = ServiceFleet({**env, **own, **sinks.notifier_env(), "MOTCUA_TOPIC_NAMESPACE": namespace,
                              "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": "true",
                              "MOTCUA_TEST_CLOCK_START": MORNING.isoformat(), "LOG_LEVEL": "WARNING",
                              "NOTIFIER_FOLD_WINDOW_S": str(args.fold_s),
                              "NOTIFIER_RATE_LIMIT_MESSAGES": "100"}, LOGS, preferred_ports=False,
                             authority=ends.authority, issuer=ends.issuer)
        stop = asyncio.Event()
        watcher: Any = None
        watching: asyncio.Task[None] | None = None
        try:
            await provision_department_topics(ends.kafka, namespace)
            for name in SERVICES:
                await asyncio.to_thread(fleet.start, name)
            cpu_before = {name: cpu_seconds(s.process.pid) for name, s in fleet.running.items()}
            submitted_topic = namespace + topics.RECORDS_SUBMITTED
            watcher = await assigned(ends.kafka, [submitted_topic, namespace + topics.RECORDS_ROUTED])
            found = Watch()
            watching = asyncio.create_task(watch(watcher, found, stop, submitted_topic))
            print(f"pipeline: submitting {args.n:,} applications", flush=True)
            started, answered, statuses = await submit(
                fleet.running["intake"].base_url, bodies, args.concurrency, ends.headers("portal"),
                args.rate)
            codes = set(started)
            notified: dict[str, float] = {}
            seen = 0
            routed = found.first.setdefault(namespace + topics.RECORDS_ROUTED, {})
            deadline = time.perf_counter() + args.limit_s
            while time.perf_counter() < deadline:
                seen = notices(outbox, seen, codes, notified)
                if codes <= notified.keys() and codes <= routed.keys():
                    break
                await asyncio.sleep(0.2)
            total = held = 0
            sla_deadline = min(deadline, time.perf_counter() + args.sla_wait_s)
            while time.perf_counter() < sla_deadline:
                total, held = await sla_counts(env["MONGODB_URI"], databases["sla_monitor"])
                if held >= len(codes):
                    break
                await asyncio.sleep(0.5)
            memory = {name: peak_rss_mib(s.process.pid) if s.process.pid else float("nan")
                      for name, s in fleet.running.items()}
            cpu = {name: cpu_seconds(s.process.pid) - cpu_before.get(name, float("nan"))
                   for name, s in fleet.running.items()}
        finally:
            stop.set()
            if watching is not None:
                await watching
            if watcher is not None:
                await watcher.stop()
            await asyncio.to_thread(fleet.stop_all)
            client = AsyncMongoClient[dict[str, Any]](env["MONGODB_URI"])
            for database in databases.values():
                await client.drop_database(database)
            await client.close()
    if found.sample is None:
        raise RuntimeError("no records.submitted message was seen")
    return Figures(started, {"answered": answered,
                             "submitted": found.first.get(submitted_topic, {}), "routed": routed,
                             "notified": notified}, memory,
                   {"statuses": statuses, "sla": (total, held), "copies": outbox.copies,
                    "sample": found.sample}, cpu)


async def produce(kafka: KafkaAccess, topic: str, n: int, sample: tuple[bytes, Headers],
                  concurrency: int, rate: float | None) -> dict[str, float]:
    """N copies of the sample, by `concurrency` senders each waiting for the broker (as the HTTP
    clients wait for intake), or at `rate` per second as the clients send in the open loop;
    key → perf_counter just before its send (open loop: the instant it was due)."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    started: dict[str, float] = {}
    keys = iter(range(n))
    value, headers = sample

    async def send(i: int, at: float) -> None:
        key = f"REF.{i:06d}"
        started[key] = at
        await producer.send_and_wait(topic, value, key=key.encode(), headers=headers)

    async def sender() -> None:
        for i in keys:
            await send(i, time.perf_counter())

    try:
        if rate is not None:
            await open_loop(n, rate, send)
        else:
            await asyncio.gather(*(sender() for _ in range(concurrency)))
    finally:
        await producer.stop()
    return started


async def reference(args: argparse.Namespace, kafka: KafkaAccess, run: str, mode: str,
                    sample: tuple[bytes, Headers]) -> Figures:
    namespace = f"bench{run}.ref-{mode}."
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(namespace + name, count, 1)
                                   for name, count in PARTITIONS.items()])
    finally:
        await admin.close()
    stages: dict[str, asyncio.subprocess.Process] = {}
    stop = asyncio.Event()
    watcher: Any = None
    watching: asyncio.Task[None] | None = None
    forwarded: dict[str, str] = {}
    # The credentials go through the environment: a command line is anyone's to read (`ps`).
    stage_env = {**os.environ, "KAFKA_SASL_USERNAME": kafka.username,
                 "KAFKA_SASL_PASSWORD": kafka.password, "KAFKA_SECURITY_PROTOCOL": kafka.protocol}
    try:
        for name, routes in REFERENCE.items():
            command = [sys.executable, "-m", "benchmarks.passthrough",
                       "--bootstrap", kafka.bootstrap_servers,
                       "--group", f"bench{run}-ref-{mode}-{name}", "--mode", mode]
            for source, targets in routes.items():
                command += ["--forward", namespace + source + "=" + ",".join(namespace + t for t in targets)]
            stages[name] = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env=stage_env)
        for name, stage in stages.items():
            assert stage.stdout is not None
            line = await asyncio.wait_for(stage.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"reference stage {name} did not start: {line!r}")
        watched = [namespace + name for name in ("submitted", "routed", "notified")]
        watcher = await assigned(kafka, watched)
        found = Watch()
        watching = asyncio.create_task(watch(watcher, found, stop, ""))
        print(f"reference ({mode}): producing {args.n:,} messages", flush=True)
        cpu_before = {name: cpu_seconds(stage.pid) for name, stage in stages.items()}
        started = await produce(kafka, namespace + "in", args.n, sample, args.concurrency,
                                args.rate)
        deadline = time.perf_counter() + args.limit_s
        while time.perf_counter() < deadline:
            if all(started.keys() <= found.first.get(name, {}).keys() for name in watched):
                break
            await asyncio.sleep(0.2)
        memory = {name: peak_rss_mib(stage.pid) for name, stage in stages.items()}
        cpu = {name: cpu_seconds(stage.pid) - cpu_before[name] for name, stage in stages.items()}
    finally:
        stop.set()
        if watching is not None:
            await watching
        if watcher is not None:
            await watcher.stop()
        for name, stage in stages.items():
            assert stage.stdin is not None and stage.stdout is not None
            stage.stdin.close()
            try:
                forwarded[name] = (await asyncio.wait_for(stage.stdout.read(), 30)).decode().strip()
                await asyncio.wait_for(stage.wait(), 10)
            except TimeoutError:
                stage.kill()
                await stage.wait()
    return Figures(started, {name: found.first.get(namespace + name, {})
                             for name in ("submitted", "routed", "notified")}, memory,
                   {"forwarded": forwarded}, cpu)


def per_thousand(cpu: dict[str, float], n: int) -> str:
    return ", ".join(f"{name} {seconds * 1000 / n:.1f}" for name, seconds in cpu.items())


async def drop_topics(kafka: KafkaAccess, prefix: str) -> None:
    """Delete this run's topics (its namespace is unique) from the shared broker."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        mine = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


async def measure(args: argparse.Namespace, ends: BenchEndpoints
                  ) -> tuple[Figures, dict[str, Figures]]:
    run = uuid.uuid4().hex[:8]
    try:
        services = await pipeline(args, ends, run)
        references = {mode: await reference(args, ends.kafka, run, mode, services.extra["sample"])
                      for mode in ("per-message", "batched")}
    finally:
        await drop_topics(ends.kafka, f"bench{run}.")
    return services, references


def seconds(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):7.3f} s   p99 {percentile(values, 99):7.3f} s"


def ratio(a: float, b: float) -> str:
    return f"{a / b:8.3f}x" if b else "     n/a"


def report(args: argparse.Namespace, services: Figures, references: dict[str, Figures]) -> None:
    n = len(services.started)
    statuses: Counter[int] = services.extra["statuses"]
    value, headers = services.extra["sample"]
    header_bytes = sum(len(k) + len(v) for k, v in headers)
    arrivals = (f"open loop at {args.rate:g}/s on at most {args.concurrency} connections"
                if args.rate else f"{args.concurrency} concurrent clients")
    print(f"\nmachine: {os.cpu_count()} cores; N = {args.n:,}; {arrivals}; "
          f"message {len(value):,} B value + {header_bytes:,} B headers")
    print("pipeline: intake, routing, sla_monitor, notifier as separate processes")
    print(f"  accepted             {statuses.get(201, 0):,}/{args.n:,} "
          f"(responses {dict(sorted(statuses.items()))})")
    print(f"  end to end           {services.throughput('notified'):8.1f} applications/s "
          f"(first submit to last notified; {services.complete('notified'):,}/{n:,} notified)")
    print(f"  routed               {services.throughput('routed'):8.1f} applications/s "
          f"({services.complete('routed'):,}/{n:,} routed)")
    print(f"  submit->answered     {seconds(services.latencies('answered'))}   (HTTP, intake's writes)")
    print(f"  submit->submitted    {seconds(services.latencies('submitted'))}   (HTTP, intake, outbox relay)")
    print(f"  submit->routed       {seconds(services.latencies('routed'))}")
    print(f"  submit->notified     {seconds(services.latencies('notified'))}   "
          f"(fold window {args.fold_s} s included)")
    total, held = services.extra["sla"]
    print(f"  sla_monitor          {total:,} deadlines, {held:,} with their department")
    print(f"  duplicate messages   {services.extra['copies']} at the sinks")
    print("  peak RSS             " + ", ".join(f"{k} {v:.0f} MiB" for k, v in services.memory.items()))
    print("  CPU s / 1,000 apps   " + per_thousand(services.cpu, n))
    for mode, figures in references.items():
        print(f"reference ({mode}): plain aiokafka, the same graph, four pass-through processes")
        print(f"  end to end           {figures.throughput('notified'):8.1f} messages/s "
              f"({figures.complete('notified'):,}/{len(figures.started):,} notified)")
        print(f"  in->submitted        {seconds(figures.latencies('submitted'))}")
        print(f"  in->routed           {seconds(figures.latencies('routed'))}")
        print(f"  in->notified         {seconds(figures.latencies('notified'))}")
        print("  peak RSS             " + ", ".join(f"{k} {v:.0f} MiB" for k, v in figures.memory.items()))
        print("  CPU s / 1,000 msgs   " + per_thousand(figures.cpu, len(figures.started)))
        print("  stages, messages     "
              + ", ".join(f"{k} {v}" for k, v in figures.extra["forwarded"].items()))
    for mode, figures in references.items():
        print(f"pipeline / reference ({mode})")
        throughput = ratio(services.throughput("notified"), figures.throughput("notified"))
        print(f"  throughput           {throughput}")
        for stage in ("routed", "notified"):
            ours, theirs = services.latencies(stage), figures.latencies(stage)
            print(f"  {stage + ' latency':<20} p50 {ratio(percentile(ours, 50), percentile(theirs, 50))}"
                  f"   p99 {ratio(percentile(ours, 99), percentile(theirs, 99))}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="applications submitted")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="concurrent HTTP clients (and senders); with --rate, the most "
                             "connections in flight")
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: applications (and reference messages) per second, sent "
                             "on schedule whatever the answers; latencies then are those of a "
                             "system at that load, not of a queue")
    parser.add_argument("--fold-s", type=float, default=0.2, help="the notifier's fold window")
    parser.add_argument("--limit-s", type=float, default=900, help="give up waiting after this long")
    parser.add_argument("--sla-wait-s", type=float, default=60,
                        help="then wait at most this long for sla_monitor to hold every deadline")
    args = parser.parse_args()
    with endpoints() as ends:
        services, references = asyncio.run(measure(args, ends))
    report(args, services, references)


if __name__ == "__main__":
    main()
