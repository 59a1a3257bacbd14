"""The HTTP contract of intake beyond the domain's own forms: the tracking page's answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class HistoryEntryOut(BaseModel):
    at: datetime
    event_type: str
    status: str | None
    """The status this event set, or None when it left the status as it was."""
    summary: str


class RecordOut(BaseModel):
    record_code: str
    procedure_code: str
    status: str
    received_at: datetime
    appointment_original: datetime
    appointment_current: datetime
    appointment_provisional: bool = False
    department_code: str | None
    history: list[HistoryEntryOut]
    trace_id: str | None = None
    """The submission's trace (for staff: the record's path through the services); never
    given to a caller with the receipt's secret."""
