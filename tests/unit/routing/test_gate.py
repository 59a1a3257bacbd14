"""The gate on department updates: sender, holder, time and transition, each refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.department.v1 import (
    DelayReported,
    DepartmentUpdate,
    RecordAccepted,
    RecordRejected,
    RecordResolved,
    RecordReturnedMisrouted,
    RecordSupplemented,
    ResultReturned,
    SupplementRequested,
)
from services.routing.domain.gate import GateRefusal, Holding, Stage, check, stage_after

CODE, HOLDER, OTHER = "000.00.21.H40-261202-0001", "SO-TU-PHAP", "CA-TINH"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
UPDATES: dict[str, DepartmentUpdate] = {
    "accepted": RecordAccepted(record_code=CODE, department_code=HOLDER),
    "misrouted": RecordReturnedMisrouted(record_code=CODE, department_code=HOLDER, reason="không"),
    "supplement": SupplementRequested(record_code=CODE, department_code=HOLDER, missing=("Tờ khai",),
                                      reason="thiếu"),
    "supplemented": RecordSupplemented(record_code=CODE, department_code=HOLDER),
    "delay": DelayReported(record_code=CODE, department_code=HOLDER, reason="chờ xác minh",
                           new_appointment=NOW + timedelta(days=5)),
    "resolved": RecordResolved(record_code=CODE, department_code=HOLDER, result_summary="xong",
                               electronic_result=True),
    "rejected": RecordRejected(record_code=CODE, department_code=HOLDER, reason="không đủ"),
    "returned": ResultReturned(record_code=CODE, department_code=HOLDER, how="electronic"),
}
ALLOWED: dict[str, set[Stage]] = {
    "accepted": {"assigned"}, "misrouted": {"assigned", "accepted"}, "supplement": {"accepted"},
    "supplemented": {"supplementing"}, "delay": {"accepted", "supplementing"},
    "resolved": {"accepted"}, "rejected": {"accepted", "supplementing"}, "returned": {"decided"},
}
STAGES: tuple[Stage, ...] = ("assigned", "accepted", "supplementing", "decided", "returned")


def held(stage: Stage | None = "accepted", by: str = HOLDER,
         last: datetime | None = NOW - timedelta(hours=1)) -> Holding:
    return Holding(department_code=by, stage=stage, last_event_at=last)


def refused(update: DepartmentUpdate, holding: Holding | None, *, sender: str = HOLDER,
            at: datetime = NOW) -> GateRefusal | None:
    return check(update, sender=sender, at=at, now=NOW, holding=holding, skew=SKEW)


@pytest.mark.parametrize("name", sorted(UPDATES))
@pytest.mark.parametrize("stage", STAGES)
def test_each_update_applies_only_from_its_stages(name: str, stage: Stage) -> None:
    refusal = refused(UPDATES[name], held(stage))
    if stage in ALLOWED[name]:
        assert refusal is None
    else:
        assert refusal is not None and refusal.reason == "not_allowed_now"
        assert stage in refusal.detail


def test_a_record_goes_through_its_stages() -> None:
    stage: Stage | None = "assigned"
    for name in ("accepted", "supplement", "delay", "supplemented", "resolved", "returned"):
        assert refused(UPDATES[name], held(stage)) is None
        stage = stage_after(UPDATES[name], stage)
    assert stage == "returned"
    assert stage_after(UPDATES["misrouted"], "accepted") == "assigned"


def test_only_the_holder_speaking_for_itself_passes() -> None:
    accepted = UPDATES["accepted"]
    mismatch = refused(accepted, held("assigned"), sender=OTHER)
    assert mismatch is not None and mismatch.reason == "sender_mismatch"
    forged = RecordAccepted(record_code=CODE, department_code=OTHER)
    not_holder = refused(forged, held("assigned"), sender=OTHER)
    assert not_holder is not None and not_holder.reason == "not_holder"
    unknown = refused(accepted, None)
    assert unknown is not None and unknown.reason == "unknown_record"


def test_an_update_stamped_too_late_or_too_early_is_refused() -> None:
    accepted, holding = UPDATES["accepted"], held("assigned")
    assert refused(accepted, holding, at=NOW + SKEW) is None
    future = refused(accepted, holding, at=NOW + SKEW + timedelta(seconds=1))
    assert future is not None and future.reason == "from_the_future"
    early = refused(accepted, holding, at=NOW - timedelta(hours=2))
    assert early is not None and early.reason == "before_last_event"


def test_a_route_stored_before_stages_lets_any_transition_through() -> None:
    assert refused(UPDATES["returned"], held(None, last=None)) is None
    assert stage_after(UPDATES["delay"], None) is None
