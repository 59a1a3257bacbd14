"""Dead letters a service can act on: each one it refuses is also kept in its own database.

The `<topic>.dlq` topic carries the refusal to whoever reads it (a department learns there why
routing could not even read its update); the service's `dead_letters` collection is where its
operators see it and decide: replay (after a fix) or discard, both with who and why.

A replay runs the message again through the consumer that refused it, as if it came again from
its topic, instead of publishing it on that topic once more: every other consumer of the topic
handled it already, and the topic names its sender (a department's `updates.<code>.v1` is
written by that department alone), which a republish by anyone else would forge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, get_args

from aiokafka.structs import ConsumerRecord
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.cloudevents import H_ID, H_TYPE

from .retrying import until_done

log = logging.getLogger(__name__)
Document = dict[str, Any]
State = Literal["waiting", "replaying", "replayed", "discarded"]
STATES: tuple[State, ...] = get_args(State)
Action = Literal["dead-lettered", "replay-requested", "replayed", "refused-again", "discarded"]
Outcome = Literal["replay-requested", "discarded", "not-waiting", "unknown"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REPLAY_LEASE = timedelta(seconds=60)
"""How long one process holds a replay before another may take it over (the first died)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of a dead letter's history: what happened, by whom, why."""

    action: Action
    at: datetime
    by: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message one consumer group refused, as operators see it: its place, the reason and the
    headers, never its content (it may carry an applicant's details)."""

    id: str
    topic: str
    """The logical topic it came on (without the namespace)."""
    partition: int
    offset: int
    group: str
    reason: str
    detail: str
    failed_at: datetime
    state: State
    record: str | None
    """The message's key: the record it is about, when it had one."""
    event_type: str | None
    event_id: str | None
    headers: tuple[tuple[str, str], ...]
    size_bytes: int
    history: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a replay or discard command did to one dead letter."""

    id: str
    outcome: Outcome
    state: State | None = None


def letter_id(group: str, topic: str, partition: int, offset: int) -> str:
    """One id per refused message and group (a redelivered refusal is the same dead letter)."""
    return f"{group}:{topic}:{partition}:{offset}"


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


class DeadLetterBox:
    """The service's dead letters in its `dead_letters` collection."""

    def __init__(self, db: Callable[[], AsyncDatabase[Document]], namespace: str = "",
                 collection: str = "dead_letters") -> None:
        self._db = db
        self._namespace = namespace
        self._name = collection

    @property
    def _c(self) -> AsyncCollection[Document]:
        return self._db()[self._name]

    async def create_indexes(self) -> None:
        await self._c.create_index([("state", ASCENDING), ("topic", ASCENDING),
                                    ("failed_at", DESCENDING)])

    async def keep(self, record: ConsumerRecord[bytes, bytes], group: str, reason: str,
                   detail: str) -> None:
        """Keep a refused message; a redelivered refusal changes nothing, and a replay refused
        again waits again with the new reason."""
        topic = record.topic.removeprefix(self._namespace)
        now = datetime.now(UTC)
        headers = [[name, _text(value) or ""] for name, value in record.headers or ()]
        named = dict((name, value) for name, value in headers)
        refused_again = {"action": "refused-again", "at": now, "note": f"{reason}: {detail[:300]}"}
        await self._c.update_one(
            {"_id": letter_id(group, topic, record.partition, record.offset)},
            [{"$set": {
                "state": {"$cond": [{"$eq": ["$state", "replaying"]}, "waiting",
                                    {"$ifNull": ["$state", "waiting"]}]},
                "reason": {"$cond": [{"$eq": ["$state", "replaying"]}, reason,
                                     {"$ifNull": ["$reason", reason]}]},
                "detail": {"$cond": [{"$eq": ["$state", "replaying"]}, detail[:2000],
                                     {"$ifNull": ["$detail", detail[:2000]]}]},
                "history": {"$cond": [
                    {"$eq": ["$state", "replaying"]},
                    {"$concatArrays": ["$history", [{"$literal": refused_again}]]},
                    {"$ifNull": ["$history", [{"$literal": {"action": "dead-lettered", "at": now,
                                                             "note": reason}}]]}]},
                "topic": topic, "partition": record.partition, "offset": record.offset,
                "group": group, "failed_at": {"$ifNull": ["$failed_at", now]},
                "timestamp_ms": record.timestamp,
                "key": {"$literal": record.key}, "value": {"$literal": record.value or b""},
                "headers": {"$literal": headers}, "size_bytes": len(record.value or b""),
                "event_type": named.get(H_TYPE), "event_id": named.get(H_ID),
            }}],
            upsert=True)

    async def listing(self, topic: str | None, state: State | None, limit: int) -> list[DeadLetter]:
        """Newest first, without the messages' content."""
        # Always on the state: the (state, topic, failed_at) index serves every listing.
        query: Document = {"state": state if state is not None else {"$in": list(STATES)}}
        if topic is not None:
            query["topic"] = topic
        found = self._c.find(query, {"value": 0}).sort("failed_at", DESCENDING).limit(limit)
        return [_letter(doc) async for doc in found]

    async def counts(self) -> dict[str, dict[str, int]]:
        """Dead letters per topic and state."""
        found = await self._c.aggregate([  # covered by the (state, topic, ...) index
            {"$match": {"state": {"$in": list(STATES)}}},
            {"$group": {"_id": {"topic": "$topic", "state": "$state"}, "n": {"$sum": 1}}}])
        counts: dict[str, dict[str, int]] = {}
        async for row in found:
            counts.setdefault(row["_id"]["topic"], {})[row["_id"]["state"]] = row["n"]
        return counts

    async def samples(self) -> dict[tuple[str, ...], float]:
        """The counts as gauge samples, by (topic, state)."""
        return {(topic, state): float(n) for topic, found in (await self.counts()).items()
                for state, n in found.items()}

    async def request_replay(self, ids: Sequence[str], by: str, note: str | None) -> list[Decision]:
        """Mark waiting dead letters for replay (a background loop runs them)."""
        step = {"action": "replay-requested", "by": by, "note": note}
        return await self._decide(ids, "replaying", step, {"lease_until": _EPOCH},
                                  "replay-requested")

    async def discard(self, ids: Sequence[str], by: str, note: str) -> list[Decision]:
        """Give waiting dead letters up for good, with the reason."""
        return await self._decide(ids, "discarded", {"action": "discarded", "by": by, "note": note},
                                  {}, "discarded")

    async def _decide(self, ids: Sequence[str], state: State, step: Document, extra: Document,
                      outcome: Outcome) -> list[Decision]:
        decisions = []
        for letter in dict.fromkeys(ids):
            done = await self._c.find_one_and_update(
                {"_id": letter, "state": "waiting"},
                {"$set": {"state": state, **extra},
                 "$push": {"history": {**step, "at": datetime.now(UTC)}}},
                projection={"state": 1}, return_document=ReturnDocument.AFTER)
            if done is not None:
                decisions.append(Decision(letter, outcome, state))
                continue
            current = await self._c.find_one({"_id": letter}, {"state": 1})
            decisions.append(Decision(letter, "unknown") if current is None
                             else Decision(letter, "not-waiting", current["state"]))
        return decisions

    async def take_replay(self) -> tuple[DeadLetter, ConsumerRecord[bytes, bytes]] | None:
        """One dead letter to replay, leased to this process, as the record its consumer got."""
        now = datetime.now(UTC)
        doc = await self._c.find_one_and_update(
            {"state": "replaying", "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + REPLAY_LEASE}},
            sort=[("failed_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        if doc is None:
            return None
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=self._namespace + doc["topic"], partition=doc["partition"], offset=doc["offset"],
            timestamp=doc.get("timestamp_ms") or 0, timestamp_type=0, key=doc.get("key"),
            value=doc.get("value"), checksum=None, serialized_key_size=len(doc.get("key") or b""),
            serialized_value_size=len(doc.get("value") or b""),
            headers=tuple((name, value.encode("utf-8")) for name, value in doc.get("headers", [])))
        return _letter(doc), record

    async def replayed(self, letter: str) -> bool:
        """The replay passed (the consumer did not refuse it again)."""
        done = await self._c.update_one(
            {"_id": letter, "state": "replaying"},
            {"$set": {"state": "replayed"},
             "$push": {"history": {"action": "replayed", "at": datetime.now(UTC)}}})
        return done.modified_count == 1


def _letter(doc: Document) -> DeadLetter:
    key = doc.get("key")
    return DeadLetter(
        id=doc["_id"], topic=doc["topic"], partition=doc["partition"], offset=doc["offset"],
        group=doc["group"], reason=doc.get("reason", ""), detail=doc.get("detail", ""),
        failed_at=doc["failed_at"], state=doc["state"], record=_text(key),
        event_type=doc.get("event_type"), event_id=doc.get("event_id"),
        headers=tuple((name, value) for name, value in doc.get("headers", [])),
        size_bytes=doc.get("size_bytes", 0),
        history=tuple(Step(step["action"], step["at"], step.get("by"), step.get("note"))
                      for step in doc.get("history", [])))


class Replaying(Protocol):
    """What replays a record: the consumer's processor that refused it."""

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None: ...


class Replayer:
    """Runs requested replays in the background, each through the processor of the group that
    refused it, so a replay waits for its database like any delivery and survives a restart
    (a leased replay another process dropped is taken over when its lease ends)."""

    def __init__(self, box: DeadLetterBox, poll: timedelta = timedelta(seconds=10)) -> None:
        self._box = box
        self._processors: dict[str, Replaying] = {}
        self._poll = poll.total_seconds()
        self._wake = asyncio.Event()

    def register(self, group: str, processor: Replaying) -> None:
        if group in self._processors:
            raise ValueError(f"two subscriptions share the consumer group {group!r}")
        self._processors[group] = processor

    def wake(self) -> None:
        """Replays were requested in this process: run them now, not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await until_done(self.replay_due, log, "dead-letter replay")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()

    async def replay_due(self) -> int:
        """Replay every requested dead letter; how many passed."""
        passed = 0
        while (taken := await self._box.take_replay()) is not None:
            letter, record = taken
            processor = self._processors.get(letter.group)
            if processor is None:
                log.error("no consumer of this group here to replay with", extra={
                    "dead_letter": letter.id, "group": letter.group})
                continue
            await processor.process_batch((record,))
            if await self._box.replayed(letter.id):
                passed += 1
                log.info("replayed a dead letter", extra={"dead_letter": letter.id})
        return passed
