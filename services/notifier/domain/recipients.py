"""Who can be told: the applicant's contacts kept per record, supervisors and departments from config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Language, SupervisorRole
from contracts.records.v1 import Applicant, RecordSubmitted

from .intents import ChannelName


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicantContact:
    """How to reach an applicant, as given in the application.

    Plain strings, not the contract's literals: a stored contact may come from a later contract
    version, and the planner must turn what it cannot use into a failed outcome, not a crash.
    """

    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    preferred_channel: str = "sms"
    language: str = "vi"

    @classmethod
    def from_applicant(cls, applicant: Applicant) -> ApplicantContact:
        return cls(email=applicant.email, phone=applicant.phone,
                   preferred_channel=applicant.preferred_channel, language=applicant.language)

    def address_for(self, channel: str) -> str | None:
        value = self.email if channel == "email" else self.phone if channel == "sms" else None
        return value.strip() if value and value.strip() else None


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownRecord:
    """What the notifier keeps of a record from its RecordSubmitted: whom to tell, and about what."""

    record_code: str
    procedure_name: str
    contact: ApplicantContact

    @classmethod
    def from_submitted(cls, event: RecordSubmitted) -> KnownRecord:
        return cls(record_code=event.record_code, procedure_name=event.procedure_name,
                   contact=ApplicantContact.from_applicant(event.applicant))

    def to_dict(self) -> dict[str, Any]:
        """For the notifier's store (personal data: the store is the only place it is kept)."""
        c = self.contact
        return {"record_code": self.record_code, "procedure_name": self.procedure_name,
                "contact": {"email": c.email, "phone": c.phone,
                            "preferred_channel": c.preferred_channel, "language": c.language}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KnownRecord:
        return cls(record_code=data["record_code"], procedure_name=data["procedure_name"],
                   contact=ApplicantContact(**data["contact"]))


class SupervisorAddress(BaseModel):
    """One way to reach a supervisory post: an official mailbox, a phone, or its system's webhook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ChannelName
    address: str = Field(min_length=3, max_length=2000, repr=False)
    language: Language = "vi"


Addresses = tuple[SupervisorAddress, ...]


class SupervisorDirectory(BaseModel):
    """Role → addresses, with per-department overrides (a department head is per department).

    Configuration shape: ``{"roles": {"provincial_supervisor": [{"channel": "email",
    "address": "..."}]}, "departments": {"SO-TU-PHAP": {"department_head": [...]}}}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: Mapping[SupervisorRole, Addresses] = Field(default_factory=dict)
    departments: Mapping[str, Mapping[SupervisorRole, Addresses]] = Field(default_factory=dict)

    def lookup(self, role: SupervisorRole, department_code: str | None) -> Addresses:
        """The department's own addresses for the role if configured, else the role's defaults."""
        if department_code is not None:
            own = self.departments.get(department_code, {}).get(role)
            if own:
                return own
        return self.roles.get(role, ())


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    """Configuration the planner reads: supervisors, department names, channels switched on."""

    supervisors: SupervisorDirectory = field(default_factory=SupervisorDirectory)
    department_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Department code → its name as applicants know it (Vietnamese, also used in English text)."""
    channels: frozenset[ChannelName] = frozenset({"email", "sms", "webhook"})
    """Channels configured in this deployment; a recipient reachable only by others is unreachable."""

    def department_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        return self.department_names.get(code, code)

