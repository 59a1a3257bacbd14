"""What each later event means for the applicant's tracking page: a status and a history line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.department import v1 as department
from contracts.envelope import Envelope
from contracts.records.v1 import RecordRouted
from contracts.sla import v1 as sla


@dataclass(frozen=True)
class TrackingChange:
    status: str | None
    """New status, or None when the event leaves the status as it is."""
    summary: str
    fields: dict[str, Any] = field(default_factory=dict)


def track(envelope: Envelope[Any]) -> TrackingChange | None:
    """The change an event brings to a record's tracking, or None for events the page ignores."""
    data = envelope.data
    match data:
        case RecordRouted(decision="manual"):
            return TrackingChange("awaiting_manual_routing", "waiting for the one-stop office to "
                                  "choose the processing department", {"department_code": None})
        case RecordRouted():
            return TrackingChange("transferred", f"transferred to {data.department_code}",
                                  {"department_code": data.department_code})
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
                                  {"appointment_current": data.new_appointment})
    return None


def history_entry(envelope: Envelope[Any], change: TrackingChange) -> dict[str, Any]:
    at: datetime = envelope.time
    return {"event_id": envelope.id, "event_type": envelope.type,
            "at": at, "status": change.status, "summary": change.summary, "fields": change.fields}


@dataclass(frozen=True)
class Tracking:
    """A record's tracking state, derived from its history: nothing to update, nothing to race."""

    status: str
    department_code: str | None
    appointment_current: datetime
    history: list[dict[str, Any]]


def fold(appointment: datetime, history: list[dict[str, Any]]) -> Tracking:
    """The latest status and fields in event time (events arrive on several topics, out of order)."""
    status, department, current = "received", None, appointment
    ordered = sorted(history, key=lambda item: item["at"])
    for entry in ordered:
        if entry.get("status"):
            status = entry["status"]
        fields = entry.get("fields") or {}
        if "department_code" in fields:
            department = fields["department_code"]
        if fields.get("appointment_current") is not None:
            current = fields["appointment_current"]
    return Tracking(status, department, current, ordered)
