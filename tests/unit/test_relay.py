"""The runtime's one outbox relay, over an in-memory outbox: what is handed over goes out in
batches and is marked sent once acknowledged; a failure is retried, never dropped; the sweep
publishes what the store reports left unsent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from services.runtime import retrying
from services.runtime.outbox import StoredMessage
from services.runtime.relay import OutboxRelay, Pending


def message(n: int) -> StoredMessage:
    return StoredMessage("records.submitted.v1", f"k{n}", f'{{"n": {n}}}', {"ce_id": f"e{n}"})


class MemoryOutbox:
    def __init__(self, left_unsent: Sequence[Pending[int]] = ()) -> None:
        self.left = list(left_unsent)
        self.marked: list[int] = []

    async def mark_sent(self, keys: Sequence[int]) -> None:
        self.marked.extend(keys)
        self.left = [p for p in self.left if p.key not in keys]

    async def stale(self, limit: int) -> list[Pending[int]]:
        return self.left[:limit]


class Broker:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[StoredMessage]] = []

    async def __call__(self, messages: Sequence[StoredMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        self.batches.append(list(messages))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(delay: float) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(retrying, "asyncio", SimpleNamespace(sleep=no_sleep,
                                                             CancelledError=asyncio.CancelledError))


def metric(registry: CollectorRegistry, name: str) -> float:
    value = registry.get_sample_value(name)
    assert value is not None, name
    return value


async def run_until(relay: OutboxRelay[int], done: Callable[[], object]) -> None:
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            while not done():
                await asyncio.sleep(0.01)
    finally:
        task.cancel()


async def test_handed_over_messages_go_out_in_batches_and_are_marked_once_acknowledged() -> None:
    outbox, broker, registry = MemoryOutbox(), Broker(), CollectorRegistry()
    relay = OutboxRelay(outbox, broker, registry, batch_size=3)
    relay.enqueue([Pending(n, message(n)) for n in range(7)])
    assert metric(registry, "motcua_outbox_backlog_messages") == 7
    await run_until(relay, lambda: len(outbox.marked) == 7)
    assert [len(b) for b in broker.batches] == [3, 3, 1]
    assert [m.key for b in broker.batches for m in b] == [f"k{n}" for n in range(7)]
    assert outbox.marked == list(range(7))
    assert metric(registry, "motcua_outbox_published_total") == 7
    assert metric(registry, "motcua_outbox_backlog_messages") == 0


async def test_a_refused_send_is_retried_and_nothing_is_marked_before_it_passes() -> None:
    outbox, broker, registry = MemoryOutbox(), Broker(failures=2), CollectorRegistry()
    relay = OutboxRelay(outbox, broker, registry, batch_size=10)
    relay.enqueue([Pending(1, message(1)), Pending(2, message(2))])
    await run_until(relay, lambda: outbox.marked)
    assert broker.batches == [[message(1), message(2)]]
    assert outbox.marked == [1, 2]
    assert metric(registry, "motcua_outbox_publish_failures_total") == 2


async def test_the_sweep_publishes_what_was_left_unsent_batch_by_batch() -> None:
    left = [Pending(n, message(n)) for n in range(5)]
    outbox, broker = MemoryOutbox(left), Broker()
    relay = OutboxRelay(outbox, broker, CollectorRegistry(), batch_size=2,
                        sweep_interval=timedelta(hours=1))
    assert await relay.sweep() == 5
    assert [len(b) for b in broker.batches] == [2, 2, 1]
    assert outbox.marked == list(range(5)) and outbox.left == []
    assert await relay.sweep() == 0
