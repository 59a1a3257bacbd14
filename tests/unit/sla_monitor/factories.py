"""Events and a tiny driver for the SLA monitor's domain tests, on the shipped 2025-2026 calendar."""

from __future__ import annotations

from datetime import date, datetime, time

from contracts import samples, topics
from contracts.department.v1 import (
    DelayReported,
    RecordAccepted,
    RecordRejected,
    RecordResolved,
    RecordReturnedMisrouted,
    RecordSupplemented,
    ResultReturned,
    SupplementRequested,
)
from contracts.records.v1 import RecordRouted, RecordSubmitted
from reference.calendar import WorkingCalendar, load_calendar
from reference.deadlines import appointment
from reference.localtime import VIETNAM
from services.sla_monitor.domain import Deadline, SlaEvent, SlaPolicy, evolve

CAL: WorkingCalendar = load_calendar()
POLICY = SlaPolicy()
CODE = "000.00.21.H40-251110-0001"
PROCEDURE = "1.001193.000.00.00.H38"
DEPT = "SO-TU-PHAP"
OTHER = "UBND-X-16681"


def at(day: str, hh: int = 10, mm: int = 0) -> datetime:
    """An instant in Vietnam."""
    return datetime.combine(date.fromisoformat(day), time(hh, mm), VIETNAM)


def submitted(accepted_at: datetime, days: int, code: str = CODE, *,
              receipt_day: str | None = None, procedure: str = PROCEDURE) -> RecordSubmitted:
    """A record accepted at `accepted_at`; the receipt's date is the calendar's unless given."""
    due = (appointment(accepted_at, days, CAL).due_at if receipt_day is None
           else at(receipt_day, 17))
    data = samples.record_submitted(code).model_dump()
    data.update(processing_days=days, received_at=accepted_at, accepted_at=accepted_at,
                appointment_original=due, appointment_current=due, procedure_code=procedure)
    return RecordSubmitted.model_validate(data)


def routed(dept: str = DEPT, *, attempt: int = 1, decision: str = "routed",
           code: str = CODE) -> RecordRouted:
    return RecordRouted.model_validate(dict(
        record_code=code, procedure_code=PROCEDURE, department_code=dept,
        department_topic=topics.department_topic(dept), decision=decision, reason="Quy tắc 1",
        rule_version=1, attempt=attempt, candidates_left=(), administrative_unit_code="16681"))


def accepted(dept: str = DEPT, code: str = CODE) -> RecordAccepted:
    return RecordAccepted(record_code=code, department_code=dept)


def returned_misrouted(dept: str = DEPT, code: str = CODE) -> RecordReturnedMisrouted:
    return RecordReturnedMisrouted(record_code=code, department_code=dept, reason="Sai thẩm quyền")


def supplement_requested(code: str = CODE) -> SupplementRequested:
    return SupplementRequested(record_code=code, department_code=DEPT, missing=("Bản sao",),
                               reason="Thiếu giấy tờ")


def supplemented(code: str = CODE) -> RecordSupplemented:
    return RecordSupplemented(record_code=code, department_code=DEPT)


def resolved(code: str = CODE) -> RecordResolved:
    return RecordResolved(record_code=code, department_code=DEPT, result_summary="Đã cấp",
                          electronic_result=True)


def rejected(code: str = CODE) -> RecordRejected:
    return RecordRejected(record_code=code, department_code=DEPT, reason="Không đủ điều kiện")


def result_returned(code: str = CODE) -> ResultReturned:
    return ResultReturned(record_code=code, department_code=DEPT, how="electronic")


def delay_reported(new_appointment: datetime, code: str = CODE) -> DelayReported:
    return DelayReported(record_code=code, department_code=DEPT, reason="Chờ xác minh",
                         new_appointment=new_appointment)


def apply(state: Deadline | None, event: SlaEvent, when: datetime, *,
          event_id: str | None = None, policy: SlaPolicy = POLICY) -> Deadline:
    """Apply an event seen at its own time; fail the test on a refusal."""
    result = evolve(state, event, at=when, now=when, calendar=CAL, policy=policy, event_id=event_id)
    assert result.refusals == (), result.refusals
    assert result.state is not None
    return result.state


def run(*steps: tuple[SlaEvent, datetime], policy: SlaPolicy = POLICY) -> Deadline:
    state: Deadline | None = None
    for event, when in steps:
        state = apply(state, event, when, policy=policy)
    assert state is not None
    return state
