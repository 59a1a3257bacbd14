"""What an accepted application gets: its appointment, the event announcing it, and form 01."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from contracts.records import v1 as records
from reference.calendar import WorkingCalendar
from reference.catalog import Procedure
from reference.deadlines import Appointment, appointment
from reference.localtime import local_instant, to_local
from reference.units import ReceivingUnit

from .application import Application
from .assessment import Assessment


class Receipt(BaseModel):
    """Form 01 of Circular 01/2018: "giấy tiếp nhận hồ sơ và hẹn trả kết quả"."""

    form: Literal["01"] = "01"
    title: str = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    record_code: str
    procedure_code: str
    procedure_name: str
    receiving_unit_code: str
    receiving_unit_name: str
    applicant_name: str
    documents: list[str]
    fee_vnd: int
    paid_online: bool
    received_at: datetime
    accepted_on: str
    appointment: datetime
    appointment_provisional: bool = False
    """Counted on a provisional holiday calendar: the date may move (see `appointment_notice`)."""
    appointment_notice: list[str] = []
    """What form 01 says of the appointment beyond its date, Vietnamese first, then English."""
    processing_days: int
    tracking_path: str
    lookup_secret: str = ""
    """Printed beside the record code: tracking `tracking_path` needs both (header
    `X-Lookup-Secret`), so a code alone, which is sequential, tells nobody anything."""




class Submission(BaseModel):
    record_code: str
    received_at: datetime
    appointment: datetime
    """The statutory due time (the appointment on the receipt)."""
    appointment_provisional: bool = False
    """Counted on a provisional holiday calendar, issued before the Government's notice for the
    year: the appointment may move when the official calendar is published."""
    receipt: Receipt


def due(procedure: Procedure, received_at: datetime, calendar: WorkingCalendar) -> Appointment:
    return appointment(received_at, procedure.processing_days, calendar)


def acceptance_instant(when: Appointment, calendar: WorkingCalendar) -> datetime:
    """When counting starts: the receipt, or the opening of the later day it counts from."""
    return max(when.received_at, local_instant(when.accepted_on, calendar.hours.start))


def submitted_event(application: Application, assessment: Assessment, record_code: str,
                    when: Appointment, calendar: WorkingCalendar) -> records.RecordSubmitted:
    """The `records.submitted.v1` payload: everything statistics and the services downstream need."""
    procedure, unit = assessment.procedure, assessment.receiving_unit
    assert procedure is not None and unit is not None, "assess() found no problem"
    applicant = application.applicant
    return records.RecordSubmitted(
        record_code=record_code,
        procedure_code=procedure.code,
        procedure_name=procedure.name_vi,
        channel=application.channel,
        online_level=procedure.online_level,
        receiving_unit_code=unit.code,
        administrative_unit_code=assessment.administrative_unit_code,
        processing_level=procedure.handling_level,
        applicant=records.Applicant(
            full_name=applicant.full_name, citizen_id=applicant.citizen_id, phone=applicant.phone,
            email=applicant.email,
            address=records.Address(province_code=applicant.address.province_code,
                                    commune_code=applicant.address.commune_code,
                                    detail=applicant.address.detail),
            preferred_channel=applicant.preferred_channel, language=applicant.language),
        documents=tuple(records.Document(name=d.name, sha256=d.sha256, size_bytes=d.size_bytes,
                                         digitized=d.digitized) for d in application.documents),
        fee_vnd=application.fee_vnd,
        paid_online=application.paid_online,
        reused_data=application.reused_data,
        electronic_result=application.electronic_result,
        processing_days=procedure.processing_days,
        received_at=when.received_at,
        accepted_at=acceptance_instant(when, calendar),
        appointment_original=when.due_at,
        appointment_current=when.due_at,
        legal_basis="; ".join(procedure.legal_basis),
        appointment_provisional=when.provisional,
    )


PROVISIONAL_APPOINTMENT_NOTICE = [
    "Ngày hẹn được tính theo lịch nghỉ lễ tạm tính; ngày hẹn có thể thay đổi khi lịch nghỉ lễ "
    "chính thức được công bố.",
    "The appointment is counted on a provisional holiday calendar; it may move when the official "
    "holiday calendar is published.",
]
"""Form 01's sentence for an appointment counted on a provisional calendar year."""


def receipt(event: records.RecordSubmitted, when: Appointment, unit: ReceivingUnit) -> Receipt:
    return Receipt(
        record_code=event.record_code, procedure_code=event.procedure_code,
        procedure_name=event.procedure_name, receiving_unit_code=unit.code,
        receiving_unit_name=unit.name, applicant_name=event.applicant.full_name,
        documents=[document.name for document in event.documents], fee_vnd=event.fee_vnd,
        paid_online=event.paid_online, received_at=to_local(event.received_at),
        accepted_on=when.accepted_on.isoformat(), appointment=when.due_at,
        appointment_provisional=when.provisional,
        appointment_notice=list(PROVISIONAL_APPOINTMENT_NOTICE) if when.provisional else [],
        processing_days=event.processing_days, tracking_path=f"/records/{event.record_code}")
