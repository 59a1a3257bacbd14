"""`python -m benchmarks.routing`: routing decisions per second, and re-routing after a table change.

Starts the local stack (unless KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI and the broker's superuser are
set: `benchmarks.common.endpoints`) and routing as its own process, with its own Kafka principal
and the pre-reform table (v1); this process publishes and reads as the superuser. Then:
1. publishes N submitted records (the whole catalogue, all communes) and times until N routing
   decisions are on records.routed.v1;
   Department topics are provisioned first, as a deployment does (`--cold`: not, so routing
   creates each on its first record);
2. publishes the 2025 reform (v2) through the admin API and times until every open record held
   by a dissolved district People's Committee has moved (one `rerouted` decision each).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import topics
from contracts.envelope import Envelope, encode
from contracts.records.v1 import RecordSubmitted
from contracts.samples import record_submitted
from deploy.local.services import ServiceFleet
from deploy.local.stack import REPO_ROOT
from reference.catalog import load_catalog
from reference.units import load_units
from services.routing.domain.decide import RouteInput, route
from services.routing.domain.tables import shipped_tables
from services.runtime.kafka_access import KafkaAccess

from .common import endpoints, peak_rss_mib, provision_department_topics


def records(n: int, *, district_bound: int, seed: int = 5) -> tuple[list[RecordSubmitted], int]:
    """N records over the catalogue and the communes; at least `district_bound` of them are
    routed to a former district People's Committee by the pre-reform table."""
    catalog, units = load_catalog(), load_units()
    v1, _ = shipped_tables()
    rng = random.Random(seed)
    procedures = list(catalog)
    template = record_submitted()
    receiving_units = list(units.receiving_units())
    made: list[RecordSubmitted] = []
    bound = 0
    day = datetime.now(UTC).strftime("%y%m%d")
    while len(made) < n:
        procedure = rng.choice(procedures)
        commune = rng.choice(units.communes)
        decision = route(RouteInput(procedure_code=procedure.code,
                                    agency_kind=procedure.agency_kind,
                                    handling_level=procedure.handling_level,
                                    administrative_unit_code=commune.code), v1, units)
        to_district = decision.department_code.startswith("UBND-H-")
        if bound < district_bound and not to_district and len(made) >= n - district_bound:
            continue
        bound += to_district
        receiving = receiving_units[len(made) // 9999].code
        made.append(template.model_copy(update={
            "record_code": f"{receiving}-{day}-{len(made) % 9999 + 1:04d}",
            "receiving_unit_code": receiving,
            "procedure_code": procedure.code, "procedure_name": procedure.name_vi,
            "administrative_unit_code": commune.code,
            "processing_level": procedure.handling_level}))
    return made, bound


async def publish(kafka: KafkaAccess, topic: str, batch: list[RecordSubmitted]) -> None:
    producer = AIOKafkaProducer(**kafka.client_options(), linger_ms=5)
    await producer.start()
    try:
        futures = []
        for record in batch:
            message = encode(Envelope.wrap(record, source="/benchmarks", time=datetime.now(UTC)))
            futures.append(await producer.send(topic, message.value, key=message.key,
                                               headers=message.headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def count_decisions(kafka: KafkaAccess, topic: str, wanted: int, kind: bytes,
                          limit_s: float = 900) -> float:
    """Seconds until `wanted` decisions whose body mentions `kind` are on the topic."""
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), auto_offset_reset="earliest",
                                group_id=f"bench-{uuid.uuid4().hex[:6]}", enable_auto_commit=False)
    await consumer.start()
    started = time.perf_counter()
    seen = 0
    try:
        while seen < wanted and time.perf_counter() - started < limit_s:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(kind in r.value for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    return time.perf_counter() - started if seen >= wanted else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.routing", description=__doc__)
    parser.add_argument("--n", type=int, default=20000, help="records to route")
    parser.add_argument("--reroute", type=int, default=10000,
                        help="of those, records bound for district People's Committees")
    parser.add_argument("--cold", action="store_true",
                        help="no department topics beforehand: routing creates each on first use")
    args = parser.parse_args()
    batch, bound = records(args.n, district_bound=args.reroute)
    _, reform = shipped_tables()
    logs = REPO_ROOT / ".local" / "bench-logs"
    with endpoints() as ends:
        run = uuid.uuid4().hex[:8]
        namespace = f"bench{run}."
        fleet = ServiceFleet({**ends.env, "MOTCUA_TOPIC_NAMESPACE": namespace,
                              "ROUTING_MONGODB_DATABASE": f"bench{run}_routing",
                              "ROUTING_INITIAL_TABLES": "pre-reform", "LOG_LEVEL": "WARNING"},
                             logs, names=("routing",), authority=ends.authority, issuer=ends.issuer)
        kafka = ends.kafka
        routed_topic = namespace + topics.RECORDS_ROUTED
        try:
            provisioned = (float("nan") if args.cold else
                           asyncio.run(provision_department_topics(kafka, namespace)))
            service = fleet.start("routing")
            started = time.perf_counter()
            asyncio.run(publish(kafka, namespace + topics.RECORDS_SUBMITTED, batch))
            published = time.perf_counter() - started
            waited = asyncio.run(count_decisions(kafka, routed_topic, len(batch), b'"attempt":1'))
            routed_in = max(published, waited)
            started = time.perf_counter()
            answer = httpx.post(f"{service.base_url}/admin/tables",
                                json=reform.model_dump(mode="json"), timeout=3600,
                                headers=ends.headers("admin")).json()
            api_s = time.perf_counter() - started
            moved = asyncio.run(count_decisions(kafka, routed_topic, bound,
                                                b"dissolved in table"))
            memory = peak_rss_mib(service.process.pid) if service.process.pid else float("nan")
        finally:
            fleet.stop_all()
    print(f"routing: {len(batch)} records, table v1 ({len(shipped_tables()[0].rules)} rules, "
          f"{len(shipped_tables()[0].departments)} departments), one process, loopback")
    print("  department topics " + ("created by routing on first use (--cold)" if args.cold else
                                    f"provisioned beforehand in {provisioned:.1f}s"))
    print(f"  routed          {len(batch) / routed_in:8.1f} decisions/s ({routed_in:.1f}s)")
    print(f"  reorganisation  {answer.get('moved')} records moved in {api_s:.1f}s "
          f"(admin call; decisions on the topic after {moved:.1f}s)")
    print(f"  routing peak RSS {memory:7.1f} MiB")


if __name__ == "__main__":
    main()
