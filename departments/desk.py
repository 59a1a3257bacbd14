"""A department desk: the smallest consumer a department needs, in a shape to copy.

It reads the department's own topic `routed.<code>.v2` (CloudEvents Kafka binding, binary mode:
`ce_*` headers, JSON body), decides what to do with each record it is assigned, and answers on
its own `updates.<code>.v1`, keyed by the record code. Routing checks every answer; what it
refuses comes back on `feedback.<code>.v1` with the reason (kept in `refused` here):

* accept (RecordAccepted), or return it as not ours (RecordReturnedMisrouted, with a reason);
* ask the applicant for a supplement (SupplementRequested), later resolve (RecordResolved).

Rules it keeps, and a department's own implementation must keep too:
* its own principal (SASL/SCRAM-SHA-512): the broker lets it read its `routed.` and `feedback.`
  topics, write its `updates.` topic and use consumer groups under `department.<code>.`, nothing
  else;
* consumer group of its own, offsets committed only after the answer is acknowledged by Kafka;
* at-least-once: the same assignment may arrive twice, so answer with the same event id
  (here derived from the assignment's event id), and routing applies it once;
* never answer for a record that was not assigned to this department;
* stamp each answer with the time it happened (a clock kept right by NTP): not ahead of routing's
  clock by more than five minutes, never before the assignment or the previous answer.
See contracts/README.md for the whole list.

Run one: `KAFKA_SASL_USERNAME=dept.SO-TU-PHAP KAFKA_SASL_PASSWORD=... python -m departments.desk
SO-TU-PHAP --policy accept` (see `--help`; the local stack's passwords are in
`.local/stack/credentials.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy

from contracts import topics
from contracts.department.v1 import (
    DepartmentUpdate,
    RecordAccepted,
    RecordResolved,
    RecordReturnedMisrouted,
    SupplementRequested,
    UpdateRefused,
)
from contracts.department.v2 import RecordAssigned
from contracts.envelope import Envelope, decode, encode
from services.runtime.kafka_access import KafkaAccess

log = logging.getLogger(__name__)

Policy = Callable[[RecordAssigned], Awaitable[list[DepartmentUpdate]]]


def answer_id(assignment_id: str, n: int) -> str:
    """The same answer to the same assignment always has the same event id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"motcua-desk:{assignment_id}:{n}"))


async def _raw(message: StreamMessage[object]) -> bytes:
    return message.body


class DepartmentDesk:
    def __init__(self, code: str, kafka: KafkaAccess, policy: Policy, *,
                 namespace: str = "", group: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """`kafka`: the department's own principal; `group` must start with
        `department.<code>.`, the only groups the broker lets it use."""
        self.code = code
        self.namespace = namespace
        group = group or f"{topics.department_group_prefix(code)}desk"
        self.broker = KafkaBroker(kafka.bootstrap_servers, security=kafka.faststream_security(),
                                  client_id=f"desk-{code}",
                                  logger=logging.getLogger(f"desk.{code}"),
                                  log_level=logging.DEBUG)
        self.answered: list[Envelope[DepartmentUpdate]] = []
        self.refused: list[UpdateRefused] = []
        self._policy = policy
        self._clock = clock

        @self.broker.subscriber(f"{namespace}{topics.department_topic(code)}",
                                group_id=f"{namespace}{group}", auto_offset_reset="earliest",
                                ack_policy=AckPolicy.NACK_ON_ERROR, decoder=_raw)
        async def on_assignment(message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple), "one message at a time"
            envelope = decode(record.key, record.value, record.headers).narrow(RecordAssigned)
            if envelope.data.department_code != code:
                log.warning("assignment for another department ignored")
                return
            for n, update in enumerate(await self._policy(envelope.data)):
                await self._answer(update, answer_id(envelope.id, n))

        @self.broker.subscriber(f"{namespace}{topics.feedback_topic(code)}",
                                group_id=f"{namespace}{group}-feedback",
                                auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR,
                                decoder=_raw)
        async def on_feedback(message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple), "one message at a time"
            refused = decode(record.key, record.value, record.headers).narrow(UpdateRefused).data
            log.warning("routing refused an answer: %s (%s)", refused.reason, refused.detail)
            self.refused.append(refused)

    async def _answer(self, update: DepartmentUpdate, event_id: str) -> None:
        envelope = Envelope.wrap(update, source=f"/departments/{self.code}",
                                 time=self._clock(), id=event_id)
        message = encode(envelope)
        await self.broker.publish(message.value,
                                  topic=f"{self.namespace}{topics.updates_topic(self.code)}",
                                  key=message.key, headers=message.header_map())
        self.answered.append(envelope)

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()


# --- ready-made policies (the demo and the tests use them) -------------------------------------

def accept(code: str) -> Policy:
    async def policy(assigned: RecordAssigned) -> list[DepartmentUpdate]:
        return [RecordAccepted(record_code=assigned.record.record_code, department_code=code)]
    return policy


def return_as_misrouted(code: str, reason: str = "Không thuộc thẩm quyền giải quyết") -> Policy:
    async def policy(assigned: RecordAssigned) -> list[DepartmentUpdate]:
        return [RecordReturnedMisrouted(record_code=assigned.record.record_code,
                                        department_code=code, reason=reason)]
    return policy


def accept_then_request_supplement(code: str) -> Policy:
    async def policy(assigned: RecordAssigned) -> list[DepartmentUpdate]:
        record = assigned.record.record_code
        return [RecordAccepted(record_code=record, department_code=code),
                SupplementRequested(record_code=record, department_code=code,
                                    missing=("Bản sao giấy tờ chứng minh chỗ ở",),
                                    reason="Thiếu giấy tờ chứng minh chỗ ở hợp pháp")]
    return policy


def accept_and_resolve(code: str) -> Policy:
    async def policy(assigned: RecordAssigned) -> list[DepartmentUpdate]:
        record = assigned.record.record_code
        return [RecordAccepted(record_code=record, department_code=code),
                RecordResolved(record_code=record, department_code=code,
                               result_summary="Đã giải quyết", electronic_result=True)]
    return policy


POLICIES = {"accept": accept, "misrouted": return_as_misrouted,
            "supplement": accept_then_request_supplement, "resolve": accept_and_resolve}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m departments.desk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("department")
    parser.add_argument("--policy", choices=sorted(POLICIES), default="accept")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    kafka = KafkaAccess(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                        os.environ.get("KAFKA_SASL_USERNAME", f"dept.{args.department}"),
                        os.environ.get("KAFKA_SASL_PASSWORD", ""))
    desk = DepartmentDesk(args.department, kafka,
                          POLICIES[args.policy](args.department),
                          namespace=os.environ.get("MOTCUA_TOPIC_NAMESPACE", ""))

    async def run() -> None:
        await desk.start()
        try:
            await asyncio.Event().wait()
        finally:
            await desk.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
