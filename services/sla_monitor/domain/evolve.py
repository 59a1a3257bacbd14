"""Folding department and routing events into a record's deadline, refusing what cannot apply."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, NamedTuple, get_args

from contracts.department.v1 import (
    DelayReported,
    RecordAccepted,
    RecordRejected,
    RecordResolved,
    RecordReturnedMisrouted,
    RecordSupplemented,
    ResultReturned,
    SupplementRequested,
)
from contracts.records.v1 import RecordRouted, RecordSubmitted
from reference.calendar import WorkingCalendar
from reference.deadlines import appointment, extend_for_pause
from reference.localtime import to_local

from .hours import day_end, lateness_days
from .policy import SlaPolicy
from .schedule import next_fire_at
from .state import ClosedBy, Closure, Deadline, DelayReport, Extension, Outcome, Pause

SlaEvent = (RecordSubmitted | RecordRouted | RecordAccepted | RecordReturnedMisrouted
            | SupplementRequested | RecordSupplemented | RecordResolved | RecordRejected
            | ResultReturned | DelayReported)
"""Every event the monitor folds in (the payloads; the envelope's time comes as `at`)."""
SLA_EVENT_TYPES: tuple[type[SlaEvent], ...] = get_args(SlaEvent)
"""The same, for isinstance checks on a decoded payload."""

RefusalReason = Literal["unknown_record", "no_pending_supplement", "already_closed",
                        "event_from_the_future", "already_submitted", "supplement_already_pending",
                        "appointment_not_later", "calendar_not_covered"]


@dataclass(frozen=True)
class Refusal:
    """Why an event changed nothing; the state is left exactly as it was."""

    reason: RefusalReason
    detail: str


class Result(NamedTuple):
    """The state after an event (None only for an unknown record), and what was refused."""

    state: Deadline | None
    refusals: tuple[Refusal, ...] = ()
    duplicate: bool = False
    """The event id was applied before: nothing changed, nothing refused."""


class _Refused(Exception):
    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(detail)
        self.refusal = Refusal(reason, detail)


def evolve(state: Deadline | None, event: SlaEvent, *, at: datetime, now: datetime,
           calendar: WorkingCalendar, policy: SlaPolicy, event_id: str | None = None) -> Result:
    """Apply one event that happened at `at` (the envelope time), as seen at `now`.

    Raises ValueError for a programming error: an event about another record than `state`.
    """
    if state is not None and event.record_code != state.record_code:
        raise ValueError(f"event for {event.record_code} applied to the state of {state.record_code}")
    if state is not None and event_id is not None and event_id in state.applied_event_ids:
        return Result(state, duplicate=True)
    try:
        if at > now + policy.future_tolerance:
            raise _Refused("event_from_the_future", f"event at {at.isoformat()} is after now "
                           f"{now.isoformat()} plus {policy.future_tolerance}")
        changed = _apply(state, event, to_local(at), calendar, policy)
    except _Refused as refused:
        return Result(state, (refused.refusal,))
    kept = (*changed.applied_event_ids, event_id) if event_id is not None else changed.applied_event_ids
    last = to_local(at) if changed.last_event_at is None else max(changed.last_event_at, to_local(at))
    changed = replace(changed, applied_event_ids=kept[-policy.kept_event_ids:], last_event_at=last,
                      revision=changed.revision + 1)
    return Result(replace(changed, next_fire_at=next_fire_at(changed, now, calendar, policy)))


def _apply(state: Deadline | None, event: SlaEvent, at: datetime, calendar: WorkingCalendar,
           policy: SlaPolicy) -> Deadline:
    if isinstance(event, RecordSubmitted):
        if state is not None:
            raise _Refused("already_submitted", f"record {event.record_code} was submitted before")
        return _submitted(event, calendar, policy)
    if state is None:
        raise _Refused("unknown_record", f"no deadline for record {event.record_code} "
                       f"({event.event_type} before its submission)")
    if state.is_closed:
        closure = state.closure
        if isinstance(event, ResultReturned) and closure is not None and closure.returned_at is None:
            return replace(state, closure=replace(closure, returned_at=at))
        raise _Refused("already_closed", f"record {state.record_code} is closed; "
                       f"{event.event_type} changes nothing")
    if isinstance(event, RecordRouted):
        return _routed(state, event, at)
    if isinstance(event, RecordAccepted):
        # Routing and department updates travel on different topics: an acceptance may overtake
        # its routing, and the department that accepted evidently holds the record.
        return replace(state, department_code=event.department_code, accepted=True)
    if isinstance(event, RecordReturnedMisrouted):
        # Routing's gate checked that the sender held the record. If the monitor already knows
        # another holder, the re-routing this return caused overtook it (another topic): the
        # return is already followed.
        if event.department_code != state.department_code:
            return state
        return replace(state, department_code=None, accepted=False)
    if isinstance(event, SupplementRequested):
        return _supplement_requested(state, at)
    if isinstance(event, RecordSupplemented):
        return _supplemented(state, at, calendar)
    if isinstance(event, DelayReported):
        return _delay_reported(state, event, at, calendar)
    closed_by: ClosedBy = ("resolved" if isinstance(event, RecordResolved)
                           else "rejected" if isinstance(event, RecordRejected) else "result_returned")
    return _closed(state, closed_by, at, calendar)


def _submitted(event: RecordSubmitted, calendar: WorkingCalendar, policy: SlaPolicy) -> Deadline:
    # The receipt binds: its day is the due day. The calendar's own count is kept when it differs.
    counted = appointment(event.accepted_at, event.processing_days, calendar)
    original = day_end(to_local(event.appointment_original).date(), calendar)
    current = max(day_end(to_local(event.appointment_current).date(), calendar), original)
    accepted_at = to_local(event.accepted_at)
    extensions = (Extension("intake", accepted_at, original, current),) if current > original else ()
    return Deadline(
        record_code=event.record_code, procedure_code=event.procedure_code,
        receiving_unit_code=event.receiving_unit_code, department_code=None,
        received_at=to_local(event.received_at), accepted_at=accepted_at,
        accepted_on=counted.accepted_on, due_original_at=original, due_current_at=current,
        receipt_mismatch_on=(counted.due_date if counted.due_date != to_local(original).date() else None),
        processing_days=event.processing_days,
        waiting_time_counts=policy.for_procedure(event.procedure_code).waiting_time_counts,
        extensions=extensions)


def _routed(state: Deadline, event: RecordRouted, at: datetime) -> Deadline:
    if (event.department_code, event.attempt) == (state.department_code, state.routing_attempt):
        return state  # the same routing again: nothing new
    if state.accepted and state.department_code == event.department_code:
        # The department's acceptance overtook this routing (another topic): it stays accepted.
        return replace(state, routed_at=at, routing_attempt=event.attempt,
                       routing_decision=event.decision)
    # A new holder gets its own routing clock, so its stuck-in-routing alert may fire again.
    routed = replace(state, department_code=event.department_code, routed_at=at,
                     routing_attempt=event.attempt, routing_decision=event.decision,
                     accepted=False).without_fired("stuck-routing")
    if event.decision == "manual":
        return replace(routed, manual_routing_at=at).without_fired("manual-routing")
    return routed


def _supplement_requested(state: Deadline, at: datetime) -> Deadline:
    if state.supplement_requested_at is not None:
        raise _Refused("supplement_already_pending", f"record {state.record_code} already waits for "
                       f"a supplement requested at {state.supplement_requested_at.isoformat()}")
    if state.waiting_time_counts:
        return replace(state, supplement_requested_at=at)
    pause = Pause(requested_at=at, paused_on=at.date())
    return replace(state, supplement_requested_at=at, status="paused", pauses=(*state.pauses, pause))


def _supplemented(state: Deadline, at: datetime, calendar: WorkingCalendar) -> Deadline:
    if state.supplement_requested_at is None:
        raise _Refused("no_pending_supplement", f"record {state.record_code} has no supplement request")
    return replace(_resume(state, at, calendar), supplement_requested_at=None)


def _resume(state: Deadline, at: datetime, calendar: WorkingCalendar) -> Deadline:
    """End an open pause on `at`'s day and move both appointments (DOMAIN.md default rule)."""
    pause = state.open_pause
    if pause is None:
        return state
    resumed_on = max(at.date(), pause.paused_on)
    original = day_end(extend_for_pause(
        to_local(state.due_original_at).date(), pause.paused_on, resumed_on, calendar), calendar)
    current = day_end(extend_for_pause(state.due_on, pause.paused_on, resumed_on, calendar), calendar)
    moved = ((Extension("pause", at, state.due_current_at, current),)
             if current != state.due_current_at else ())
    return replace(state, status="open", pauses=(*state.pauses[:-1], replace(pause, resumed_on=resumed_on)),
                   due_original_at=original, due_current_at=current,
                   extensions=(*state.extensions, *moved))


def _delay_reported(state: Deadline, event: DelayReported, at: datetime,
                    calendar: WorkingCalendar) -> Deadline:
    new = day_end(to_local(event.new_appointment).date(), calendar)
    if new <= state.due_current_at:
        raise _Refused("appointment_not_later", f"new appointment {new.isoformat()} is not after the "
                       f"current one {state.due_current_at.isoformat()}")
    return replace(state, due_current_at=new,
                   delay_report=DelayReport(reported_at=at, reason=event.reason, new_appointment=new),
                   extensions=(*state.extensions, Extension("delay_reported", at, state.due_current_at, new)))


def _closed(state: Deadline, closed_by: ClosedBy, at: datetime, calendar: WorkingCalendar) -> Deadline:
    # Closing during a wait (e.g. refused for want of the supplement): the wait ends that day.
    state = replace(_resume(state, at, calendar), supplement_requested_at=None)
    done_on = at.date()
    late_current = lateness_days(state.due_on, done_on, calendar)
    late_original = lateness_days(to_local(state.due_original_at).date(), done_on, calendar)
    outcome: Outcome = "late" if late_current else "on_time" if done_on == state.due_on else "early"
    closure = Closure(closed_by=closed_by, closed_at=at, outcome=outcome,
                      lateness_working_days=late_current, late_against_original=late_original > 0,
                      lateness_original_working_days=late_original,
                      returned_at=at if closed_by == "result_returned" else None)
    return replace(state, status="closed", closure=closure)
