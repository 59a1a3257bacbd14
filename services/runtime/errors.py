"""How the runtime tells a message that can never be processed from a failure that will pass."""

from __future__ import annotations

import asyncio

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
)
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, PyMongoError


class PoisonMessage(Exception):
    """Raised by a handler for an event it must refuse for good (dead-lettered with `reason`).

    `reason` is a short machine-readable code; `detail` says what is wrong without personal data.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StateChanged(Exception):
    """The state a decision was made on changed before the decision was stored (another
    instance, or another path of this one, got there first): deciding again on the new state
    will pass, so the runtime retries it like an outage."""


class NewerLayout(Exception):
    """A stored document written in a layout newer than this build reads (a rolling upgrade
    under way): never read nor rewritten by it. Transient: the message waits for an instance of
    the newer build instead of being dead-lettered."""


_TRANSIENT: tuple[type[BaseException], ...] = (
    StateChanged,
    NewerLayout,
    ConnectionFailure,
    AutoReconnect,
    NetworkTimeout,
    KafkaConnectionError,
    KafkaTimeoutError,
    NotLeaderForPartitionError,
    # A producer whose sender stopped fails every send with one of these until the runtime's
    # ProducerKeeper has put a new producer in its place.
    OutOfOrderSequenceNumber,
    ProducerFenced,
    ProducerClosed,
    TimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
)


def is_transient(error: BaseException) -> bool:
    """True when retrying the same message later can succeed (a dependency was unavailable)."""
    if isinstance(error, _TRANSIENT):
        return True
    if isinstance(error, KafkaError):
        return bool(error.retriable)  # the broker's own verdict (leader moved, replicas short)
    if isinstance(error, PyMongoError):
        return bool(getattr(error, "has_error_label", lambda _: False)("RetryableWriteError"))
    return False
