"""What each later event means for the applicant's tracking page: a status and a history line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.department import v1 as department
from contracts.envelope import Envelope
from contracts.records.v1 import RecordRouted
from contracts.sla import v1 as sla

SUBMITTED = "vn.motcua.record.submitted"


@dataclass(frozen=True, slots=True)
class TrackingChange:
    status: str | None
    """New status, or None when the event leaves the status as it is."""
    summary: str
    moves_department: bool = False
    """The event says who holds the record now: `department_code` (None: nobody yet)."""
    department_code: str | None = None
    appointment_current: datetime | None = None
    """A new appointment (the apology's), or None when the event leaves it as it is."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a record's tracking page: the event that caused it and what it changed."""

    event_id: str
    event_type: str
    at: datetime
    change: TrackingChange


def track(envelope: Envelope[Any]) -> TrackingChange | None:
    """The change an event brings to a record's tracking, or None for events the page ignores."""
    data = envelope.data
    match data:
        case RecordRouted(decision="manual"):
            return TrackingChange("awaiting_manual_routing", "waiting for the one-stop office to "
                                  "choose the processing department", moves_department=True)
        case RecordRouted():
            return TrackingChange("transferred", f"transferred to {data.department_code}",
                                  moves_department=True, department_code=data.department_code)
        case department.RecordAccepted():
            return TrackingChange("processing", f"accepted by {data.department_code}")
        case department.RecordReturnedMisrouted():
            return TrackingChange("returned_by_agency", f"returned by {data.department_code} as "
                                  "not its competence; being routed again")
        case department.SupplementRequested():
            return TrackingChange("supplement_requested",
                                  f"{len(data.missing)} item(s) to supplement")
        case department.RecordSupplemented():
            return TrackingChange("processing", "supplement received")
        case department.RecordResolved():
            return TrackingChange("done", "result ready")
        case department.RecordRejected():
            return TrackingChange("refused", "refused by the processing agency")
        case department.ResultReturned():
            return TrackingChange("result_returned", f"result returned ({data.how})")
        case sla.ApologyDue():
            return TrackingChange(None, "late: apology sent with a new appointment date",
                                  appointment_current=data.new_appointment)
    return None


def history_entry(envelope: Envelope[Any], change: TrackingChange) -> HistoryEntry:
    return HistoryEntry(envelope.id, envelope.type, envelope.time, change)


def received_entry(event_id: str, received_at: datetime) -> HistoryEntry:
    """The first line of every page: the receipt."""
    return HistoryEntry(event_id, SUBMITTED, received_at,
                        TrackingChange("received", "received; receipt issued"))


@dataclass(frozen=True, slots=True)
class Tracking:
    """A record's tracking state, derived from its history: nothing to update, nothing to race."""

    status: str
    department_code: str | None
    appointment_current: datetime
    history: list[HistoryEntry]


def fold(appointment: datetime, history: Sequence[HistoryEntry]) -> Tracking:
    """The latest status and fields in event time (events arrive on several topics, out of order)."""
    status, holder, current = "received", None, appointment
    ordered = sorted(history, key=lambda entry: entry.at)
    for entry in ordered:
        change = entry.change
        if change.status:
            status = change.status
        if change.moves_department:
            holder = change.department_code
        if change.appointment_current is not None:
            current = change.appointment_current
    return Tracking(status, holder, current, ordered)
