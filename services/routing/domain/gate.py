"""The gate on department updates: who may say what about a record, and when (pure, no I/O).

Routing alone knows who holds a record, so routing alone decides whether a department's update
happened. A department writes only to its own `updates.<code>.v1` (the broker's ACLs make the
topic name the sender's identity); an update the gate lets through is forwarded, unchanged, to
`records.department-updates.v1`, the one topic intake, the SLA monitor and the notifier trust.
A refused one changes nothing and goes back to its sender only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from contracts.department.v1 import (
    DelayReported,
    DepartmentUpdate,
    RecordAccepted,
    RecordRejected,
    RecordResolved,
    RecordReturnedMisrouted,
    RecordSupplemented,
    ResultReturned,
    SupplementRequested,
    UpdateRefusalReason,
)

Stage = Literal["assigned", "accepted", "supplementing", "decided", "returned"]
"""Where a record stands with its holder: assigned (not yet taken in), accepted, waiting for the
applicant's supplement, decided (resolved or rejected), its result returned."""

_RULES: dict[type[DepartmentUpdate], tuple[frozenset[Stage], Stage | None]] = {
    RecordAccepted: (frozenset({"assigned"}), "accepted"),
    RecordReturnedMisrouted: (frozenset({"assigned", "accepted"}), "assigned"),
    SupplementRequested: (frozenset({"accepted"}), "supplementing"),
    RecordSupplemented: (frozenset({"supplementing"}), "accepted"),
    DelayReported: (frozenset({"accepted", "supplementing"}), None),
    RecordResolved: (frozenset({"accepted"}), "decided"),
    RecordRejected: (frozenset({"accepted", "supplementing"}), "decided"),
    ResultReturned: (frozenset({"decided"}), "returned"),
}
"""Each update: the stages it may come from, and the stage it leaves (None: unchanged; a record
returned as misrouted is assigned again, to its next holder)."""


@dataclass(frozen=True, slots=True)
class Holding:
    """What the gate needs to know of a record: its holder, its stage, its last event's time."""

    department_code: str
    stage: Stage | None
    """None for a route stored before the gate kept stages: any transition is let through."""
    last_event_at: datetime | None


@dataclass(frozen=True, slots=True)
class GateRefusal:
    reason: UpdateRefusalReason
    detail: str


def check(update: DepartmentUpdate, *, sender: str, at: datetime, now: datetime,
          holding: Holding | None, skew: timedelta) -> GateRefusal | None:
    """Why `sender`'s update, stamped `at` and seen at `now`, cannot apply; None if it can."""
    name = update.event_type.rsplit(".", 1)[-1]
    if update.department_code != sender:
        return GateRefusal("sender_mismatch", f"the update names {update.department_code} but came "
                                              f"on the topic of {sender}")
    if holding is None:
        return GateRefusal("unknown_record", f"record {update.record_code} was never routed")
    if holding.department_code != sender:
        return GateRefusal("not_holder", f"{sender} does not hold record {update.record_code}")
    if at > now + skew:
        return GateRefusal("from_the_future", f"stamped {at.isoformat()}, after now "
                                              f"{now.isoformat()} plus {skew}")
    if holding.last_event_at is not None and at < holding.last_event_at:
        return GateRefusal("before_last_event", f"stamped {at.isoformat()}, before the record's "
                                                f"last event at {holding.last_event_at.isoformat()}")
    allowed, _ = _RULES[type(update)]
    if holding.stage is not None and holding.stage not in allowed:
        return GateRefusal("not_allowed_now", f"{name} is not allowed while the record is "
                                              f"{holding.stage} (only when {', '.join(sorted(allowed))})")
    return None


def stage_after(update: DepartmentUpdate, stage: Stage | None) -> Stage | None:
    """The record's stage once `update` applied."""
    _, after = _RULES[type(update)]
    return stage if after is None else after


def later(first: datetime | None, second: datetime) -> datetime:
    return second if first is None else max(first, second)
