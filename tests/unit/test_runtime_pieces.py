"""Runtime pieces without I/O: log redaction, the movable clock, retry delays, error classes."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError

from services.runtime.clock import MovableClock
from services.runtime.consumer import RetryPolicy
from services.runtime.errors import PoisonMessage, is_transient
from services.runtime.logs import JsonFormatter, redact


def test_redact_masks_citizen_id_phone_and_email_but_keeps_record_codes() -> None:
    text = ("applicant 001204012345 phone 0912345678 / +84912345678 mail hong.nhung@example.vn "
            "record 000.00.21.H40-261124-0001")
    masked = redact(text)
    assert "001204012345" not in masked and "0912345678" not in masked
    assert "hong.nhung@example.vn" not in masked and "+84912345678" not in masked
    assert "000.00.21.H40-261124-0001" in masked


def test_json_log_line_carries_service_extras_and_no_personal_data() -> None:
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "levelno": 20,
                                    "msg": "sent to %s", "args": ("0912345678",),
                                    "record_id": "000.00.21.H40-261124-0001"})
    line = json.loads(JsonFormatter("notifier").format(record))
    assert line["service"] == "notifier"
    assert line["msg"] == "sent to <phone>"
    assert line["record_id"] == "000.00.21.H40-261124-0001"


def test_movable_clock_tells_its_listeners_when_it_moves() -> None:
    clock = MovableClock()
    moves: list[int] = []
    clock.on_move(lambda: moves.append(1))
    clock.advance(timedelta(hours=1))
    clock.set(clock.now() + timedelta(days=1))
    assert len(moves) == 2


def test_movable_clock_moves_forward_only() -> None:
    clock = MovableClock()
    before = clock.now()
    after = clock.advance(timedelta(days=3))
    assert after - before >= timedelta(days=3)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2030, 1, 1))
    target = datetime(2031, 1, 2, 3, 4, tzinfo=UTC)
    before = datetime.now(UTC)
    clock.set(target)
    after = datetime.now(UTC)
    assert target - after <= clock.offset <= target - before  # it showed `target` when set


def test_retry_delay_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_delay_s=0.1, max_delay_s=2.0)
    assert 0.05 <= policy.delay(1) <= 0.1
    assert 0.2 <= policy.delay(3) <= 0.4
    assert all(1.0 <= policy.delay(20) <= 2.0 for _ in range(50))


def test_errors_are_classified_transient_or_not() -> None:
    assert is_transient(AutoReconnect("primary stepped down"))
    assert is_transient(TimeoutError())
    assert not is_transient(DuplicateKeyError("E11000"))
    assert not is_transient(ValueError("bad"))
    assert not is_transient(PoisonMessage("unknown_record", "never seen"))


async def test_until_done_retries_a_failing_step_until_it_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from pymongo.errors import AutoReconnect

    from services.runtime import retrying

    waits: list[float] = []

    async def no_sleep(delay: float) -> None:
        waits.append(delay)

    # only the helper's own sleep: asyncio.sleep itself is every task's (a MongoDB client's
    # monitor left by another test would spin on a sleep that returns at once)
    monkeypatch.setattr(retrying, "asyncio", SimpleNamespace(sleep=no_sleep,
                                                             CancelledError=asyncio.CancelledError))
    failures: list[int] = []
    errors = iter([AutoReconnect("down"), ValueError("bug")])

    async def step() -> int:
        error = next(errors, None)
        if error is not None:
            raise error
        return 7

    result = await retrying.until_done(step, logging.getLogger("t"), "step", lambda: failures.append(1))
    assert result == 7 and len(failures) == 2
    assert 0.2 <= waits[0] <= 0.4 and 0.4 <= waits[1] <= 0.8  # doubling, with jitter
    assert retrying.backoff_s(40) <= 10.0
