"""Background steps retried until they succeed: exponential backoff with jitter, capped."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import is_transient

T = TypeVar("T")


def backoff_s(failures: int, *, base_s: float = 0.2, cap_s: float = 10.0) -> float:
    """Delay before the next try after `failures` failures in a row (half to full jitter)."""
    return min(cap_s, base_s * float(2 ** min(failures, 16))) * random.uniform(0.5, 1.0)


async def until_done(step: Callable[[], Awaitable[T]], log: logging.Logger, what: str,
                     on_failure: Callable[[], None] | None = None) -> T:
    """Run `step` until it returns. A relay or a scheduler must outlive a broker or database
    outage, so every failure is retried; one that is not a known outage is logged in full."""
    failures = 0
    while True:
        try:
            return await step()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not is_transient(error):
                log.exception("%s failed", what)
            failures += 1
            if on_failure is not None:
                on_failure()
            delay = backoff_s(failures)
            log.warning("%s backing off", what, extra={"error": type(error).__name__,
                                                       "retry_in_s": round(delay, 2)})
            await asyncio.sleep(delay)
