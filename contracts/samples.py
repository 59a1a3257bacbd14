"""One realistic, fictitious example of every event, for tests, fixtures and the demo."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from contracts import topics
from contracts.department import v1 as dept
from contracts.department import v2 as dept_v2
from contracts.envelope import Envelope
from contracts.notifications import v1 as notif
from contracts.payload import EventPayload
from contracts.records import v1 as records
from contracts.sla import v1 as sla

ICT = timezone(timedelta(hours=7), "ICT")
"""Indochina Time, Vietnam's offset."""

RECORD_CODE = "000.00.21.H40-251124-0007"
PROCEDURE_CODE = "1.001193.000.00.00.H38"
DEPARTMENT = "UBND-X-16681"
OTHER_DEPARTMENT = "SO-TU-PHAP"
RECEIVED_AT = datetime(2025, 11, 24, 8, 15, 4, 120000, tzinfo=ICT)
ACCEPTED_AT = datetime(2025, 11, 24, 8, 20, tzinfo=ICT)
DUE_AT = datetime(2025, 11, 27, 17, 0, tzinfo=ICT)
NEW_DUE_AT = datetime(2025, 12, 2, 17, 0, tzinfo=ICT)
PRODUCERS = {
    topics.RECORDS_SUBMITTED: "/motcua/intake",
    topics.RECORDS_ROUTED: "/motcua/routing",
    topics.DEPARTMENT_TOPIC_MARKER: "/motcua/routing",
    topics.DEPARTMENT_TOPIC_V1_MARKER: "/motcua/routing",
    topics.FEEDBACK_TOPIC_MARKER: "/motcua/routing",
    topics.DEPARTMENT_UPDATES: "/departments/ubnd-x-16681",
    topics.SLA_ALERTS: "/motcua/sla_monitor",
    topics.NOTIFICATION_OUTCOMES: "/motcua/notifier",
}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _sha(seed: str) -> str:
    return (seed.encode().hex() * 64)[:64]


def record_submitted(record_code: str = RECORD_CODE) -> records.RecordSubmitted:
    """A birth registration with recognition of the father, submitted online in Nghệ An."""
    return records.RecordSubmitted(
        record_code=record_code,
        procedure_code=PROCEDURE_CODE,
        procedure_name="Đăng ký khai sinh kết hợp nhận cha, mẹ, con",
        channel="online",
        online_level="full",
        receiving_unit_code="000.00.21.H40",
        administrative_unit_code="16681",
        processing_level="commune",
        applicant=records.Applicant(
            full_name="Nguyễn Thị Hồng Nhung",
            citizen_id="040190001234",
            phone="0912345678",
            email="hongnhung.nguyen@example.vn",
            address=records.Address(
                province_code="40",
                commune_code="16681",
                detail="Số 12, đường Lê Hồng Phong, khối Tân Phúc",
            ),
            preferred_channel="email",
            language="vi",
        ),
        documents=(
            records.Document(
                name="Tờ khai đăng ký khai sinh.pdf",
                sha256=_sha("tokhai"),
                size_bytes=182_344,
                digitized=True,
            ),
            records.Document(
                name="Giấy chứng sinh.jpg",
                sha256=_sha("chungsinh"),
                size_bytes=1_048_576,
                digitized=True,
            ),
            records.Document(
                name="Văn bản thỏa thuận nhận con (bản giấy)",
                sha256=_sha("thoathuan"),
                size_bytes=0,
                digitized=False,
            ),
        ),
        fee_vnd=0,
        paid_online=False,
        reused_data=True,
        electronic_result=True,
        processing_days=3,
        received_at=RECEIVED_AT,
        accepted_at=ACCEPTED_AT,
        appointment_original=DUE_AT,
        appointment_current=DUE_AT,
        legal_basis="Luật Hộ tịch 2014; Nghị định 123/2015/NĐ-CP",
    )


