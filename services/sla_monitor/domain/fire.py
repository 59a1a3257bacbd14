"""Turning due alerts into contract payloads, each at most once, and rescheduling the record."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NamedTuple, TypedDict

from contracts.sla.v1 import (
    ApologyDue,
    DeadlineBreached,
    DeadlineWarning,
    DelayExplanationRequested,
    EscalationRaised,
    RecordStuckInRouting,
    SlaAlert,
)
from reference.calendar import WorkingCalendar
from reference.localtime import to_local

from .hours import day_end, working_hours_between
from .policy import SlaPolicy
from .schedule import Pending, next_fire_at, pending
from .state import AlertKey, Deadline


class _About(TypedDict):
    record_code: str
    procedure_code: str
    due_at: datetime


class FiredAlert(NamedTuple):
    """One alert payload, the rule that fired it and the instant it was due."""

    key: AlertKey
    due_at: datetime
    payload: SlaAlert

    @property
    def event_id(self) -> str:
        """A deterministic envelope id, so a retried firing is deduplicated downstream."""
        return (f"sla:{self.payload.record_code}:{self.key}:{self.payload.event_type}:"
                f"{self.due_at.isoformat()}")


class Fired(NamedTuple):
    """The state after firing, and the alerts to publish (in order)."""

    state: Deadline
    alerts: tuple[FiredAlert, ...]

    @property
    def payloads(self) -> tuple[SlaAlert, ...]:
        return tuple(alert.payload for alert in self.alerts)


def fire(state: Deadline, now: datetime, calendar: WorkingCalendar, policy: SlaPolicy) -> Fired:
    """The alerts due at `now` not fired before; alerts whose moment passed unused are dropped."""
    now = to_local(now)
    fired: list[FiredAlert] = []
    current = state
    for due in pending(state, calendar, policy):
        if due.at > now or not due.live(now):
            continue
        current, payloads = _fire_one(current, due, now, calendar, policy)
        fired.extend(FiredAlert(due.key, due.at, payload) for payload in payloads)
        current = current.with_fired(due.key)
    current = replace(current, next_fire_at=next_fire_at(current, now, calendar, policy))
    if current != state:
        current = replace(current, revision=current.revision + 1)
    return Fired(current, tuple(fired))


def _fire_one(state: Deadline, due: Pending, now: datetime, calendar: WorkingCalendar,
              policy: SlaPolicy) -> tuple[Deadline, tuple[SlaAlert, ...]]:
    rules = policy.for_procedure(state.procedure_code)
    about = _About(record_code=state.record_code, procedure_code=state.procedure_code,
                   due_at=state.due_current_at)
    holder = state.department_code
    remaining = max(working_hours_between(now, state.due_current_at, calendar), 0.0)
    if due.key == "warning":
        return state, (DeadlineWarning(**about, department_code=holder,
                                       remaining_working_hours=remaining),)
    if due.key == "delay-request":
        if holder is None:  # the schedule only plans it for a record a department holds
            raise RuntimeError(f"delay request for {state.record_code}, which no department holds")
        return state, (DelayExplanationRequested(**about, department_code=holder,
                                                 respond_by=state.due_current_at,
                                                 remaining_working_hours=remaining),)
    anchor = state.breached_at or state.due_current_at
    days = max(calendar.working_days_between(to_local(anchor).date(), now.date()), 0)
    hours = max(working_hours_between(anchor, now, calendar), 0.0)
    if due.key == "breach":
        breached = replace(state, breached_at=state.due_current_at)
        return breached, (DeadlineBreached(**about, department_code=holder, lateness_working_days=days,
                                           lateness_working_hours=hours),)
    if due.key in ("escalation-1", "escalation-2"):
        level, role = (1, "department_head") if due.key == "escalation-1" else (2, "provincial_supervisor")
        reason = f"Quá hạn {days} ngày làm việc ({hours:g} giờ làm việc) so với ngày hẹn trả kết quả"
        return state, (EscalationRaised(**about, department_code=holder, kind="late", level=level,
                                        recipient_role=role,
                                        reason=reason, lateness_working_days=days,
                                        lateness_working_hours=hours),)
    if due.key == "apology":
        return _apology(state, about, calendar, rules.default_extension_days,
                        rules.default_apology_reason)
    if due.key == "stuck-routing":
        since = state.routed_at or now
        waited = working_hours_between(since, now, calendar)
        reason = f"Chưa cơ quan nào tiếp nhận hồ sơ sau {waited:g} giờ làm việc kể từ khi chuyển"
        return state, (RecordStuckInRouting(**about, department_code=holder, since=since,
                                            waited_working_hours=waited, reason=reason),
                       _misrouted(about, holder, reason))
    reason = "Hồ sơ phải định tuyến thủ công: không quy tắc nào xác định được cơ quan giải quyết"
    return state, (_misrouted(about, holder, reason),)


def _misrouted(about: _About, holder: str | None, reason: str) -> EscalationRaised:
    return EscalationRaised(**about, department_code=holder, kind="misrouted", level=1,
                            recipient_role="one_stop_office_supervisor", reason=reason)


def _apology(state: Deadline, about: _About, calendar: WorkingCalendar,
             extension_days: int, default_reason: str) -> tuple[Deadline, tuple[SlaAlert, ...]]:
    """Form 04: the department's reason and date, or by default due + N working days."""
    report = state.delay_report
    if report is not None:
        reason, new = report.reason, report.new_appointment
    else:
        reason = default_reason
        new = day_end(calendar.add_working_days(state.due_on, extension_days), calendar)
    # The apology comes from the holder; with none, from the centre that gave the receipt.
    issuer = state.department_code or state.receiving_unit_code
    payload = ApologyDue(**about, department_code=issuer, reason=reason,
                         appointment_original=state.due_original_at, new_appointment=new)
    return replace(state, apology_appointment=new), (payload,)
