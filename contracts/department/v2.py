"""A department's side of a record, major version 2: the assignment without the applicant's
contact details.

A department decides on who applied, where, for what and with which documents; it never contacts
the applicant (the notifier does). So the assignment carries the applicant's identity and
address, and not their phone, email, preferred channel or language (version 1 carried the whole
submitted record). Department updates did not change and stay in version 1.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from contracts import topics
from contracts.common import (
    AdministrativeUnitCode,
    Channel,
    CitizenId,
    DepartmentCode,
    Name,
    NonNegativeInt,
    OnlineLevel,
    PositiveInt,
    ProcedureCode,
    ProcessingLevel,
    Reason,
    RecordCode,
    Timestamp,
    UnitCode,
)
from contracts.payload import ContractModel, EventPayload
from contracts.records.v1 import Address, Document, RecordSubmitted


class ApplicantIdentity(ContractModel):
    """Who applied, as the department needs it to decide. Personal data: never log it."""

    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(repr=False)
    citizen_id: CitizenId = Field(repr=False)
    address: Address = Field(repr=False)


class AssignedRecord(ContractModel):
    """The submitted record as a department receives it: everything but the applicant's contact."""

    record_code: RecordCode
    procedure_code: ProcedureCode
    procedure_name: Name
    channel: Channel
    online_level: OnlineLevel
    receiving_unit_code: UnitCode
    administrative_unit_code: AdministrativeUnitCode
    processing_level: ProcessingLevel
    applicant: ApplicantIdentity
    documents: tuple[Document, ...] = Field(max_length=500)
    fee_vnd: NonNegativeInt
    paid_online: bool
    reused_data: bool
    electronic_result: bool
    processing_days: int = Field(ge=0, le=366)
    received_at: Timestamp
    accepted_at: Timestamp
    appointment_original: Timestamp
    appointment_current: Timestamp
    legal_basis: Reason | None = None
    appointment_provisional: bool = False

    @classmethod
    def of(cls, submitted: RecordSubmitted) -> AssignedRecord:
        """The department's view of a submitted record."""
        data = submitted.model_dump(exclude={"applicant": {"phone", "email", "preferred_channel",
                                                           "language"}})
        return cls.model_validate(data)

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        if not self.received_at <= self.accepted_at <= self.appointment_original <= \
                self.appointment_current:
            raise ValueError("received, accepted, original and current appointment out of order")
        return self


class RecordAssigned(EventPayload):
    """A record handed to a department, on that department's own topic ``routed.<code>.v2``."""

    event_type = "vn.motcua.record.assigned"
    schema_version = 2
    topic = topics.DEPARTMENT_TOPIC_MARKER

    record: AssignedRecord
    department_code: DepartmentCode
    attempt: PositiveInt
    rule_version: PositiveInt
    routed_at: Timestamp

    def subject(self) -> str | None:
        return self.record.record_code
