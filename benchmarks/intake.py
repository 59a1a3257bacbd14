"""`python -m benchmarks.intake`: POST /applications with N concurrent clients on loopback.

Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI and the broker's superuser
are set: `benchmarks.common.endpoints`) and intake as its own process, with its own Kafka
principal, then prints applications/s, latency percentiles, errors, how long the outbox
took to publish everything, and intake's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import httpx

from deploy.local.stack import REPO_ROOT
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.examples import applications

from .common import (
    cpu_seconds,
    endpoints,
    peak_rss_mib,
    percentile,
    post_applications,
    process_cpu_s,
)


async def drive(base_url: str, bodies: list[dict[str, Any]], concurrency: int,
                headers: dict[str, str]) -> tuple[list[float], dict[int, int], float]:
    started = time.perf_counter()
    posted = await post_applications(base_url, bodies, concurrency, headers, request_timeout_s=60)
    elapsed = time.perf_counter() - started
    return [p.took for p in posted], dict(Counter(p.status for p in posted)), elapsed


async def outbox_drained(base_url: str, limit_s: float = 300) -> float:
    """Seconds until intake reports no record with unsent events."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.perf_counter() - started < limit_s:
            published = pending = None
            for line in (await client.get("/metrics")).text.splitlines():
                if line.startswith("motcua_outbox_backlog_messages "):
                    pending = float(line.split()[1])
                if line.startswith("motcua_outbox_published_total "):
                    published = float(line.split()[1])
            if pending == 0 and published:
                return time.perf_counter() - started
            await asyncio.sleep(0.2)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="applications to submit")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    from deploy.local.services import ServiceFleet

    bodies = applications(load_catalog(), load_units(), args.n, seed=1)
    logs = REPO_ROOT / ".local" / "bench-logs"
    with endpoints() as ends:
        run = uuid.uuid4().hex[:8]
        fleet = ServiceFleet({**ends.env, "MOTCUA_TOPIC_NAMESPACE": f"bench{run}.",
                              "INTAKE_MONGODB_DATABASE": f"bench{run}_intake",
                              "LOG_LEVEL": "WARNING"},
                             logs, names=("intake",), authority=ends.authority, issuer=ends.issuer)
        try:
            intake = fleet.start("intake")
            pid = intake.process.pid
            intake_cpu, client_cpu = cpu_seconds(pid), process_cpu_s()
            latencies, statuses, elapsed = asyncio.run(drive(intake.base_url, bodies,
                                                             args.concurrency,
                                                             ends.headers("portal")))
            drain = asyncio.run(outbox_drained(intake.base_url))
            intake_cpu, client_cpu = cpu_seconds(pid) - intake_cpu, process_cpu_s() - client_cpu
            memory = peak_rss_mib(pid) if pid else float("nan")
        finally:
            fleet.stop_all()
    ok = statuses.get(201, 0)
    print(f"intake: {args.n} applications, {args.concurrency} concurrent clients, loopback")
    print(f"  throughput      {ok / elapsed:8.1f} applications/s accepted ({elapsed:.1f}s)")
    print(f"  latency p50     {percentile(latencies, 50) * 1000:8.1f} ms")
    print(f"  latency p95     {percentile(latencies, 95) * 1000:8.1f} ms")
    print(f"  latency p99     {percentile(latencies, 99) * 1000:8.1f} ms")
    print(f"  responses       {dict(sorted(statuses.items()))}  errors {args.n - ok}")
    print(f"  outbox drained  {drain:8.1f} s after the last response")
    print(f"  intake peak RSS {memory:8.1f} MiB")
    print(f"  CPU per 1,000   intake {intake_cpu / args.n * 1000:.2f} s, "
          f"load generator {client_cpu / args.n * 1000:.2f} s (same two cores)")
    print(f"  intake log      {logs / 'intake.log'}")


if __name__ == "__main__":
    main()
