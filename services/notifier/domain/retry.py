"""Delivery results, their classification, and when to try again: backoff with jitter, bounded.

Transient failures (server down, timeout, HTTP 5xx, 408 and 429, SMTP 4xx) are retried with
exponential backoff and jitter, so that many notifications failing together do not retry in step;
permanent ones (invalid address, other HTTP 4xx, SMTP 5xx) are not retried at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["delivered", "transient", "permanent"]
Jitter = Literal["full", "decorrelated"]
Action = Literal["done", "retry", "give_up"]

_TRANSIENT_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a channel reports: the verdict, and a short provider detail with no personal data."""

    verdict: Verdict
    detail: str | None = None

    @property
    def delivered(self) -> bool:
        return self.verdict == "delivered"


def classify_http(status: int) -> Verdict:
    """2xx delivered; 5xx, 408, 425 and 429 transient; any other status permanent."""
    if 200 <= status < 300:
        return "delivered"
    if status >= 500 or status in _TRANSIENT_HTTP:
        return "transient"
    return "permanent"


def classify_smtp(code: int) -> Verdict:
    """RFC 5321 reply codes: 2xx delivered, 4xx temporary, 5xx (e.g. 550 no such user) permanent."""
    if 200 <= code < 400:
        return "delivered"
    if 400 <= code < 500:
        return "transient"
    return "permanent"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff parameters in seconds; `max_attempts` counts the first attempt too."""

    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 6
    jitter: Jitter = "full"

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError(f"retry policy base={self.base}, cap={self.cap}: need 0 < base <= cap")
        if self.max_attempts < 1:
            raise ValueError(f"retry policy max_attempts={self.max_attempts}: must be >= 1")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed attempt number `attempt` (1-based): base * 2^(n-1), capped."""
        if attempt < 1:
            raise ValueError(f"attempt {attempt}: attempts count from 1")
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, 62))

    def delay(self, attempt: int, rng: random.Random, previous: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`.

        Full jitter: uniform in [0, ceiling]. Decorrelated jitter: uniform in
        [base, 3 * previous], capped, starting from `base` (needs the previous delay to be given).
        """
        if self.jitter == "full":
            return rng.uniform(0.0, self.ceiling(attempt))
        last = self.base if previous is None else max(previous, self.base)
        return min(self.cap, rng.uniform(self.base, last * 3.0))


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do after an attempt; `delay` is set only to retry."""

    action: Action
    delay: float | None = None
    failure: Literal["permanent", "transient-exhausted"] | None = None
    """For `give_up`: the reason the failed outcome carries."""


def after_attempt(result: DeliveryResult, attempt: int, policy: RetryPolicy, rng: random.Random,
                  previous_delay: float | None = None) -> RetryDecision:
    """Done when delivered; give up on a permanent failure or when attempts run out; else retry."""
    if result.verdict == "delivered":
        return RetryDecision("done")
    if result.verdict == "permanent":
        return RetryDecision("give_up", failure="permanent")
    if attempt >= policy.max_attempts:
        return RetryDecision("give_up", failure="transient-exhausted")
    return RetryDecision("retry", delay=policy.delay(attempt, rng, previous_delay))
