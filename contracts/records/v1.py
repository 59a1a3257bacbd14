"""Records as received and as routed, major version 1: what intake and routing publish."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from contracts import topics
from contracts.common import (
    AdministrativeUnitCode,
    Channel,
    CitizenId,
    CommuneCode,
    ContactChannel,
    DepartmentCode,
    EmailAddress,
    Language,
    Name,
    NonNegativeInt,
    OnlineLevel,
    PhoneNumber,
    PositiveInt,
    ProcedureCode,
    ProcessingLevel,
    ProvinceCode,
    Reason,
    RecordCode,
    Sha256,
    Timestamp,
    UnitCode,
)
from contracts.payload import ContractModel, EventPayload

TopicName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


class Address(ContractModel):
    """The applicant's address, with 2025 administrative division codes."""

    province_code: ProvinceCode = Field(repr=False)
    commune_code: CommuneCode = Field(repr=False)
    detail: Name = Field(repr=False)
    """House number, street, hamlet."""


class Applicant(ContractModel):
    """Who applied and how to reach them. Personal data: never log it (kept out of repr)."""

    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(repr=False)
    citizen_id: CitizenId = Field(repr=False)
    phone: PhoneNumber = Field(repr=False)
    email: EmailAddress | None = Field(default=None, repr=False)
    address: Address = Field(repr=False)
    preferred_channel: ContactChannel
    language: Language = "vi"

    @model_validator(mode="after")
    def _email_when_preferred(self) -> Self:
        if self.preferred_channel == "email" and self.email is None:
            raise ValueError("preferred_channel is 'email' but no email is given")
        return self


class Document(ContractModel):
    """One component of the record, identified by its content hash."""

    name: Name
    sha256: Sha256
    size_bytes: NonNegativeInt
    digitized: bool
    """Whether the component was digitised (counts toward the digitisation index)."""


class RecordSubmitted(EventPayload):
    """A complete record was accepted and a receipt with an appointment issued (form 01)."""

    event_type = "vn.motcua.record.submitted"
    topic = topics.RECORDS_SUBMITTED

    record_code: RecordCode
    procedure_code: ProcedureCode
    procedure_name: Name
    channel: Channel
    online_level: OnlineLevel
    receiving_unit_code: UnitCode
    """The centre that received the record (any centre of the province since 2025)."""
    administrative_unit_code: AdministrativeUnitCode
    """Commune or ward where the case belongs (2025 map); may still be a former district code."""
    processing_level: ProcessingLevel
    applicant: Applicant
    documents: tuple[Document, ...] = Field(max_length=500)
    fee_vnd: NonNegativeInt
    paid_online: bool
    reused_data: bool
    """Data reused from national databases instead of asked from the applicant."""
    electronic_result: bool
    """The result is to be issued electronically."""
    processing_days: int = Field(ge=0, le=366)
    """Statutory period in working days; 0 means the same day."""
    received_at: Timestamp
    accepted_at: Timestamp
    appointment_original: Timestamp
    """Due time on the receipt; never moves."""
    appointment_current: Timestamp
    """Due time now (equal to the original until an extension or an apology moves it)."""
    legal_basis: Reason | None = None
    appointment_provisional: bool = False
    """Counted on a provisional holiday calendar (issued before the Government's notice for the
    year): the receipt says the date may move when the official calendar is published."""

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        if self.accepted_at < self.received_at:
            raise ValueError("accepted_at is before received_at")
        if self.appointment_original < self.accepted_at:
            raise ValueError("appointment_original is before accepted_at")
        if self.appointment_current < self.appointment_original:
            raise ValueError("appointment_current is before appointment_original")
        return self


class RecordRouted(EventPayload):
    """Routing chose a department for a record (every decision, kept for audit)."""

    event_type = "vn.motcua.record.routed"
    topic = topics.RECORDS_ROUTED

    record_code: RecordCode
    procedure_code: ProcedureCode
    department_code: DepartmentCode
    department_topic: TopicName
    """Topic the assignment was published on."""
    decision: Literal["routed", "rerouted", "manual"]
    reason: Reason
    rule_version: PositiveInt
    attempt: PositiveInt
    candidates_left: tuple[DepartmentCode, ...] = Field(max_length=100)
    """Departments still to try if this one returns the record as misrouted."""
    previous_department_code: DepartmentCode | None = None
    administrative_unit_code: AdministrativeUnitCode
    decided_by: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    """Who chose the department when a person did (the one-stop office's manual queue): the
    subject of their sign-in, never a name or contact. None for a rule's decision."""
