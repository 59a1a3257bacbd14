"""A department's side of a record, major version 1: what it receives and what it answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts import topics
from contracts.common import DepartmentCode, Note, PositiveInt, Reason, RecordCode, Timestamp
from contracts.payload import EventPayload
from contracts.records.v1 import Document, RecordSubmitted


# Retired: version 2 (contracts.department.v2) leaves out the applicant's contact details.
class RecordAssigned(EventPayload):
    """A record handed to a department, on that department's own topic ``routed.<code>.v1``."""

    event_type = "vn.motcua.record.assigned"
    topic = topics.DEPARTMENT_TOPIC_V1_MARKER

    record: RecordSubmitted
    """The record exactly as submitted."""
    department_code: DepartmentCode
    attempt: PositiveInt
    rule_version: PositiveInt
    routed_at: Timestamp

    def subject(self) -> str | None:
        return self.record.record_code


class DepartmentUpdate(EventPayload):
    """Fields every department answer carries (abstract: not an event by itself)."""

    topic = topics.DEPARTMENT_UPDATES

    record_code: RecordCode
    department_code: DepartmentCode
    note: Note | None = None
    """Free text from the department officer; no personal data."""


class RecordAccepted(DepartmentUpdate):
    """The department took the record in for processing."""

    event_type = "vn.motcua.record.accepted"


class RecordReturnedMisrouted(DepartmentUpdate):
    """The department sent the record back: not its competence."""

    event_type = "vn.motcua.record.returned-misrouted"

    reason: Reason
    suggested_department_code: DepartmentCode | None = None


MissingItem = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SupplementRequested(DepartmentUpdate):
    """The department asked the applicant to complete the record (form 02); the clock may pause."""

    event_type = "vn.motcua.record.supplement-requested"

    missing: tuple[MissingItem, ...] = Field(min_length=1, max_length=100)
    reason: Reason
    respond_by: Timestamp | None = None


class RecordSupplemented(DepartmentUpdate):
    """The applicant supplied what was missing; the clock runs again."""

    event_type = "vn.motcua.record.supplemented"

    documents: tuple[Document, ...] = Field(default=(), max_length=500)
    """Components added, when known."""


class RecordResolved(DepartmentUpdate):
    """The department finished processing; the result is ready."""

    event_type = "vn.motcua.record.resolved"

    result_summary: Reason
    electronic_result: bool


class RecordRejected(DepartmentUpdate):
    """The department refused the application (form 03), with the reason."""

    event_type = "vn.motcua.record.rejected"

    reason: Reason


class ResultReturned(DepartmentUpdate):
    """The result reached the applicant."""

    event_type = "vn.motcua.record.result-returned"

    how: Literal["collected", "electronic", "post"]


class DelayReported(DepartmentUpdate):
    """The department's reason for being late and its new date (form 04 of Circular 01/2018)."""

    event_type = "vn.motcua.record.delay-reported"

    reason: Reason
    new_appointment: Timestamp


UpdateRefusalReason = Literal[
    "unreadable",
    "sender_mismatch",
    "unknown_record",
    "not_holder",
    "not_allowed_now",
    "from_the_future",
    "before_last_event",
]
"""Why routing refused a department's update; the detail says more."""


class UpdateRefused(EventPayload):
    """Routing refused an update a department sent: nothing changed anywhere. On the sender's
    own `feedback.<code>.v1`, keyed by the record code."""

    event_type = "vn.motcua.record.update-refused"
    topic = topics.FEEDBACK_TOPIC_MARKER

    record_code: RecordCode
    department_code: DepartmentCode
    """The sender: the department whose `updates.<code>.v1` the update came on."""
    refused_event_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    refused_event_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    reason: UpdateRefusalReason
    detail: Reason
