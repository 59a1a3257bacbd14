"""Deadline alerts from sla_monitor, major version 1: warnings, breaches, escalations, apologies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts import topics
from contracts.common import (
    DepartmentCode,
    NonNegativeInt,
    ProcedureCode,
    Reason,
    RecordCode,
    SupervisorRole,
    Timestamp,
    WorkingHours,
)
from contracts.payload import EventPayload


class SlaAlert(EventPayload):
    """Fields every SLA alert carries (abstract: not an event by itself)."""

    topic = topics.SLA_ALERTS

    record_code: RecordCode
    department_code: DepartmentCode | None = None
    """The department holding the record, when one does."""
    procedure_code: ProcedureCode
    due_at: Timestamp
    """The current appointment."""


class DeadlineWarning(SlaAlert):
    """The record is nearly late (sắp trễ)."""

    event_type = "vn.motcua.sla.deadline-warning"

    remaining_working_hours: WorkingHours


class DeadlineBreached(SlaAlert):
    """The appointment passed without a result (trễ hạn)."""

    event_type = "vn.motcua.sla.deadline-breached"

    lateness_working_days: NonNegativeInt
    lateness_working_hours: WorkingHours


class EscalationRaised(SlaAlert):
    """A late or misrouted record was escalated to a supervisor."""

    event_type = "vn.motcua.sla.escalation-raised"

    kind: Literal["late", "misrouted"]
    level: int = Field(ge=1, le=10)
    recipient_role: SupervisorRole
    reason: Reason
    lateness_working_days: NonNegativeInt | None = None
    lateness_working_hours: WorkingHours | None = None


class RecordStuckInRouting(SlaAlert):
    """No department has accepted the record for too long."""

    event_type = "vn.motcua.sla.record-stuck-in-routing"

    since: Timestamp
    waited_working_hours: WorkingHours
    reason: Reason


class DelayExplanationRequested(SlaAlert):
    """Before the due time, the department is asked for a reason and a new date (form 04)."""

    event_type = "vn.motcua.sla.delay-explanation-requested"

    department_code: DepartmentCode
    respond_by: Timestamp
    remaining_working_hours: WorkingHours


class ApologyDue(SlaAlert):
    """The applicant must receive the apology with the new date (form 04).

    The notifier finds the applicant's contacts in the RecordSubmitted it kept; no contact here.
    """

    event_type = "vn.motcua.sla.apology-due"

    department_code: DepartmentCode
    reason: Reason
    appointment_original: Timestamp
    new_appointment: Timestamp
