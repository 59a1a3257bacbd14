"""Background steps retried with backoff: a database or broker outage pauses work, never ends it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.runtime.retrying import until_done

log = logging.getLogger(__name__)
T = TypeVar("T")


async def retrying(step: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `step` until it succeeds (the runtime's backoff, logged under the notifier)."""
    return await until_done(step, log, what)
