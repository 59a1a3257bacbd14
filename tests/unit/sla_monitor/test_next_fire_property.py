"""A scheduler that wakes only at `next_fire_at` misses no alert, over random event sequences."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from services.sla_monitor.domain import Deadline, SlaEvent, evolve, fire

from .factories import (
    CAL,
    DEPT,
    OTHER,
    POLICY,
    accepted,
    at,
    delay_reported,
    rejected,
    resolved,
    result_returned,
    returned_misrouted,
    routed,
    submitted,
    supplement_requested,
    supplemented,
)

MINUTE = timedelta(minutes=1)


def random_event(rng: random.Random, state: Deadline, attempt: int) -> SlaEvent:
    holder = state.department_code or DEPT
    choices: list[SlaEvent] = [
        routed(rng.choice([DEPT, OTHER]), attempt=attempt,
               decision=rng.choice(["routed", "rerouted", "manual"])),
        accepted(holder), accepted(holder), returned_misrouted(holder), supplement_requested(),
        supplemented(), supplemented(),
        delay_reported(state.due_current_at + timedelta(days=rng.randint(-1, 6))),
    ]
    if rng.random() < 0.08:
        closes: list[SlaEvent] = [resolved(), rejected(), result_returned()]
        choices.append(rng.choice(closes))
    return rng.choice(choices)


def check_schedule(state: Deadline, now: datetime) -> None:
    """Nothing fires between now and next_fire_at; something fires at next_fire_at."""
    due = state.next_fire_at
    if due is None:
        assert fire(state, now + timedelta(days=45), CAL, POLICY).alerts == ()
        return
    if due > now:
        assert fire(state, max(now, due - MINUTE), CAL, POLICY).alerts == ()
    assert fire(state, max(now, due), CAL, POLICY).alerts != ()


@pytest.mark.parametrize("seed", range(60))
def test_next_fire_at_is_the_earliest_pending_alert(seed: int) -> None:
    rng = random.Random(seed)
    start = at("2025-11-03", rng.randint(8, 16)) + timedelta(days=rng.randint(0, 30))
    now = start
    result = evolve(None, submitted(start, rng.randint(0, 10)), at=now, now=now, calendar=CAL,
                    policy=POLICY)
    state = result.state
    assert state is not None
    check_schedule(state, now)
    fired_keys: list[str] = []
    for step in range(40):
        now += timedelta(hours=rng.choice([1, 2, 5, 9, 16, 24, 40]), minutes=rng.randint(0, 59))
        if rng.random() < 0.5:
            outcome = fire(state, now, CAL, POLICY)
            fired_keys += [alert.key for alert in outcome.alerts]
            state = outcome.state
            assert state.next_fire_at is None or state.next_fire_at > now
        else:
            event = random_event(rng, state, attempt=step + 2)
            applied = evolve(state, event, at=now, now=now, calendar=CAL, policy=POLICY)
            if applied.refusals:
                assert applied.state is state  # refused: untouched
            assert applied.state is not None
            state = applied.state
        check_schedule(state, now)
    # However the sequence went, the late-side alerts never fired twice.
    for key in ("warning", "delay-request", "breach", "escalation-1", "escalation-2", "apology"):
        assert fired_keys.count(key) <= 1, (key, fired_keys)
