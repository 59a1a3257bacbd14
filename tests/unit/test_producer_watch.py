"""The producer keeper's watch on sends: a broken producer is reported however it fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, OutOfOrderSequenceNumber, ProducerFenced

from services.runtime.errors import is_transient
from services.runtime.producer import _Watched


class Keeper:
    def __init__(self) -> None:
        self.reports: list[tuple[object, BaseException | None]] = []

    def check(self, producer: object, error: BaseException | None) -> None:
        self.reports.append((producer, error))


class Producer:
    """Its sends are answered by the test, through the futures it hands out."""

    def __init__(self, refuse: BaseException | None = None) -> None:
        self.refuse = refuse
        self.futures: list[asyncio.Future[Any]] = []
        self.client_id = "motcua-test"

    async def send(self, topic: str, value: bytes) -> asyncio.Future[Any]:
        if self.refuse is not None:
            raise self.refuse
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


async def test_a_send_answered_with_a_broken_sequence_is_reported_with_its_producer() -> None:
    keeper, producer = Keeper(), Producer()
    watched = _Watched(keeper, producer)  # type: ignore[arg-type]
    ok, refused = await watched.send("t", b"1"), await watched.send("t", b"2")
    ok.set_result("metadata")
    refused.set_exception(OutOfOrderSequenceNumber())
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert [type(e).__name__ for p, e in keeper.reports if p is producer] == [
        "NoneType", "OutOfOrderSequenceNumber"]
    with pytest.raises(OutOfOrderSequenceNumber):
        await refused


async def test_a_send_refused_at_once_is_reported_and_raised() -> None:
    keeper, producer = Keeper(), Producer(refuse=ProducerFenced())
    with pytest.raises(ProducerFenced):
        await _Watched(keeper, producer).send("t", b"1")  # type: ignore[arg-type]
    assert [type(e) for _, e in keeper.reports] == [ProducerFenced]


def test_other_attributes_are_the_producers() -> None:
    assert _Watched(Keeper(), Producer()).client_id == "motcua-test"  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [OutOfOrderSequenceNumber(), ProducerFenced(), KafkaTimeoutError()])
def test_sends_on_a_producer_being_replaced_are_retried(error: Exception) -> None:
    assert is_transient(error)
