"""What the benchmarks share: endpoints with the broker's authority (given or a local stack),
department topics provisioned as a deployment does, percentiles, process memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from deploy.access.authority import BrokerAuthority
from deploy.access.command import admin_from_env
from deploy.access.secrets import CredentialFile
from deploy.local.issuer import LocalIssuer
from deploy.local.stack import REPO_ROOT, LocalStack
from services.runtime.kafka_access import KafkaAccess

from .loadgen import HttpError, Pool


@dataclass(frozen=True)
class BenchEndpoints:
    """Where Kafka and MongoDB are (`env`, no credential) and who may provision the broker."""

    env: dict[str, str]
    authority: BrokerAuthority
    issuer: LocalIssuer
    """Signs the harness's tokens; the services trust it."""

    def headers(self, *roles: str) -> dict[str, str]:
        return self.issuer.headers(*roles, subject="benchmark")

    @property
    def kafka(self) -> KafkaAccess:
        """The broker as its superuser: what the harness reads and seeds topics with."""
        return self.authority.admin


@contextlib.contextmanager
def endpoints() -> Iterator[BenchEndpoints]:
    """KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI with the superuser (KAFKA_ADMIN_USERNAME /
    KAFKA_ADMIN_PASSWORD) from the environment, principals' passwords in a temporary file;
    else a fresh local stack."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI"):
        env = {"KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
               "MONGODB_URI": os.environ["MONGODB_URI"]}
        admin = admin_from_env()
        with tempfile.TemporaryDirectory() as folder:
            authority = BrokerAuthority(admin, CredentialFile(Path(folder) / "credentials.json"))
            authority.provision()
            yield BenchEndpoints(env, authority, LocalIssuer(Path(folder) / "issuer"))
        return
    stack = LocalStack(REPO_ROOT / ".local" / "bench-stack")
    print("starting the local stack", flush=True)
    stack.start()
    try:
        yield BenchEndpoints(stack.env, stack.authority, stack.issuer)
    finally:
        stack.stop()


async def provision_department_topics(kafka: KafkaAccess, namespace: str) -> float:
    """Create every department's topics of the shipped tables under `namespace`, as a deployment
    provisions them (routing creates a topic on first use only for a department added later);
    returns the seconds it took. A broker takes seconds to settle after a thousand new topics,
    which would otherwise be measured as routing's time."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from contracts.topics import department_topics
    from services.routing.domain.tables import shipped_tables
    from services.runtime.kafka import topic_spec

    codes = sorted({d.code for table in shipped_tables() for d in table.departments if d.active})
    specs = [topic_spec(name) for code in codes for name in department_topics(code)]
    specs += [spec.dead_letter() for spec in specs]
    started = time.perf_counter()
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(namespace + spec.name, spec.partitions, 1,
                                            topic_configs=spec.config()) for spec in specs])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:  # wait until the cluster's metadata has them all
        for spec in specs:
            await producer.partitions_for(namespace + spec.name)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time a process has used so far."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_s() -> float:
    """User plus system CPU time this process has used so far."""
    times = os.times()
    return times.user + times.system


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Posted:
    """One application sent to intake: when (perf_counter), how long, the answer."""

    at: float
    took: float
    status: int
    """HTTP status, or 0 when the request failed without an answer."""
    record_code: str | None


async def post_applications(base_url: str, bodies: list[dict[str, Any]], concurrency: int,
                            headers: dict[str, str], request_timeout_s: float = 120,
                            rate: float | None = None) -> list[Posted]:
    """POST every body to intake, each with its own key: with `concurrency` requests in flight
    (closed loop: each client sends its next once answered), or, given `rate`, the i-th at
    i / rate seconds from the start whatever the answers (open loop, as citizens arrive), on
    at most `concurrency` connections."""
    posted: list[Posted] = []
    encoded = [json.dumps(body).encode() for body in bodies]
    pool = Pool(base_url, concurrency, headers)

    async def post(body: bytes, at: float) -> None:
        try:
            answer = await asyncio.wait_for(pool.post_json("/applications", body),
                                            request_timeout_s)
        except (HttpError, TimeoutError):
            posted.append(Posted(at, time.perf_counter() - at, 0, None))
            return
        code = answer.json().get("record_code") if answer.status == 201 else None
        posted.append(Posted(at, time.perf_counter() - at, answer.status, code))

    try:
        if rate is not None:
            await open_loop(len(encoded), rate, lambda i, at: post(encoded[i], at))
            return posted
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in encoded:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                await post(queue.get_nowait(), time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await pool.close()
    return posted


async def open_loop(n: int, rate: float,
                    send: Callable[[int, float], Coroutine[Any, Any, None]]) -> None:
    """Start send(i, at) for i in 0..n-1 at i / rate seconds from now, each without waiting for
    the ones before it; `at` is the scheduled instant (perf_counter), so a late start counts in
    the latency (no coordinated omission). Returns when every send has returned."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i in range(n):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, at)))
    await asyncio.gather(*tasks)