def sample_payloads() -> list[EventPayload]:
    """One payload of every registered event type, all about the same record."""
    common_dept = {"record_code": RECORD_CODE, "department_code": DEPARTMENT}
    common_sla = {**common_dept, "procedure_code": PROCEDURE_CODE, "due_at": DUE_AT}
    outcome = {
        "notification_id": "ntf-7f3c2a9e",
        "record_code": RECORD_CODE,
        "source_event_id": "0b6f3f0e-5d0c-4a59-9a3e-2f4f1f0f7c11",
        "source_event_type": records.RecordSubmitted.event_type,
        "recipient_role": "applicant",
        "template": "receipt.v1",
        "language": "vi",
    }
    return [
        record_submitted(),
        records.RecordRouted(
            record_code=RECORD_CODE,
            procedure_code=PROCEDURE_CODE,
            department_code=DEPARTMENT,
            department_topic=topics.department_topic(DEPARTMENT),
            decision="routed",
            reason="Quy tắc 12: hộ tịch cấp xã theo nơi cư trú",
            rule_version=4,
            attempt=1,
            candidates_left=(OTHER_DEPARTMENT,),
            administrative_unit_code="16681",
        ),
        dept.RecordAssigned(
            record=record_submitted(),
            department_code=DEPARTMENT,
            attempt=1,
            rule_version=4,
            routed_at=datetime(2025, 11, 24, 8, 20, 2, tzinfo=ICT),
        ),
        dept_v2.RecordAssigned(
            record=dept_v2.AssignedRecord.of(record_submitted()),
            department_code=DEPARTMENT,
            attempt=1,
            rule_version=4,
            routed_at=datetime(2025, 11, 24, 8, 20, 2, tzinfo=ICT),
        ),
        dept.RecordAccepted(**common_dept, note="Cán bộ tư pháp - hộ tịch đã tiếp nhận"),
        dept.RecordReturnedMisrouted(
            record_code=RECORD_CODE,
            department_code=OTHER_DEPARTMENT,
            reason="Không thuộc thẩm quyền của Sở: chuyển UBND xã",
            suggested_department_code=DEPARTMENT,
        ),
        dept.SupplementRequested(
            **common_dept,
            missing=("Bản sao Giấy chứng nhận kết hôn của cha, mẹ",),
            reason="Hồ sơ thiếu giấy tờ chứng minh quan hệ cha con",
            respond_by=datetime(2025, 11, 26, 17, 0, tzinfo=ICT),
        ),
        dept.RecordSupplemented(
            **common_dept,
            documents=(
                records.Document(
                    name="Giấy chứng nhận kết hôn.pdf",
                    sha256=_sha("kethon"),
                    size_bytes=240_112,
                    digitized=True,
                ),
            ),
        ),
        dept.RecordResolved(
            **common_dept,
            result_summary="Đã cấp Giấy khai sinh bản điện tử",
            electronic_result=True,
        ),
        dept.RecordRejected(**common_dept, reason="Người yêu cầu không đủ điều kiện nhận con"),
        dept.ResultReturned(**common_dept, how="electronic"),
        dept.DelayReported(
            **common_dept,
            reason="Chờ kết quả xác minh từ Công an xã",
            new_appointment=NEW_DUE_AT,
        ),
        dept.UpdateRefused(
            record_code=RECORD_CODE,
            department_code=OTHER_DEPARTMENT,
            refused_event_id="5d1c0a52-7a0e-4f43-9c55-0c2b8d8f9a10",
            refused_event_type=dept.RecordAccepted.event_type,
            reason="not_holder",
            detail=f"{OTHER_DEPARTMENT} does not hold the record; {DEPARTMENT} does",
        ),
        sla.DeadlineWarning(**common_sla, remaining_working_hours=6.5),
        sla.DeadlineBreached(**common_sla, lateness_working_days=2, lateness_working_hours=16.0),
        sla.EscalationRaised(
            **common_sla,
            kind="late",
            level=1,
            recipient_role="department_head",
            reason="Quá hạn 2 ngày làm việc",
            lateness_working_days=2,
            lateness_working_hours=16.0,
        ),
        sla.RecordStuckInRouting(
            record_code=RECORD_CODE,
            procedure_code=PROCEDURE_CODE,
            due_at=DUE_AT,
            since=ACCEPTED_AT,
            waited_working_hours=8.0,
            reason="Không cơ quan nào tiếp nhận sau 3 lần chuyển",
        ),
        sla.DelayExplanationRequested(
            **common_sla,
            respond_by=datetime(2025, 11, 27, 12, 0, tzinfo=ICT),
            remaining_working_hours=8.0,
        ),
        sla.ApologyDue(
            **common_sla,
            reason="Chờ kết quả xác minh từ Công an xã",
            appointment_original=DUE_AT,
            new_appointment=NEW_DUE_AT,
        ),
        notif.NotificationSent(
            **outcome, channel="email", attempts=1, masked_address="h***@example.vn"
        ),
        notif.NotificationFailed(
            **outcome,
            channel="sms",
            attempts=5,
            masked_address="09*****678",
            reason="transient-exhausted",
            detail="SMS gateway timeout",
        ),
    ]


def sample_envelope(
    payload: EventPayload, *, traceparent: str | None = TRACEPARENT
) -> Envelope[EventPayload]:
    """``payload`` wrapped as its producer would, with a fixed id, time and trace context."""
    return Envelope.wrap(
        payload,
        source=PRODUCERS[payload.topic],
        time=datetime(2025, 11, 24, 9, 30, 15, 250000, tzinfo=ICT),
        id=f"evt-{payload.event_type}",
        traceparent=traceparent,
        tracestate="motcua=intake" if traceparent else None,
    )
