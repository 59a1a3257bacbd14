"""Intake's rules, without I/O: is an application acceptable, what code, receipt and event it gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime

from contracts.records.v1 import Address, Applicant, Document, RecordSubmitted
from reference.applications import check_application
from reference.calendar import WorkingCalendar
from reference.catalog import Catalog, Procedure
from reference.deadlines import Appointment, appointment
from reference.errors import UnknownProcedure, UnknownUnit
from reference.localtime import local_instant, to_local
from reference.units import ReceivingUnit, Units
from services.runtime.problems import FieldProblem

from .api_models import ApplicationIn, ReceiptOut

MAX_DAILY_SEQUENCE = 9999


class SequenceExhausted(Exception):
    """A receiving unit has used all four-digit record numbers of a day."""


def format_record_code(unit_code: str, day: date, sequence: int) -> str:
    """Circular 01/2018 art. 19: `<receiving unit code>-<YYMMDD>-<XXXX>`."""
    if not 1 <= sequence <= MAX_DAILY_SEQUENCE:
        raise SequenceExhausted(f"sequence {sequence} of {unit_code} on {day} is out of 1..9999")
    return f"{unit_code}-{day:%y%m%d}-{sequence:04d}"


def fingerprint(application: ApplicationIn) -> str:
    """Stable digest of what was asked, to tell a retry from a different request under one key."""
    canonical = json.dumps(application.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Assessment:
    """An application checked against the catalogue and the map: acceptable, or why not."""

    problems: list[FieldProblem]
    procedure: Procedure | None = None
    receiving_unit: ReceivingUnit | None = None
    administrative_unit_code: str = ""


def assess(application: ApplicationIn, catalog: Catalog, units: Units) -> Assessment:
    problems: list[FieldProblem] = []
    procedure: Procedure | None = None
    try:
        procedure = catalog.get(application.procedure_code)
    except UnknownProcedure:
        problems.append(FieldProblem(field="procedure_code", code="unknown_procedure",
                                     message=f"procedure {application.procedure_code} is not in "
                                             "the province's catalogue"))
    if procedure is not None:
        documents = {document.code for document in application.documents}
        problems += [FieldProblem(field=v.field, code=v.code, message=v.message)
                     for v in check_application(procedure, application.channel, documents)]
        if application.fee_vnd != procedure.fee_vnd:
            problems.append(FieldProblem(
                field="fee_vnd", code="fee_mismatch",
                message=f"the fee of procedure {procedure.code} is {procedure.fee_vnd} VND"))
        if application.paid_online and application.channel != "online":
            problems.append(FieldProblem(field="paid_online", code="not_online",
                                         message="only an online application can be paid online"))
    receiving: ReceivingUnit | None = None
    try:
        receiving = units.receiving_unit_by_agency_code(application.receiving_unit_code)
    except UnknownUnit:
        problems.append(FieldProblem(field="receiving_unit_code", code="unknown_receiving_unit",
                                     message=f"{application.receiving_unit_code} is not a "
                                             f"receiving unit of {units.province.name}"))
    address = application.applicant.address
    if address.province_code == units.province.code and not units.is_commune(address.commune_code):
        problems.append(FieldProblem(field="applicant.address.commune_code", code="unknown_commune",
                                     message=f"the commune code is not a commune of "
                                             f"{units.province.name}"))
    unit_code = application.administrative_unit_code or address.commune_code
    if not _is_unit(units, unit_code):
        problems.append(FieldProblem(
            field="administrative_unit_code", code="unknown_administrative_unit",
            message=f"{unit_code} is neither a commune nor a former district of "
                    f"{units.province.name}"))
    return Assessment(problems, procedure, receiving, unit_code)


def _is_unit(units: Units, code: str) -> bool:
    if units.is_commune(code):
        return True
    try:
        units.former_district(code)
        return True
    except UnknownUnit:
        return False


def due(procedure: Procedure, received_at: datetime, calendar: WorkingCalendar) -> Appointment:
    return appointment(received_at, procedure.processing_days, calendar)


def acceptance_instant(when: Appointment, calendar: WorkingCalendar) -> datetime:
    """When counting starts: the receipt, or the opening of the later day it counts from."""
    return max(when.received_at, local_instant(when.accepted_on, calendar.hours.start))


def submitted_event(application: ApplicationIn, assessment: Assessment, record_code: str,
                    when: Appointment, calendar: WorkingCalendar) -> RecordSubmitted:
    """The `records.submitted.v1` payload: everything statistics and the services downstream need."""
    procedure, unit = assessment.procedure, assessment.receiving_unit
    assert procedure is not None and unit is not None, "assess() found no problem"
    applicant = application.applicant
    return RecordSubmitted(
        record_code=record_code,
        procedure_code=procedure.code,
        procedure_name=procedure.name_vi,
        channel=application.channel,
        online_level=procedure.online_level,
        receiving_unit_code=unit.code,
        administrative_unit_code=assessment.administrative_unit_code,
        processing_level=procedure.handling_level,
        applicant=Applicant(
            full_name=applicant.full_name, citizen_id=applicant.citizen_id, phone=applicant.phone,
            email=applicant.email,
            address=Address(province_code=applicant.address.province_code,
                            commune_code=applicant.address.commune_code,
                            detail=applicant.address.detail),
            preferred_channel=applicant.preferred_channel, language=applicant.language),
        documents=tuple(Document(name=d.name, sha256=d.sha256, size_bytes=d.size_bytes,
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


LOOKUP_SECRET_GROUPS = 4


def lookup_secret(key: bytes, record_code: str) -> str:
    """What the receipt prints beside the record code so that its holder, and no one guessing
    sequential codes, can track the record: derived from the code with intake's key (HMAC), so
    nothing is stored and a retried submission prints the same one. 80 bits, as `ABCD-EFGH-…`."""
    text = base64.b32encode(hmac.new(key, record_code.encode(), hashlib.sha256).digest()[:10])
    chunk = len(text) // LOOKUP_SECRET_GROUPS
    return "-".join(text[i:i + chunk].decode() for i in range(0, len(text), chunk))


def lookup_secret_matches(key: bytes, record_code: str, given: str) -> bool:
    """Compared in constant time; case, spaces and dashes as the holder may type them."""
    typed = "".join(given.split()).replace("-", "").upper()
    return hmac.compare_digest(typed, lookup_secret(key, record_code).replace("-", ""))


def receipt(event: RecordSubmitted, when: Appointment, unit: ReceivingUnit) -> ReceiptOut:
    return ReceiptOut(
        record_code=event.record_code, procedure_code=event.procedure_code,
        procedure_name=event.procedure_name, receiving_unit_code=unit.code,
        receiving_unit_name=unit.name, applicant_name=event.applicant.full_name,
        documents=[document.name for document in event.documents], fee_vnd=event.fee_vnd,
        paid_online=event.paid_online, received_at=to_local(event.received_at),
        accepted_on=when.accepted_on.isoformat(), appointment=when.due_at,
        appointment_provisional=when.provisional,
        appointment_notice=list(PROVISIONAL_APPOINTMENT_NOTICE) if when.provisional else [],
        processing_days=event.processing_days, tracking_path=f"/records/{event.record_code}")
