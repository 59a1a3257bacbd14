"""One stage of the plain-aiokafka reference chain of `benchmarks.pipeline`, as its own process.

It consumes some topics in one consumer group and forwards each message, unchanged (key, value,
headers), to zero or more topics, then commits: the Kafka work a service does for an event, with
none of its own (no decoding, no database, no HTTP). `--mode per-message` takes one message at a
time, as the services' FastStream subscribers do (`getmany(max_records=1)`, publish with
acks=all and idempotence, wait for the broker, commit); `--mode batched` takes up to 500 at a
time and commits once per batch, the best a plain pass-through does.

    KAFKA_SASL_USERNAME=... KAFKA_SASL_PASSWORD=... \\
    python -m benchmarks.passthrough --bootstrap HOST:PORT --group G --mode per-message \\
        --forward 'ns.submitted=ns.dept,ns.routed' --forward 'ns.routed='

Its principal comes from the environment (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, optionally
KAFKA_SECURITY_PROTOCOL), never from the command line, which `ps` shows. Prints `ready` once its
partitions are assigned, stops when its standard input closes, then prints `consumed <messages>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.runtime.kafka_access import KafkaAccess

Mode = Literal["per-message", "batched"]


def forwards(specs: list[str]) -> dict[str, tuple[str, ...]]:
    """`in=out1,out2` (or `in=` to consume only) → {in: (out1, out2)}."""
    found: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        source, _, targets = spec.partition("=")
        found[source] = tuple(t for t in targets.split(",") if t)
    return found


def access_from_env(bootstrap: str) -> KafkaAccess:
    """The broker at `bootstrap` as the principal named by KAFKA_SASL_USERNAME / _PASSWORD."""
    username = os.environ.get("KAFKA_SASL_USERNAME", "")
    password = os.environ.get("KAFKA_SASL_PASSWORD", "")
    if not username or not password:
        raise SystemExit("error: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD must be set: "
                         "the broker admits no anonymous client")
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    return KafkaAccess(bootstrap, username, password,
                       "SASL_SSL" if protocol == "SASL_SSL" else "SASL_PLAINTEXT")


async def run(kafka: KafkaAccess, group: str, mode: Mode, routes: dict[str, tuple[str, ...]]) -> int:
    consumer = AIOKafkaConsumer(*routes, **kafka.client_options(), group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    # The parent closes our standard input to stop us (and so does its death).
    closed = asyncio.ensure_future(asyncio.to_thread(sys.stdin.buffer.read))
    consumed = 0
    announced = False
    try:
        while not closed.done():
            batch = await consumer.getmany(timeout_ms=100, max_records=1 if mode == "per-message" else 500)
            if not announced and consumer.assignment():
                print("ready", flush=True)
                announced = True
            records: list[Any] = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            confirmations = []
            for record in records:
                for target in routes[record.topic]:
                    confirmations.append(await producer.send(target, record.value, key=record.key,
                                                             headers=list(record.headers)))
            await asyncio.gather(*confirmations)
            await consumer.commit()
            consumed += len(records)
    finally:
        await consumer.stop()
        await producer.stop()
    return consumed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.passthrough", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--mode", choices=("per-message", "batched"), default="per-message")
    parser.add_argument("--forward", action="append", default=[], help="in=out1,out2 (repeatable)")
    args = parser.parse_args()
    kafka = access_from_env(args.bootstrap)
    consumed = asyncio.run(run(kafka, args.group, args.mode, forwards(args.forward)))
    print(f"consumed {consumed}", flush=True)


if __name__ == "__main__":
    main()
