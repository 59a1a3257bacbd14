"""Classification of delivery results and the bounded, jittered backoff."""

from __future__ import annotations

import random

import pytest

from services.notifier.domain import (
    DeliveryResult,
    RetryPolicy,
    after_attempt,
    classify_http,
    classify_smtp,
)


@pytest.mark.parametrize(("status", "verdict"), [
    (200, "delivered"), (202, "delivered"), (400, "permanent"), (404, "permanent"),
    (410, "permanent"), (422, "permanent"), (408, "transient"), (429, "transient"),
    (500, "transient"), (502, "transient"), (503, "transient"), (301, "permanent"),
])
def test_http_status_classification(status: int, verdict: str) -> None:
    assert classify_http(status) == verdict


@pytest.mark.parametrize(("code", "verdict"), [
    (250, "delivered"), (354, "delivered"), (421, "transient"), (450, "transient"),
    (451, "transient"), (452, "transient"), (550, "permanent"), (551, "permanent"),
    (553, "permanent"), (554, "permanent"),
])
def test_smtp_reply_classification(code: int, verdict: str) -> None:
    assert classify_smtp(code) == verdict


def test_full_jitter_stays_within_the_doubling_capped_ceiling() -> None:
    policy = RetryPolicy(base=2.0, cap=60.0, max_attempts=10)
    rng = random.Random(7)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    for attempt in range(1, 10):
        delays = [policy.delay(attempt, rng) for _ in range(500)]
        assert all(0.0 <= d <= policy.ceiling(attempt) for d in delays)
        # jitter spreads the retries over the whole range instead of in step
        assert max(delays) - min(delays) > policy.ceiling(attempt) * 0.8


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert RetryPolicy(cap=300.0).ceiling(10_000) == 300.0


def test_decorrelated_jitter_grows_from_base_up_to_three_times_the_last_delay_capped() -> None:
    policy = RetryPolicy(base=1.0, cap=20.0, jitter="decorrelated")
    rng = random.Random(3)
    previous: float | None = None
    for attempt in range(1, 50):
        delay = policy.delay(attempt, rng, previous)
        upper = min(20.0, 3.0 * max(previous or 1.0, 1.0))
        assert 1.0 <= delay <= upper
        previous = delay
    assert RetryPolicy(base=1.0, cap=20.0, jitter="decorrelated").delay(1, random.Random(1)) <= 3.0


def test_same_seed_gives_same_delays() -> None:
    policy = RetryPolicy()
    assert ([policy.delay(n, random.Random(42)) for n in (1, 2, 3)]
            == [policy.delay(n, random.Random(42)) for n in (1, 2, 3)])


def test_invalid_policies_are_refused_with_the_culprit() -> None:
    with pytest.raises(ValueError, match="max_attempts=0"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match=r"base=5\.0, cap=1\.0"):
        RetryPolicy(base=5.0, cap=1.0)
    with pytest.raises(ValueError, match="count from 1"):
        RetryPolicy().ceiling(0)


def test_delivered_is_done() -> None:
    decision = after_attempt(DeliveryResult("delivered"), 1, RetryPolicy(), random.Random(0))
    assert (decision.action, decision.delay, decision.failure) == ("done", None, None)


def test_permanent_failure_is_never_retried() -> None:
    decision = after_attempt(DeliveryResult("permanent", "smtp 550"), 1, RetryPolicy(), random.Random(0))
    assert (decision.action, decision.failure, decision.delay) == ("give_up", "permanent", None)


def test_transient_failure_is_retried_until_attempts_run_out() -> None:
    policy = RetryPolicy(base=1.0, cap=10.0, max_attempts=3)
    rng = random.Random(0)
    transient = DeliveryResult("transient", "http 503")
    first = after_attempt(transient, 1, policy, rng)
    second = after_attempt(transient, 2, policy, rng, first.delay)
    third = after_attempt(transient, 3, policy, rng, second.delay)
    assert (first.action, second.action) == ("retry", "retry")
    assert first.delay is not None and 0.0 <= first.delay <= 1.0
    assert second.delay is not None and 0.0 <= second.delay <= 2.0
    assert (third.action, third.failure) == ("give_up", "transient-exhausted")
