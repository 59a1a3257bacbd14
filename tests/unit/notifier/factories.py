"""Events, records and directories for notifier tests, built from the contracts' samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from contracts.department.v1 import RecordRejected, RecordResolved, SupplementRequested
from contracts.envelope import Envelope, EventPayload
from contracts.records.v1 import Applicant, RecordRouted, RecordSubmitted
from contracts.samples import (
    DEPARTMENT,
    DUE_AT,
    ICT,
    NEW_DUE_AT,
    OTHER_DEPARTMENT,
    PROCEDURE_CODE,
    RECORD_CODE,
    record_submitted,
)
from contracts.sla.v1 import ApologyDue, EscalationRaised
from services.notifier.domain import (
    ApplicantContact,
    Directory,
    KnownRecord,
    SupervisorDirectory,
    Templates,
)

TEMPLATES = Templates.load()
EVENT_TIME = datetime(2025, 11, 24, 9, 30, tzinfo=ICT)
EMAIL = "hongnhung.nguyen@example.vn"
PHONE = "0912345678"
DEPARTMENT_NAME = "Ủy ban nhân dân phường Trường Vinh"
HEAD_MAILBOX = "chutich.x16681@nghean.gov.vn"
HEAD_HOOK = "https://hooks.nghean.gov.vn/ubnd-x-16681?token=s3cret"
PROVINCIAL_MAILBOX = "chanhvanphong.ubnd@nghean.gov.vn"
ONE_STOP_MAILBOX = "giamdoc.ttpvhcc@nghean.gov.vn"


def envelope(payload: EventPayload, event_id: str | None = None,
             time: datetime = EVENT_TIME) -> Envelope[EventPayload]:
    return Envelope.wrap(payload, source="/test", time=time,
                         id=event_id or f"evt-{payload.event_type}-{payload.subject()}")


def submitted(*, preferred: str = "email", language: str = "vi", email: str | None = EMAIL,
              record_code: str = RECORD_CODE) -> RecordSubmitted:
    base = record_submitted(record_code)
    applicant = Applicant.model_validate({**base.applicant.model_dump(), "preferred_channel": preferred,
                                          "language": language, "email": email})
    return base.model_copy(update={"applicant": applicant})


def known(*, preferred: str = "email", language: str = "vi", email: str | None = EMAIL,
          phone: str | None = PHONE, record_code: str = RECORD_CODE) -> KnownRecord:
    return KnownRecord(record_code=record_code,
                       procedure_name="Đăng ký khai sinh kết hợp nhận cha, mẹ, con",
                       contact=ApplicantContact(email=email, phone=phone, preferred_channel=preferred,
                                                language=language))


def directory(**overrides: Any) -> Directory:
    supervisors = SupervisorDirectory.model_validate({
        "roles": {
            "department_head": [{"channel": "email", "address": "lanhdao.chung@nghean.gov.vn"}],
            "provincial_supervisor": [{"channel": "email", "address": PROVINCIAL_MAILBOX}],
            "one_stop_office_supervisor": [{"channel": "email", "address": ONE_STOP_MAILBOX,
                                            "language": "en"}],
        },
        "departments": {
            DEPARTMENT: {"department_head": [{"channel": "email", "address": HEAD_MAILBOX},
                                             {"channel": "webhook", "address": HEAD_HOOK}]},
        },
    })
    values: dict[str, Any] = {"supervisors": supervisors,
                              "department_names": {DEPARTMENT: DEPARTMENT_NAME,
                                                   OTHER_DEPARTMENT: "Sở Tư pháp"}}
    values.update(overrides)
    return Directory(**values)


def routed(decision: Literal["routed", "rerouted", "manual"] = "routed",
           department: str = DEPARTMENT) -> RecordRouted:
    return RecordRouted(record_code=RECORD_CODE, procedure_code=PROCEDURE_CODE,
                        department_code=department, department_topic=f"routed.{department}.v1",
                        decision=decision, reason="Quy tắc 12", rule_version=4, attempt=1,
                        candidates_left=(), administrative_unit_code="16681")


def supplement(respond_by: datetime | None = datetime(2025, 11, 26, 17, 0, tzinfo=ICT)
               ) -> SupplementRequested:
    return SupplementRequested(record_code=RECORD_CODE, department_code=DEPARTMENT,
                               missing=("Bản sao Giấy chứng nhận kết hôn của cha, mẹ",),
                               reason="Hồ sơ thiếu giấy tờ chứng minh quan hệ cha con",
                               respond_by=respond_by)


def resolved(electronic: bool = True) -> RecordResolved:
    return RecordResolved(record_code=RECORD_CODE, department_code=DEPARTMENT,
                          result_summary="Đã cấp Giấy khai sinh", electronic_result=electronic)


def rejected() -> RecordRejected:
    return RecordRejected(record_code=RECORD_CODE, department_code=DEPARTMENT,
                          reason="Người yêu cầu không đủ điều kiện nhận con")


def apology() -> ApologyDue:
    return ApologyDue(record_code=RECORD_CODE, department_code=DEPARTMENT,
                      procedure_code=PROCEDURE_CODE, due_at=DUE_AT,
                      reason="Chờ kết quả xác minh từ Công an xã", appointment_original=DUE_AT,
                      new_appointment=NEW_DUE_AT)


def escalation(role: str = "department_head", kind: str = "late",
               department: str | None = DEPARTMENT) -> EscalationRaised:
    return EscalationRaised.model_validate({
        "record_code": RECORD_CODE, "department_code": department, "procedure_code": PROCEDURE_CODE,
        "due_at": DUE_AT, "kind": kind, "level": 1, "recipient_role": role,
        "reason": "Quá hạn 2 ngày làm việc", "lateness_working_days": 2,
        "lateness_working_hours": 16.0})


APPLICANT_EVENTS: dict[str, EventPayload] = {
    "receipt": submitted(),
    "routed": routed(),
    "supplement_requested": supplement(),
    "result_ready": resolved(),
    "rejected": rejected(),
    "apology": apology(),
}
"""Template name → an event that leads to it."""
